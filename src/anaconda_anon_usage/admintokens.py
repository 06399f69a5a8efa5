"""Administrator tokens' values (installer, organisation, machine): read,
checked and each distinct one kept once.

Loaded only where an administrator deployed some (a variable or a file that
``useragent.system_tokens`` found); most machines never load it.
"""

from __future__ import annotations

import os

from . import debug
from .tokens import TOKEN_ALPHABET, read_bytes

SYSTEM_TOKEN_MAX_LENGTH = 36


def is_valid_system_token(value: str) -> bool:
    return 0 < len(value) <= SYSTEM_TOKEN_MAX_LENGTH and TOKEN_ALPHABET.issuperset(
        value
    )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def read_small_text(path: str) -> tuple[str | None, str]:
    """(text, reason): a small UTF-8 text file's content, or None and why
    not. Binary, huge, non-regular or unreadable files are refused."""
    data, reason, _, _ = read_bytes(path)
    if data is None:
        return None, reason
    if b"\0" in data:
        return None, "not a text file"
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        return None, "not a text file"


def read_values(found: list[tuple[str, str, bool]]) -> list[tuple[str, str, str]]:
    """(kind, value, source) for each distinct valid value, in the order of
    ``found``: (kind, variable name or file path, is a file), in the order
    they are read. Invalid values are dropped and named in debug output."""
    kept: dict[tuple[str, str], tuple[str, str, str]] = {}
    for kind, where, is_file in found:
        if is_file:
            raw, reason = read_small_text(where)
            if raw is None:
                debug("dropping %s: %s", where, reason)
                continue
            source = where
        else:
            raw, source = os.environ.get(where, ""), f"${where}"
        value = _first_line(raw)
        if not is_valid_system_token(value):
            debug("dropping %s token from %s: not 1-36 of [A-Za-z0-9_-]", kind, source)
            continue
        kept.setdefault((kind, value), (kind, value, source))
    return list(kept.values())
