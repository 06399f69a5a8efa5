"""Token files read only to be shown (``conda info``, conda's error report):
nothing is created or repaired, and a token not yet made shows as ``.``."""

from __future__ import annotations

from . import tokens
from .useragent import REDACTED, Token


def peek(kind: str, path: str) -> Token | None:
    """The token the file at ``path`` holds, or a placeholder for one that
    would be made; None where none could be."""
    current = tokens.read_token_file(path)
    if current.status == tokens.UNUSABLE:
        return None
    return Token(kind, current.token or REDACTED, path)
