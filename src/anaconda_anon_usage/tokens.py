"""Tokens and their files: what a token is, where it is kept, how it is
read and whether it is kept (the client token's host tie included).

Writing is in ``tokenstore``, loaded only then.
"""

# Loaded by every conda command that sends a request: docstrings are short
# (they are loaded with the code); comments cost nothing.
#
# A token is 22 url-safe base64 characters carrying 128 bits from the OS's
# CSPRNG; it is never derived from a user, host, path or environment name.
# Its file holds it on the first non-blank line (white space and NUL padding
# ignored; a first line ``TOKEN FIELD``, as the 0.7 series of the earlier
# plugin wrote it, is read as TOKEN); further lines are ``key value``
# annotations that belong to the token (the client token's host tie).
#
# Reading never waits: no locks, and a FIFO or device is refused without
# being opened for a wait.
#
# The host tie is here, beside the reading of the file it guards, because
# on Linux its identity is two small reads: a module of its own would cost
# every command ~0.1 ms to import. The Windows and macOS readers are in
# ``hostid``, loaded only there.

from __future__ import annotations

import base64
import hashlib
import os
import stat
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import debug

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

    # what a token must carry in its file: annotate(token) -> {key: value}
    Annotate: TypeAlias = Callable[[str], Mapping[str, str]]

TOKEN_BYTES = 16
TOKEN_LENGTH = 22
TOKEN_ALPHABET = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)
TOKEN_FILENAME = "aau_token"
MAX_FILE_BYTES = 64 * 1024
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def new_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(TOKEN_BYTES)).decode("ascii")[
        :TOKEN_LENGTH
    ]


def is_valid_token(value: str) -> bool:
    return len(value) == TOKEN_LENGTH and TOKEN_ALPHABET.issuperset(value)


# --- where tokens live ------------------------------------------------------


def home_directory() -> str | None:
    """HOME (USERPROFILE on Windows) if it is a directory; else None."""
    # Not os.path.expanduser: it falls back to the password database when
    # HOME is unset; we deliberately do not: no HOME means no client token.
    home = os.environ.get("USERPROFILE" if sys.platform == "win32" else "HOME")
    return home if home and os.path.isdir(home) else None


def client_token_path() -> str | None:
    home = home_directory()
    return os.path.join(home, ".conda", TOKEN_FILENAME) if home else None


def environment_token_path(prefix: str) -> str:
    return os.path.join(prefix, "etc", TOKEN_FILENAME)


def is_conda_environment(prefix: str) -> bool:
    """Has ``conda-meta``: only conda environments get a token file."""
    return os.path.isdir(os.path.join(prefix, "conda-meta"))


# --- reading token files ----------------------------------------------------


# A token file's status (constants, not a class: one class fewer to make
# in every conda process, ~15 us)
VALID = "valid"
MISSING = "missing"
INVALID = "invalid"  # a regular file without an acceptable token: repaired
UNUSABLE = "unusable"  # not ours to judge or not readable: left alone


class TokenFile:
    """A token file's status, token, annotations, and the identity (device,
    inode, mtime, size) of what was read."""

    # A plain class: ``dataclasses`` would cost ~1 ms of conda's start-up.
    __slots__ = ("annotations", "identity", "reason", "status", "token")

    def __init__(
        self,
        status: str,
        token: str | None = None,
        annotations: Mapping[str, str] | None = None,
        reason: str = "",
        identity: tuple[int, ...] | None = None,
    ) -> None:
        self.status = status
        self.token = token
        self.annotations: Mapping[str, str] = annotations or {}
        self.reason = reason
        self.identity = identity


def parse_token_text(text: str) -> TokenFile:
    lines = []
    for line in text.replace("\0", " ").splitlines():
        line = line.strip()
        if line:
            lines.append(line)
    if not lines:
        return TokenFile(INVALID, reason="no token in it")
    words = lines[0].split()
    if len(words) > 2 or not is_valid_token(words[0]):
        return TokenFile(INVALID, reason="malformed token")
    annotations: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        annotations[key] = value.strip()
    return TokenFile(VALID, words[0], annotations)


