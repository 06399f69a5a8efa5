"""Whether a stored token is kept, adopted (gains its host line) or renewed,
and writing token files: creation, repair and replacement, without locks.

Imported only when something must be written (first use, repair, reset),
so the steady state never loads it.

* Nothing waits: no ``flock`` (it blocks while another process holds it,
  and fails on NFS for read-only descriptors). Every step is a single
  atomic file-system call.
* Creation: the content goes to a private temporary file that is then
  hard-linked to the real name; ``link`` fails if the name exists, so of
  many processes creating the file at once exactly one wins and the others
  read its token.
* Repair of a file that holds no acceptable token: the processes that read
  the same damaged file (same device, inode, mtime and size) agree on its
  replacement through a *ticket*, a file named after that identity and
  claimed like a new token file. Each then re-reads the path and replaces it
  (atomically, with identical content) only if it still is the damaged file;
  a ticket is removed only after the damaged file is gone, so a late process
  that claims a new ticket finds the repaired file and adopts it.
* ``os.replace`` renames onto the name: a symlink there is replaced, its
  target is never written; a directory is never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import debug
from .tokens import UNUSABLE, VALID, TokenFile, new_token, read_token_file

if TYPE_CHECKING:
    from .tokens import Annotate

STALE_SECONDS = 60.0  # leftovers of a killed process older than this are removed
ATTEMPTS = 3


KEEP, ADOPT, RENEW = "keep", "adopt", "renew"


def no_annotations(token: str) -> Mapping[str, str]:
    return {}


def verdict(current: TokenFile, annotate: Annotate) -> str:
    """KEEP; ADOPT (same token, rewrite it with its annotations); or RENEW."""
    if current.status != VALID or current.token is None:
        return RENEW
    result = KEEP
    for key, value in annotate(current.token).items():
        stored = current.annotations.get(key)
        if stored is None:
            result = ADOPT
        elif stored != value:
            return RENEW
    return result


def format_token_text(token: str, annotations: Mapping[str, str]) -> str:
    lines = [token, *(f"{key} {value}" for key, value in annotations.items())]
    return "\n".join(lines) + "\n"


def settle(
    path: str,
    current: TokenFile,
    annotate: Annotate | None,
    make_parent: bool,
) -> str | None:
    """Bring the file at ``path`` to a kept token; see ``tokens.load_or_create``."""
    annotate = annotate or no_annotations
    decision = verdict(current, annotate)
    try:
        if decision == KEEP:
            return current.token
        if decision == ADOPT and current.token is not None:
            return _adopt(path, current.token, annotate)
        return _renew(path, current, annotate, make_parent)
    except OSError as error:
        debug("cannot create or repair %s: %s", path, error)
        return None


def _adopt(path: str, token: str, annotate: Annotate) -> str:
    """Rewrite a valid token with its annotations; every process writes the
    same content, so no coordination is needed. Where the file cannot be
    written (a read-only home), the token is still good to send."""
    try:
        _replace(path, format_token_text(token, annotate(token)))
        debug("annotated %s", path)
    except OSError as error:
        debug("cannot annotate %s (%s); its token is used as it is", path, error)
    return token


def _identity(path: str, current: TokenFile) -> tuple[int, ...] | None:
    if current.identity is not None:
        return current.identity
    try:  # a dangling symlink: the link itself
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def _renew(
    path: str, current: TokenFile, annotate: Annotate, make_parent: bool
) -> str | None:
    for _ in range(ATTEMPTS):
        identity = _identity(path, current)
        if identity is None:  # nothing there: create
            if make_parent:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            token = new_token()
            if _claim(path, format_token_text(token, annotate(token))):
                debug("created %s", path)
                _sweep(path)
                return token
        else:
            token_or_none = _repair(path, identity, annotate)
            if token_or_none is not None:
                return token_or_none
        current = read_token_file(path)  # somebody else was faster: look again
        decision = verdict(current, annotate)
        if decision == KEEP:
            return current.token
        if current.status == UNUSABLE:
            debug("leaving %s alone: %s", path, current.reason)
            return None
        if decision == ADOPT and current.token is not None:
            return _adopt(path, current.token, annotate)
    debug("%s keeps changing; token left out for this process", path)
    return None


def _ticket_path(path: str, identity: tuple[int, ...]) -> str:
    digest = hashlib.sha256(repr(identity).encode()).hexdigest()[:16]
    return f"{path}.renew-{digest}"


def _repair(path: str, identity: tuple[int, ...], annotate: Annotate) -> str | None:
    """Replace the damaged file ``identity`` at ``path``; None to look again."""
    ticket = _ticket_path(path, identity)
    token = new_token()
    if not _claim(ticket, format_token_text(token, {})):
        held = read_token_file(ticket)
        if held.status != VALID or held.token is None:
            return None  # removed or still being written: the path has moved on
        token = held.token
    try:
        now = read_token_file(path)
        if verdict(now, annotate) == KEEP:
            return now.token
        if _identity(path, now) != identity:
            return None
        _replace(path, format_token_text(token, annotate(token)))
        debug("repaired %s", path)
        return token
    finally:
        # Only now: the damaged file is gone, so whoever claims a ticket of
        # the same name later re-reads the repaired file and adopts it.
        with contextlib.suppress(OSError):
            os.unlink(ticket)
        _sweep(path)


def _sweep(path: str) -> None:
    """Remove temporary files and tickets that a killed process left beside
    ``path`` (only on the rare paths that write)."""
    directory, name = os.path.split(path)
    now = time.time()
    try:
        with os.scandir(directory or ".") as entries:
            for entry in entries:
                if not entry.name.startswith(f"{name}."):
                    continue
                if not (entry.name.endswith(".tmp") or ".renew-" in entry.name):
                    continue
                with contextlib.suppress(OSError):
                    if now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS:
                        os.unlink(entry.path)
    except OSError:
        pass


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


def write_new(path: str, annotate: Annotate | None = None) -> str:
    """Replace whatever token is at ``path`` with a fresh one (a user's
    reset). Raises OSError (a directory there included: ``os.replace``
    refuses it)."""
    annotate = annotate or no_annotations
    token = new_token()
    _replace(path, format_token_text(token, annotate(token)))
    return token


def store(path: str, token: str) -> str | None:
    """Make ``path`` hold ``token`` (the one ``conda create`` sent), whatever a
    copy (``conda create --clone``) left there. Returns the stored token."""
    try:
        current = read_token_file(path)
        if current.token == token:
            return token
        if current.status == UNUSABLE:
            debug("leaving %s alone: %s", path, current.reason)
            return None
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _replace(path, format_token_text(token, {}))
        return token
    except OSError as error:
        debug("cannot write %s: %s", path, error)
        return None


def discard(path: str) -> None:
    """Remove a token file that a new environment got by copying (a clone);
    the environment gets its own on first use. A directory is left alone."""
    with contextlib.suppress(OSError):
        if not os.path.isdir(path) or os.path.islink(path):
            os.unlink(path)
            debug("removed the copied %s", path)
