"""Everything that touches conda's internals on every command: our
parameter in conda's ``Context``, our tokens at the end of its user-agent,
and our values kept out of conda's log records and errors."""

# Loaded into every conda process: docstrings are short (they are loaded
# with the code); the reasons are in comments, which cost nothing.
#
# What only some commands need is elsewhere, loaded only by them:
# ``conda_display`` (``conda config --describe``, ``conda info``) and
# ``pending`` (``conda create``'s new environment). Every entry point
# swallows its own failures: conda must carry on.

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from . import DO_NOT_TRACK, __version__, debug, do_not_track

# Kept here rather than imported from .config: that module (the standard
# library reading of condarc files) is not needed inside conda.
PARAMETER = "anaconda_anon_usage"

_MARK = "_anaconda_anon_usage"
# Commands that create their target environment: only they send a token for
# a prefix that is not (yet) an environment, and store it once it is.
CREATE_COMMANDS = frozenset({"create", "env_create"})
_command = ""


class AllCommands(frozenset):
    """A ``run_for`` holding every command name, other plugins' too."""

    # conda only asks ``command in run_for``.
    def __contains__(self, item: object) -> bool:
        return isinstance(item, str)


_registered = False


def register_parameter() -> None:
    """Teach conda's Context about ``anaconda_anon_usage`` (idempotent)."""
    # An ordinary Context parameter, so that condarc files, ``conda config``
    # and CONDA_* variables treat it exactly like conda's own (the settings
    # hook of conda >= 24.3 would file it under ``plugins.``; 23.x has none).
    # Asked on every user-agent: once registered, a flag answers (~15 us).
    global _registered
    if _registered:
        return
    from conda.base.context import Context, context
    from conda.common.configuration import ParameterLoader, PrimitiveParameter

    if isinstance(Context.__dict__.get(PARAMETER), ParameterLoader):
        _registered = True
        return
    loader = ParameterLoader(PrimitiveParameter(True, element_type=bool))
    loader._set_name(PARAMETER)
    setattr(Context, PARAMETER, loader)
    Context.parameter_names = (*Context.parameter_names, PARAMETER)
    names = Context.__dict__.get("parameter_names_and_aliases")
    if isinstance(names, tuple):  # conda >= 25.x; rebuilding it costs ~70 us
        Context.parameter_names_and_aliases = (*names, PARAMETER)
    loaders = vars(context).get("_parameter_loaders")
    if isinstance(loaders, dict):  # conda >= 25.x snapshots them per instance
        context._parameter_loaders = {**loaders, PARAMETER: loader}
    _registered = True


def _honour_do_not_track(context: Any) -> None:
    # DO_NOT_TRACK counts as CONDA_ANACONDA_ANON_USAGE=false: it is placed in
    # conda's environment-variable source so a ``#!final`` condarc still wins.
    if not do_not_track(os.environ):
        return
    from conda.common.configuration import EnvRawParameter

    envvars = context.raw_data.setdefault(EnvRawParameter.source, {})
    existing = envvars.get(PARAMETER)
    if existing is not None and getattr(existing, "_value", None) == "false":
        return
    envvars[PARAMETER] = EnvRawParameter(EnvRawParameter.source, PARAMETER, "false")
    context._cache_.pop(PARAMETER, None)
    debug("%s is set: treated as %s=false", DO_NOT_TRACK, "CONDA_ANACONDA_ANON_USAGE")


def enabled(context: Any) -> bool:
    register_parameter()
    if os.environ.get(DO_NOT_TRACK):
        _honour_do_not_track(context)
    # conda's merge of all sources costs ~0.3 ms; when no source names the
    # parameter its value is the default, so that question is cheaper.
    raw_data = getattr(context, "raw_data", None)
    if isinstance(raw_data, dict):
        for source in raw_data.values():
            if PARAMETER in source:
                return bool(getattr(context, PARAMETER))
        return True
    return bool(getattr(context, PARAMETER))


def target_prefix(context: Any) -> str:
    """The environment the command acts on: -n/-p, else active, else base."""
    try:
        return str(context.target_prefix)
    except Exception as error:  # e.g. an invalid -n name; conda reports it
        debug("no target prefix (%s); using the default prefix", error)
        return str(context.default_prefix)


# What is sent while tokens are off: ``useragent.aau_user_agent()`` without
# tokens, without loading that module (nor reading or making anything).
VERSION_ONLY = f"aau/{__version__}"

# Computed once per process and target; conda asks from several threads.
_computed: dict[tuple[str, str, bool], str] = {}
_computing = threading.Lock()


