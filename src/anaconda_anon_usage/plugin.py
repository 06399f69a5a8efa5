"""conda's entry point: hook registrations only. The work is in conda_adapter."""

from __future__ import annotations

from collections.abc import Iterator

from conda import plugins
from conda.plugins.types import CondaPostCommand, CondaPreCommand

from . import conda_adapter

NAME = "anaconda-anon-usage"


@plugins.hookimpl
def conda_pre_commands() -> Iterator[CondaPreCommand]:
    yield CondaPreCommand(
        name=NAME,
        action=conda_adapter.pre_command,
        run_for=conda_adapter.AllCommands(),
    )


@plugins.hookimpl
def conda_post_commands() -> Iterator[CondaPostCommand]:
    yield CondaPostCommand(
        name=NAME,
        action=conda_adapter.post_command,
        run_for=conda_adapter.AllCommands(),
    )
