"""Environment tokens of environments that a command (``conda create``) is
creating: sent while the environment does not exist yet, stored once it
does. Loaded only by those commands."""

from __future__ import annotations

import os

from . import tokens

# prefix -> the token sent for it, not yet written
_pending: dict[str, str] = {}
# prefix -> the token sent for it that its file held (or was given) then
_sent: dict[str, str] = {}
# the command's target, and the token its environment held when the command
# began (None if it was no environment or had none)
target: str | None = None
held: str | None = None


def note_target(prefix: str) -> None:
    """Remember the target of a creating command and the token it holds."""
    # An existing target is noted too: ``conda create -y`` over an
    # environment removes it before its requests, which then send a pending
    # token for it.
    global target, held
    target = os.path.abspath(prefix)
    held = None
    if tokens.is_conda_environment(target):
        held = tokens.read_token_file(tokens.environment_token_path(target)).token


def note_sent(prefix: str, value: str) -> None:
    """The token of an existing environment, sent by a creating command: it
    is the environment's own, whatever the command does after."""
    _sent[os.path.abspath(prefix)] = value


def pending_token(prefix: str, path: str) -> tuple[str, str]:
    """(value, source) of the token sent for ``prefix`` in this process."""
    value = _pending.setdefault(prefix, tokens.new_token())
    return value, f"{path} (pending: written once the environment exists)"


def settle_created_environment(prefix: str, held: str | None = None) -> None:
    """The environment at ``prefix`` holds the token sent for it; else the
    one it ``held`` before the command, or none."""
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
        current = tokens.read_token_file(path).token
        if current is None or current not in (held, _sent.get(prefix)):
            tokenstore.discard(path)


def settle() -> None:
    """After a creating command: the noted target, and every environment
    the command sent a pending token for, hold that token (or none)."""
    # ``conda env create -f FILE`` learns its target from the file, after
    # the pre-command hook noted the default one.
    if target is not None:
        settle_created_environment(target, held)
    for prefix in list(_pending):
        settle_created_environment(prefix)
