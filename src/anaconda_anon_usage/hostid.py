"""This machine's identity on Windows and macOS, for the client token's
host tie (see ``tokens``, which reads Linux's from a file). Loaded only on
those platforms."""

from __future__ import annotations

import sys


def platform_identity() -> str | None:  # pragma: no cover - not run on Linux CI
    """Windows: the registry's ``MachineGuid``; macOS: ``gethostuuid``."""
    if sys.platform == "win32":
        import winreg

        with winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE,
            r"SOFTWARE\Microsoft\Cryptography",
            0,
            winreg.KEY_READ | winreg.KEY_WOW64_64KEY,
        ) as key:
            return f"windows:{winreg.QueryValueEx(key, 'MachineGuid')[0]}"
    if sys.platform == "darwin":
        import ctypes
        import uuid

        libc = ctypes.CDLL("/usr/lib/libc.dylib")
        buffer = ctypes.create_string_buffer(16)
        timeout = (ctypes.c_long * 2)(1, 0)
        if libc.gethostuuid(buffer, timeout) != 0:
            return None
        return f"macos:{uuid.UUID(bytes=buffer.raw)}"
    return None
