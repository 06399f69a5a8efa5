"""conda's entry point: hook registrations only.

The user-agent work is in conda_adapter; ``conda anon-usage`` and the
``conda doctor`` check are in controls, imported only when conda runs them.
The subcommand gives conda no ``configure_parser``: conda builds every
subcommand's parser on every command it runs, so ours would cost each
command ~0.3 ms; without one, conda hands the subcommand its arguments as
they were typed, and controls parses them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from conda import plugins
from conda.plugins import types

from . import SUBCOMMAND_SUMMARY, conda_adapter

if TYPE_CHECKING:
    from argparse import Namespace

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


def _run(args: Namespace | Sequence[str]) -> int:
    from . import controls

    return controls.run(args)


def _health_check(prefix: str, verbose: bool) -> None:
    from . import controls

    controls.health_check(prefix, verbose)


@plugins.hookimpl
def conda_subcommands() -> Iterator[types.CondaSubcommand]:
    yield types.CondaSubcommand(
        name="anon-usage",
        summary=SUBCOMMAND_SUMMARY,
        action=_run,
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
