"""The client token's host tie: a copied home directory, VM or container
image must not make two machines share one client token.

The client token file carries a ``host`` line: a hash of the token (as salt)
and the machine's identity. It reveals nothing about the machine, is never
sent, and survives reboots; on a machine whose identity gives another hash
the client token is renewed. The identity, read without a subprocess:
Linux ``/etc/machine-id`` (or dbus's copy), plus the host name inside a
container (images often carry one machine-id into many containers);
Windows the registry's ``MachineGuid``; macOS ``gethostuuid``. Where none
is available the token is simply not tied (documented fallback).
"""

# Checked by every conda command that sends a request: docstrings are short
# (they are loaded with the code); comments cost nothing.

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable

from . import debug

HOST_KEY = "host"
LINUX_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")


# Non-blocking: a FIFO in place of the file never makes conda wait.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def _read_first_line(path: str) -> str | None:
    # os.read, not open(): no text layer (~40 us of conda's start-up).
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        data = os.read(fd, 256)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.decode("ascii", errors="replace").partition("\n")[0].strip() or None


def _linux_identity() -> str | None:
    for path in LINUX_ID_FILES:
        machine_id = _read_first_line(path)
        if machine_id:
            break
    else:
        return None
    for marker in CONTAINER_MARKERS:
        if os.path.exists(marker):
            return f"linux:{machine_id}:{os.uname().nodename}"
    return f"linux:{machine_id}"


if sys.platform == "win32":  # pragma: no cover - not run on Linux CI

    def _windows_identity() -> str | None:
        import winreg

        with winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE,
            r"SOFTWARE\Microsoft\Cryptography",
            0,
            winreg.KEY_READ | winreg.KEY_WOW64_64KEY,
        ) as key:
            return f"windows:{winreg.QueryValueEx(key, 'MachineGuid')[0]}"


def _macos_identity() -> str | None:  # pragma: no cover - not run on Linux CI
    import ctypes
    import uuid

    libc = ctypes.CDLL("/usr/lib/libc.dylib")
    buffer = ctypes.create_string_buffer(16)
    timeout = (ctypes.c_long * 2)(1, 0)
    if libc.gethostuuid(buffer, timeout) != 0:
        return None
    return f"macos:{uuid.UUID(bytes=buffer.raw)}"


def identity_files() -> list[str]:
    """The files the identity is read from (or, for the container markers,
    whose existence is checked) on this platform."""
    if sys.platform.startswith("linux"):
        return [*LINUX_ID_FILES, *CONTAINER_MARKERS]
    return []


def machine_identity() -> str | None:
    """This machine's stable identity, or None where it cannot be had cheaply."""
    try:
        if sys.platform.startswith("linux"):
            return _linux_identity()
        if sys.platform == "win32":
            return _windows_identity()
        if sys.platform == "darwin":
            return _macos_identity()
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
