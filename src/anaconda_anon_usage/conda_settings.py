"""conda's own answers about ``anaconda_anon_usage``, for the tool and for
``conda anon-usage``: whether tokens are on and which source decided, as the
plugin sees it; the files conda read; and writing the setting with conda's
own ``conda config`` code.

Imported only by the tool and the subcommand, never on the plugin's path.
"""

from __future__ import annotations

import os
from argparse import Namespace
from typing import Any, NamedTuple

from . import conda_adapter
from .condarc import PARAMETER
from .config import DEFAULT_SOURCE, Decision, environment_setting


class State(NamedTuple):
    """What conda decides for one target environment."""

    decision: Decision
    prefix: str
    root_prefix: str
    condarc_files: list[str]


def load_context(prefix: str | None = None, name: str | None = None) -> Any:
    """conda's context for a target given as ``-p``/``-n`` of the tool or of
    ``conda anon-usage``, read from conda's search path (``$CONDA_PREFIX``
    there is the target).

    ``ImportError``: conda is not importable here.
    """
    # What conda's command line sets up first: conda 23.x logs at its TRACE
    # level (``Logger.trace``, added by this module) while finding where
    # ``-n NAME`` goes; without it that lookup fails.
    import conda.gateways.logging  # noqa: F401
    from conda.base.context import context, reset_context

    conda_adapter.register_parameter()
    # Inside a conda command, what its command line set (--json, -v...) stays.
    given = {
        key: value
        for key, value in dict(getattr(context, "_argparse_args", None) or {}).items()
        if not key.startswith("_")
    }
    given.update(prefix=prefix, name=name)
    reset_context(argparse_args=Namespace(**given))
    return context


def deciding_source(context: Any) -> str:
    """The source whose value conda uses: the first marked ``#!final``, else
    the last that sets it; "default" when none does."""
    from conda.common.configuration import EnvRawParameter, ParameterFlag

    decided = DEFAULT_SOURCE
    for source, parameters in context.raw_data.items():
        raw = parameters.get(PARAMETER)
        if raw is None:
            continue
        if source == EnvRawParameter.source:
            found = environment_setting(os.environ)
            decided = found[0] if found else str(source)
        else:
            decided = str(source)
        if raw.keyflag() == ParameterFlag.final:
            break
    return decided


def decide(context: Any) -> Decision:
    """On or off as the plugin decides inside conda. A value conda refuses
    (not a boolean) leaves tokens off, as the plugin does."""
    try:
        enabled = conda_adapter.enabled(context)
    except Exception as error:
        from conda.common.configuration import CustomValidationError

        if isinstance(error, CustomValidationError):
            return Decision(
                False, f"{deciding_source(context)} (not a boolean: conda refuses it)"
            )
        return Decision(False, f"conda cannot read its configuration: {error}")
    return Decision(enabled, deciding_source(context))


def read_files(context: Any) -> list[str]:
    """The condarc files conda read for this context, in its order."""
    from conda.common.configuration import ArgParseRawParameter, EnvRawParameter

    skip = {EnvRawParameter.source, ArgParseRawParameter.source}
    return [str(source) for source in context.raw_data if source not in skip]


def state(context: Any) -> State:
    """Where conda cannot tell the target, its error is raised: the base
    environment is not shown in place of the one asked for."""
    return State(
        decide(context),
        str(context.target_prefix),
        str(context.root_prefix),
        read_files(context),
    )


def set_in_user_condarc(value: bool) -> str:
    """Run conda's own ``conda config --set anaconda_anon_usage VALUE``:
    conda's writer keeps the file's mode, writes through a symlink, and
    formats the file as ``conda config`` does. Returns the path written.

    Raises conda's own error (e.g. ``CondaError``) when it cannot write.
    """
    from conda.base.context import reset_context, user_rc_path
    from conda.cli import main_config
    from conda.cli.conda_argparse import generate_parser

    parser = generate_parser()
    word = "true" if value else "false"
    args = parser.parse_args(["config", "--set", PARAMETER, word])
    main_config.execute(args, parser)
    reset_context()
    return str(user_rc_path)
