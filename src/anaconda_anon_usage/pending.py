"""Environment tokens of environments that a command (``conda create``) is
creating: sent while the environment does not exist yet, stored once it
does. Loaded only by those commands."""

from __future__ import annotations

import os

from . import tokens

# prefix -> the token sent for it, not yet written
_pending: dict[str, str] = {}
# the command's target, if it was no environment when the command began
target: str | None = None


def note_target(prefix: str) -> None:
    """Remember the target of a creating command if it is no environment yet."""
    global target
    prefix = os.path.abspath(prefix)
    if not tokens.is_conda_environment(prefix):
        target = prefix


def pending_token(prefix: str, path: str) -> tuple[str, str]:
    """(value, source) of the token sent for ``prefix`` in this process."""
    value = _pending.setdefault(prefix, tokens.new_token())
    return value, f"{path} (pending: written once the environment exists)"


def settle_created_environment(prefix: str) -> None:
    """The new environment at ``prefix`` holds the token sent for it, or none."""
    # A file that got there otherwise (``conda create --clone`` copies it)
    # is another environment's token.
    prefix = os.path.abspath(prefix)
    if not tokens.is_conda_environment(prefix):
        return
    path = tokens.environment_token_path(prefix)
    value = _pending.pop(prefix, None)
    from . import tokenstore

    if value is not None:
        tokenstore.store(path, value)
    else:
        tokenstore.discard(path)
