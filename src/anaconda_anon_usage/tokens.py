"""Tokens and their files: what a token is, where it is kept, how it is
read and written.

A token is 22 url-safe base64 characters carrying 128 bits from the OS's
CSPRNG; it is never derived from a user, host, path or environment name.

A token file holds the token on its first non-blank line; surrounding white
space is ignored. Further lines are ``key value`` annotations that belong to
the token (the host tie of the client token is one).

Guarantees:

* A reader never sees a half-written file: content is written to a private
  temporary file first and only then given the real name.
* Many processes creating the same missing file at once agree on one token:
  the name is claimed with ``os.link``, which fails if the name exists, so
  exactly one process wins and every other one reads the winner's token.
* A file that is not ours to judge (a directory, binary data, unreadable) is
  never touched; its token is simply not available.
* Knowing a path never creates anything.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping

from . import debug

TOKEN_BYTES = 16
TOKEN_LENGTH = 22
TOKEN_ALPHABET = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)
TOKEN_FILENAME = "aau_token"
MAX_FILE_BYTES = 64 * 1024


def new_token() -> str:
    """A fresh token from the OS's CSPRNG; never derived from anything local."""
    return base64.urlsafe_b64encode(os.urandom(TOKEN_BYTES)).decode("ascii")[
        :TOKEN_LENGTH
    ]


def is_valid_token(value: str) -> bool:
    return len(value) == TOKEN_LENGTH and TOKEN_ALPHABET.issuperset(value)


# --- where tokens live ------------------------------------------------------


def home_directory() -> str | None:
    """The user's home from the environment, or None when it is unset or absent.

    ``os.path.expanduser`` would fall back to the password database when HOME
    is unset; we deliberately do not: no HOME means no client token.
    """
    variable = "USERPROFILE" if sys.platform == "win32" else "HOME"
    home = os.environ.get(variable, "")
    if not home or not os.path.isdir(home):
        return None
    return home


def user_conda_dir() -> str | None:
    home = home_directory()
    return os.path.join(home, ".conda") if home else None


def client_token_path() -> str | None:
    conda_dir = user_conda_dir()
    return os.path.join(conda_dir, TOKEN_FILENAME) if conda_dir else None


def environment_token_path(prefix: str) -> str:
    return os.path.join(prefix, "etc", TOKEN_FILENAME)


def is_conda_environment(prefix: str) -> bool:
    """A directory conda made: it has ``conda-meta``. Only these get a token file."""
    return os.path.isdir(os.path.join(prefix, "conda-meta"))


# --- reading and writing token files --------------------------------------


class Status:
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"  # text, but no acceptable token: we may replace it
    UNUSABLE = "unusable"  # not ours to judge or not readable: left alone


class TokenFile:
    """What a token file holds: a status, the token, its annotations.

    A plain class: ``dataclasses`` would cost ~1 ms of conda's start-up.
    """

    __slots__ = ("annotations", "reason", "status", "token")

    def __init__(
        self,
        status: str,
        token: str | None = None,
        annotations: Mapping[str, str] | None = None,
        reason: str = "",
    ) -> None:
        self.status = status
        self.token = token
        self.annotations: Mapping[str, str] = annotations or {}
        self.reason = reason


def parse_token_text(text: str) -> TokenFile:
    """Pure parsing of a token file's text."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return TokenFile(Status.INVALID, reason="empty")
    token = lines[0]
    if not is_valid_token(token):
        return TokenFile(Status.INVALID, reason="malformed token")
    annotations: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        annotations[key] = value.strip()
    return TokenFile(Status.VALID, token, annotations)


def read_small_text(path: str) -> tuple[str | None, str, bool]:
    """(text, reason, missing): a small UTF-8 text file's content, or None and
    why not. Binary, huge or unreadable files are refused, never guessed at."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None, "no such file", True
    except OSError as error:  # a directory, permissions, I/O errors
        return None, f"cannot read: {error}", False
    if len(data) > MAX_FILE_BYTES:
        return None, "larger than a token file can be", False
    if b"\0" in data:
        return None, "not a text file", False
    try:
        return data.decode("utf-8"), "", False
    except UnicodeDecodeError:
        return None, "not a text file", False


def read_token_file(path: str) -> TokenFile:
    text, reason, missing = read_small_text(path)
    if text is None:
        return TokenFile(Status.MISSING if missing else Status.UNUSABLE, reason=reason)
    return parse_token_text(text)


