"""The text appended to conda's user-agent, and its redacted display form."""

from __future__ import annotations

from collections.abc import Iterable

from . import __version__
from .collect import KIND_ORDER, Token

PRODUCT = "aau"
REDACTED = "."


def aau_user_agent(tokens: Iterable[Token] = ()) -> str:
    """``aau/<version>`` followed by ``kind/value`` for each token, in kind order."""
    rank = {kind: index for index, kind in enumerate(KIND_ORDER)}
    ordered = sorted(tokens, key=lambda token: rank[token.kind])
    return " ".join([f"{PRODUCT}/{__version__}", *(f"{t.kind}/{t.value}" for t in ordered)])


def redact(user_agent: str) -> str:
    """Replace our token values with ``.``; everything before ``aau/`` is untouched."""
    marker = f" {PRODUCT}/"
    head, found, tail = user_agent.partition(marker)
    if not found:
        return user_agent
    parts = tail.split(" ")
    for index, part in enumerate(parts[1:], start=1):
        kind, slash, _ = part.partition("/")
        if slash and kind in KIND_ORDER:
            parts[index] = f"{kind}/{REDACTED}"
    return head + marker + " ".join(parts)