def read_bytes(path: str) -> tuple[bytes | None, str, str, tuple[int, ...] | None]:
    """(data, reason, status, identity) of a small regular file."""
    # Opened non-blocking, so a FIFO never makes us wait; anything that is
    # not a regular file of at most MAX_FILE_BYTES is refused (UNUSABLE).
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None, "no such file", MISSING, None
    except OSError as error:  # permissions, a directory on Windows, I/O
        return None, f"cannot read: {error}", UNUSABLE, None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file", UNUSABLE, None
        if info.st_size > MAX_FILE_BYTES:
            return None, "larger than a token file can be", UNUSABLE, None
        data = os.read(fd, MAX_FILE_BYTES + 1)
    except OSError as error:
        return None, f"cannot read: {error}", UNUSABLE, None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        return None, "larger than a token file can be", UNUSABLE, None
    identity = (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
    return data, "", VALID, identity


def read_token_file(path: str) -> TokenFile:
    """A regular file holding no valid token, binary or not, is INVALID."""
    data, reason, status, identity = read_bytes(path)
    if data is None:
        return TokenFile(status, reason=reason)
    parsed = parse_token_text(data.decode("utf-8", errors="replace"))
    parsed.identity = identity
    return parsed


def load_or_create(
    path: str, *, make_parent: bool = False, annotate: Annotate | None = None
) -> str | None:
    """The token stored at ``path``, created or repaired as needed.

    None when no token can be had; never raises ``OSError``, never waits.
    """
    # ``annotate(token)``: what the token must carry (the client token's
    # host tie). A stored token whose annotation has another value is
    # renewed; one that lacks it keeps its value and gains it (and is still
    # returned where the file cannot be rewritten): ``tokenstore`` decides.
    current = read_token_file(path)
    token = current.token
    if token is not None:  # only a VALID file has one
        kept = True
        if annotate is not None:
            for key, value in annotate(token).items():
                if current.annotations.get(key) != value:
                    kept = False
        if kept:
            return token
    elif current.status == UNUSABLE:
        debug("leaving %s alone: %s", path, current.reason)
        return None
    from . import tokenstore  # cold: only when something must be written

    return tokenstore.settle(path, current, annotate, make_parent)


# --- the client token's host tie ---------------------------------------------
#
# The client token file carries a ``host`` line: a hash of the token (as
# salt) and the machine's identity. It reveals nothing about the machine, is
# never sent, and survives reboots; on a machine whose identity gives another
# hash the client token is renewed, so a copied home directory, VM or
# container image does not make two machines share one client token. The
# identity, read without a subprocess: Linux ``/etc/machine-id`` (or dbus's
# copy), plus the host name inside a container (images often carry one
# machine-id into many containers); Windows and macOS in ``hostid``. Where
# none is available the token is simply not tied (documented fallback).

HOST_KEY = "host"
LINUX_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")


def _read_first_line(path: str) -> str | None:
    data = read_bytes(path)[0]
    if not data:
        return None
    return data.decode("ascii", errors="replace").partition("\n")[0].strip() or None


def identity_files() -> list[str]:
    """The files the identity is read from (or, for the container markers,
    whose existence is checked) on this platform."""
    if sys.platform.startswith("linux"):
        return [*LINUX_ID_FILES, *CONTAINER_MARKERS]
    return []


def machine_identity() -> str | None:
    """This machine's stable identity, or None where it cannot be had cheaply."""
    try:
        if not sys.platform.startswith("linux"):
            from .hostid import platform_identity

            return platform_identity()
        for path in LINUX_ID_FILES:
            machine_id = _read_first_line(path)
            if machine_id:
                break
        else:
            return None
        for marker in CONTAINER_MARKERS:
            if os.access(marker, os.F_OK):  # os.path.exists, without an exception
                return f"linux:{machine_id}:{os.uname().nodename}"
        return f"linux:{machine_id}"
    except Exception as error:
        debug("no machine identity: %s", error)
    return None


def host_tag(token: str, identity: str) -> str:
    """A hash of the identity salted by the token: it tells nothing about
    the machine and differs for every token."""
    digest = hashlib.sha256(f"aau-host\0{token}\0{identity}".encode()).hexdigest()
    return digest[:32]


def host_annotation(identity: str | None) -> Callable[[str], dict[str, str]]:
    """The ``annotate`` function for the client token file on this machine."""

    def annotate(token: str) -> dict[str, str]:
        return {HOST_KEY: host_tag(token, identity)} if identity else {}

    return annotate