def format_token_text(token: str, annotations: Mapping[str, str]) -> str:
    lines = [token, *(f"{key} {value}" for key, value in annotations.items())]
    return "\n".join(lines) + "\n"


def _write_private_temp(path: str, text: str) -> str:
    """Write ``text`` to a new, uniquely named file beside ``path``."""
    temp = f"{path}.{os.getpid()}.{new_token()[:8]}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return temp


@contextlib.contextmanager
def _directory_lock(directory: str) -> Iterator[None]:
    """Serialise replacements of files in ``directory``.

    POSIX only (``flock`` on the directory itself, so no lock file is left
    behind); elsewhere replacement of a corrupt file is merely atomic, which
    is the documented fallback.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _claim(path: str, text: str) -> bool:
    """Give ``path`` the content ``text`` if, and only if, ``path`` does not exist."""
    temp = _write_private_temp(path, text)
    try:
        os.link(temp, path)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        # A file system without hard links: exclusive create is still
        # race-free between writers, at the cost of a brief window where a
        # reader may see an incomplete (and so invalid) file.
        debug("hard link failed (%s); using exclusive create for %s", error, path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _replace(path: str, text: str) -> None:
    temp = _write_private_temp(path, text)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


Annotate = Callable[[str], Mapping[str, str]]


def load_or_create(
    path: str, *, make_parent: bool = False, annotate: Annotate | None = None
) -> str | None:
    """Return the token stored at ``path``, creating or renewing it as needed.

    ``annotate(token)`` gives the annotations a token must carry (the client
    token's host tie). A stored token whose annotation has a different value
    is renewed; one that lacks the annotation keeps its value and gains it.
    Returns None (and writes nothing) when the file cannot be used; never
    raises ``OSError``.
    """
    try:
        return _load_or_create(path, make_parent, annotate or _no_annotations)
    except OSError as error:
        debug("cannot create or renew %s: %s", path, error)
        return None


def _no_annotations(token: str) -> Mapping[str, str]:
    return {}


def _verdict(current: TokenFile, annotate: Annotate) -> str:
    """ "keep", "adopt" (same token, add annotations) or "renew"."""
    if current.status != Status.VALID or current.token is None:
        return "renew"
    verdict = "keep"
    for key, value in annotate(current.token).items():
        stored = current.annotations.get(key)
        if stored is None:
            verdict = "adopt"
        elif stored != value:
            return "renew"
    return verdict


def _load_or_create(path: str, make_parent: bool, annotate: Annotate) -> str | None:
    current = read_token_file(path)
    if _verdict(current, annotate) == "keep":
        return current.token
    if current.status == Status.UNUSABLE:
        debug("leaving %s alone: %s", path, current.reason)
        return None
    if current.status == Status.MISSING:
        if make_parent:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        token = new_token()
        if _claim(path, format_token_text(token, annotate(token))):
            debug("created %s", path)
            return token
        current = read_token_file(path)  # somebody else won the race
        if _verdict(current, annotate) == "keep":
            return current.token
    # Present but not acceptable: fix it, one process at a time, re-reading
    # under the lock so that a renewal made meanwhile is adopted, not redone.
    with _directory_lock(os.path.dirname(path) or "."):
        current = read_token_file(path)
        verdict = _verdict(current, annotate)
        if verdict == "keep":
            return current.token
        if current.status == Status.UNUSABLE:
            debug("leaving %s alone: %s", path, current.reason)
            return None
        if verdict == "adopt" and current.token is not None:
            token = current.token
            debug("annotating %s", path)
        else:
            token = new_token()
            debug("renewing %s: %s", path, current.reason or "annotation differs")
        _replace(path, format_token_text(token, annotate(token)))
        return token


def write_new(path: str, *, annotate: Annotate | None = None) -> str:
    """Replace the token at ``path`` with a fresh one (a user's reset).

    Raises OSError when it cannot.
    """
    token = new_token()
    annotations = (annotate or _no_annotations)(token)
    with _directory_lock(os.path.dirname(path) or "."):
        _replace(path, format_token_text(token, annotations))
    return token


def claim(path: str, token: str) -> str | None:
    """Store ``token`` at ``path`` unless a valid token is already there.

    Used for a token that was sent before its file could exist (``conda
    create``). Returns the token the file now holds, or None.
    """
    try:
        current = read_token_file(path)
        if current.status == Status.VALID:
            return current.token
        if current.status == Status.MISSING:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if _claim(path, format_token_text(token, {})):
                return token
        return load_or_create(path)
    except OSError as error:
        debug("cannot write %s: %s", path, error)
        return None
