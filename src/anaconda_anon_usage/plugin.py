"""conda's entry point: hook registrations only.

The user-agent work is in conda_adapter; ``conda anon-usage`` and the
``conda doctor`` check are in controls, imported only when conda runs them
(the subcommand's arguments, which conda builds on every command, are in
subcommand_args).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from conda import plugins
from conda.plugins import types

from . import conda_adapter

if TYPE_CHECKING:
    from argparse import ArgumentParser, Namespace

NAME = "anaconda-anon-usage"


@plugins.hookimpl
def conda_pre_commands() -> Iterator[types.CondaPreCommand]:
    yield types.CondaPreCommand(
        name=NAME,
        action=conda_adapter.pre_command,
        run_for=conda_adapter.AllCommands(),
    )


@plugins.hookimpl
def conda_post_commands() -> Iterator[types.CondaPostCommand]:
    yield types.CondaPostCommand(
        name=NAME,
        action=conda_adapter.post_command,
        run_for=conda_adapter.AllCommands(),
    )


def _configure_parser(parser: ArgumentParser) -> None:
    # conda calls this on every command, to build its whole parser: only the
    # arguments are loaded then, the subcommand when it runs.
    from . import subcommand_args

    subcommand_args.configure_parser(parser)


def _run(args: Namespace | list[str]) -> int:
    from . import controls

    return controls.run(args)


def _health_check(prefix: str, verbose: bool) -> None:
    from . import controls

    controls.health_check(prefix, verbose)


@plugins.hookimpl
def conda_subcommands() -> Iterator[types.CondaSubcommand]:
    yield types.CondaSubcommand(
        name="anon-usage",
        summary="Show, reset, or turn off the anonymous usage tokens conda sends.",
        action=_run,
        configure_parser=_configure_parser,
    )


HEALTH_SUMMARY = (
    "Anonymous usage tokens: whether they are sent, and whether each token "
    "file can be read and kept"
)


@plugins.hookimpl
def conda_health_checks() -> Iterator[types.CondaHealthCheck]:
    # Only called by conda >= 23.11, which has ``conda doctor``; a summary
    # (shown by ``conda doctor --list``) only where the type has the field.
    fields = getattr(types.CondaHealthCheck, "__dataclass_fields__", {})
    extra = {"summary": HEALTH_SUMMARY} if "summary" in fields else {}
    yield types.CondaHealthCheck(name=NAME, action=_health_check, **extra)