def _aau_part(prefix: str, root_prefix: str, shown: bool) -> str:
    # ``shown``: the user-agent is only displayed, not sent, so nothing is
    # created and the values are redacted.
    key = (prefix, root_prefix, shown)
    if key not in _computed:
        with _computing:
            if key not in _computed:
                # on first use: commands without requests never load it
                from . import useragent

                found = useragent.collect_tokens(
                    prefix,
                    root_prefix,
                    pending=_command in CREATE_COMMANDS,
                    create=not shown,
                )
                part = useragent.aau_user_agent(found)
                if shown:
                    from .redaction import redact

                    part = redact(f" {part}")[1:]
                elif found:
                    for token in found:
                        if token.kind in _RANDOM_KINDS:
                            _sent_values.add(token.value)
                    _redact_log_records()
                    _redact_conda_errors()
                _computed[key] = part
    return _computed[key]


# --- what people see: conda's logs and error messages -------------------------
#
# Once this process sends tokens, conda shows them nowhere. Besides ``conda
# info`` (see conda_display), conda renders the user-agent for people in log
# records (request headers at -vv/--debug, requests' and urllib3's records,
# anything a plugin logs) and in its exceptions (an HTTP error carries the
# request with its headers: shown with -v, in --json output and the error
# report). So the redaction sits in the one place every log record is made,
# and in the one constructor every conda exception goes through; the
# redacting code (``redaction``) is loaded on the first record or error.

# The random token values this process sends (client, session, environment);
# they are redacted even where they appear without their ``aau/`` part.
_sent_values: set[str] = set()
_RANDOM_KINDS = ("c", "s", "e")
_redacting_logs = False


def _redact_log_records() -> None:
    global _redacting_logs
    if _redacting_logs:
        return
    _redacting_logs = True
    import logging

    previous = logging.getLogRecordFactory()

    def record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            from .redaction import redact_record

            redact_record(record, _sent_values)
        except Exception as error:  # the record stays as it was made
            debug("cannot redact a log record: %s", error)
        return record

    logging.setLogRecordFactory(record_factory)


def _redact_conda_errors() -> None:
    from conda import CondaError

    original = CondaError.__init__
    if getattr(original, _MARK, False):
        return

    def __init__(self: Any, message: Any, *args: Any, **kwargs: Any) -> None:
        try:
            from .redaction import redact_error_arguments

            message = redact_error_arguments(message, kwargs, _sent_values)
        except Exception as error:
            debug("cannot redact a conda error: %s", error)
        original(self, message, *args, **kwargs)

    # what functools.wraps would copy, without its first-use cost (~10 us)
    __init__.__qualname__ = original.__qualname__
    __init__.__doc__ = original.__doc__
    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(__init__, _MARK, True)
    CondaError.__init__ = __init__


def install_user_agent() -> None:
    """Wrap ``Context.user_agent`` once; tokens are read on first use only."""
    from conda.base.context import Context

    original = Context.__dict__.get("user_agent")
    if original is None or getattr(original.fget, _MARK, False):
        return

    def user_agent(self: Any) -> str:
        base = original.__get__(self, type(self))
        try:
            try:
                is_enabled = enabled(self)
            except Exception as error:
                debug("cannot read %s (%s): sending the version only", PARAMETER, error)
                is_enabled = False
            if not is_enabled:
                return f"{base} {VERSION_ONLY}"
            # Built only to be shown (``conda info``, the error report: both
            # go through main_info.get_info_dict)? Then nothing is created.
            caller = sys._getframe(1)
            shown = (
                caller.f_code.co_name == "get_info_dict"
                and caller.f_globals.get("__name__") == "conda.cli.main_info"
            )
            prefix = target_prefix(self)
            part = _aau_part(prefix, str(self.root_prefix), shown)
            return f"{base} {part}"
        except Exception as error:
            debug("user-agent left as conda made it: %s", error)
            return base

    setattr(user_agent, _MARK, True)
    Context.user_agent = property(user_agent, doc=original.__doc__)


def pre_command(command: str) -> None:
    global _command
    try:
        _command = command
        register_parameter()
        install_user_agent()
        if command in ("info", "config"):
            from . import conda_display

            conda_display.prepare(command)
        elif command in CREATE_COMMANDS:
            from conda.base.context import context

            from .pending import note_target

            note_target(target_prefix(context))
    except Exception as error:
        debug("pre-command for %r failed: %s", command, error)


def post_command(command: str) -> None:
    """The environment ``conda create`` made keeps only the token sent for it."""
    # Stored now that it exists; a copied one (``--clone``) is removed.
    if command not in CREATE_COMMANDS:
        return
    try:
        from conda.base.context import context

        if enabled(context):
            from . import pending

            pending.settle()
    except Exception as error:
        debug("post-command for %r failed: %s", command, error)
