"""Which tokens this process sends, and where each came from.

client and environment tokens are read from (or created in) their files;
the session token lives only in this process's memory. A token that cannot
be had is left out, never replaced by something derived from the machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import paths, tokenfile
from ._debug import debug
from .tokens import new_token

KIND_ORDER = ("c", "s", "e", "i", "o", "m")
KIND_NAMES = {
    "c": "client",
    "s": "session",
    "e": "environment",
    "i": "installer",
    "o": "organization",
    "m": "machine",
}


@dataclass(frozen=True)
class Token:
    kind: str
    value: str
    source: str


_session_token: str | None = None
# Environment tokens sent for a prefix that was not yet a conda environment
# (``conda create``); written into the environment once it exists.
_pending: dict[str, str] = {}


def session_token() -> Token:
    global _session_token
    if _session_token is None:
        _session_token = new_token()
    return Token("s", _session_token, "memory (new in every process)")


def client_token() -> Token | None:
    path = paths.client_token_path()
    if path is None:
        debug("no usable home directory: client token left out")
        return None
    value = tokenfile.load_or_create(path, make_parent=True)
    return Token("c", value, path) if value else None


def environment_token(prefix: str) -> Token | None:
    prefix = os.path.abspath(prefix)
    path = paths.environment_token_path(prefix)
    if paths.is_conda_environment(prefix):
        value = tokenfile.load_or_create(path, make_parent=True)
        return Token("e", value, path) if value else None
    # Not (yet) an environment: never create directories conda will want to
    # create itself. Send a token now and store it if the environment appears.
    current = tokenfile.read_token_file(path)
    if current.token:
        return Token("e", current.token, path)
    value = _pending.setdefault(prefix, new_token())
    return Token("e", value, f"{path} (pending: written once the environment exists)")


def store_pending(prefix: str | None = None) -> None:
    """Write pending environment tokens whose environment now exists."""
    for pending_prefix, value in list(_pending.items()):
        if prefix is not None and pending_prefix != os.path.abspath(prefix):
            continue
        if not paths.is_conda_environment(pending_prefix):
            continue
        stored = tokenfile.claim(paths.environment_token_path(pending_prefix), value)
        if stored is not None:
            del _pending[pending_prefix]


def collect_tokens(prefix: str) -> list[Token]:
    """All tokens for a command targeting ``prefix``, in the order they are sent."""
    found: list[Token | None] = [client_token(), session_token()]
    found.append(environment_token(prefix))
    return [token for token in found if token is not None]
