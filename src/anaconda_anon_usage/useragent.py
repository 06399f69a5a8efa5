"""What is appended to conda's user-agent: which tokens, from where, in what
form, and the redacted form ``conda info`` displays.

client and environment tokens are read from (or created in) their files;
the session token lives only in this process's memory. A token that cannot
be had is left out, never replaced by something derived from the machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from . import __version__, debug, tokens
from .tokens import new_token

PRODUCT = "aau"
REDACTED = "."
KIND_ORDER = ("c", "s", "e", "i", "o", "m")
KIND_NAMES = {
    "c": "client",
    "s": "session",
    "e": "environment",
    "i": "installer",
    "o": "organization",
    "m": "machine",
}


class Token:
    """One token to send: its kind letter, its value, and where it came from."""

    __slots__ = ("kind", "source", "value")

    def __init__(self, kind: str, value: str, source: str) -> None:
        self.kind = kind
        self.value = value
        self.source = source

    def _key(self) -> tuple[str, str, str]:
        return (self.kind, self.value, self.source)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.value!r}, {self.source!r})"


# Made at import, which Python serialises: conda fetches repodata from several
# threads at once, and a lazily made token could differ between them.
_session_token = new_token()
# Environment tokens sent for a prefix that was not yet a conda environment
# (``conda create``); written into the environment once it exists.
_pending: dict[str, str] = {}


def session_token() -> Token:
    return Token("s", _session_token, "memory (new in every process)")


def client_token() -> Token | None:
    path = tokens.client_token_path()
    if path is None:
        debug("no usable home directory: client token left out")
        return None
    value = tokens.load_or_create(path, make_parent=True)
    return Token("c", value, path) if value else None


def environment_token(prefix: str) -> Token | None:
    prefix = os.path.abspath(prefix)
    path = tokens.environment_token_path(prefix)
    if tokens.is_conda_environment(prefix):
        value = tokens.load_or_create(path, make_parent=True)
        return Token("e", value, path) if value else None
    # Not (yet) an environment: never create directories conda will want to
    # create itself. Send a token now and store it if the environment appears.
    current = tokens.read_token_file(path)
    if current.token:
        return Token("e", current.token, path)
    value = _pending.setdefault(prefix, new_token())
    return Token("e", value, f"{path} (pending: written once the environment exists)")


def store_pending() -> None:
    """Write pending environment tokens whose environment now exists."""
    for prefix, value in list(_pending.items()):
        if not tokens.is_conda_environment(prefix):
            continue
        if tokens.claim(tokens.environment_token_path(prefix), value) is not None:
            del _pending[prefix]


def collect_tokens(prefix: str) -> list[Token]:
    """All tokens for a command targeting ``prefix``, in the order they are sent."""
    found = [client_token(), session_token(), environment_token(prefix)]
    return [token for token in found if token is not None]


def aau_user_agent(sent: Iterable[Token] = ()) -> str:
    """``aau/<version>`` followed by ``kind/value`` for each token, in kind order."""
    rank = {kind: index for index, kind in enumerate(KIND_ORDER)}
    ordered = sorted(sent, key=lambda token: rank[token.kind])
    return " ".join(
        [f"{PRODUCT}/{__version__}", *(f"{t.kind}/{t.value}" for t in ordered)]
    )


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
