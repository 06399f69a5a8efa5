"""``conda anon-usage`` and the ``conda doctor`` health check.

Presentation only: conda's view of the configuration comes from
``conda_settings``, the tokens from the core, the rendering from the CLI.
Imported only when conda runs one of them; the subcommand's command line
is in ``subcommand_args``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import json
import os
from collections.abc import Sequence
from typing import Any

from . import conda_settings, tokens, tokenstore, useragent
from .cli import print_error, reader_gone, render, report
from .subcommand_args import configure_parser

CONFLICT = "argument -p/--prefix: not allowed with argument -n/--name"
ONLY_RESET = "--client and --environment go with reset only"


def _context() -> Any:
    from conda.base.context import context

    return context


def _missing_target(args: argparse.Namespace, prefix: str) -> bool:
    """An environment named with -n/-p that does not exist is an error."""
    named = getattr(args, "name", None) or getattr(args, "prefix", None)
    if named and not tokens.is_conda_environment(prefix):
        print_error(
            f"no conda environment at {prefix}",
            getattr(args, "json", False),  # stdout stays one JSON document
            "conda anon-usage: ",
        )
        return True
    return False


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2))


def show(args: argparse.Namespace) -> int:
    state = conda_settings.state(_context())
    if _missing_target(args, state.prefix):
        return 1
    data = report(state.prefix, state.decision, state.root_prefix)
    print(render(data, detail=args.detail, as_json=args.json))
    return 0


def _reset_one(name: str, path: str, is_enabled: bool) -> tuple[str, str | None]:
    """Replace (tokens on) or remove (tokens off) one token file: (what was
    done, the new value); OSError when it cannot."""
    if is_enabled:
        annotate = (
            tokens.host_annotation(tokens.machine_identity())
            if name == "client"
            else None
        )
        parent = os.path.dirname(path)
        try:
            os.makedirs(parent, exist_ok=True)
        except FileExistsError:  # a file where the directory should be
            raise NotADirectoryError(
                errno.ENOTDIR, f"{parent} is not a directory"
            ) from None
        value = tokenstore.write_new(path, annotate)
        return f"{name} token replaced: {path} (now {value})", value
    if os.path.lexists(path):
        os.unlink(path)
        return f"{name} token removed: {path} (tokens are off)", None
    return f"{name} token: none stored (tokens are off)", None


def reset(args: argparse.Namespace) -> int:
    state = conda_settings.state(_context())
    prefix = state.prefix
    if _missing_target(args, prefix):
        return 1
    both = not (args.client or args.environment)
    targets: list[tuple[str, str | None]] = []
    if args.client or both:
        targets.append(("client", tokens.client_token_path()))
    if args.environment or both:
        path = tokens.environment_token_path(prefix)
        targets.append(
            ("environment", path if tokens.is_conda_environment(prefix) else None)
        )
    status = 0
    as_json = bool(getattr(args, "json", False))
    done: list[dict[str, Any]] = []
    for name, path in targets:
        value = None
        if path is None:
            line = f"{name} token: no place for it here; nothing to reset"
        else:
            try:
                line, value = _reset_one(name, path, state.decision.enabled)
            except OSError as error:
                line = f"{name} token: cannot reset {path}: {error.strerror or error}"
                status = 1
        done.append({"name": name, "path": path, "value": value, "message": line})
        if not as_json:
            print(line)
    if as_json:
        _print_json({"success": status == 0, "tokens": done})
    return status


def switch(value: bool, as_json: bool = False) -> int:
    """``conda config --set anaconda_anon_usage VALUE``, run by conda's own
    code; its errors (a read-only home...) are reported by conda as for
    ``conda config``."""
    if as_json:  # conda config prints its own JSON then: ours is the one shown
        with contextlib.redirect_stdout(io.StringIO()):
            path = conda_settings.set_in_user_condarc(value)
        decision = conda_settings.decide(_context())
        _print_json(
            {
                "anaconda_anon_usage": value,
                "written_to": path,
                "enabled": decision.enabled,
                "decided_by": decision.source,
            }
        )
        return 0
    path = conda_settings.set_in_user_condarc(value)
    word = "on" if value else "off"
    print(f"anaconda_anon_usage: {word} (written to {path})")
    decision = conda_settings.decide(_context())
    if decision.enabled != value:
        effective = "on" if decision.enabled else "off"
        print(f"note: {decision.source} decides, so tokens stay {effective}")
    elif not value:
        print("conda now sends only the anaconda-anon-usage version.")
    return 0


def _usage_error(args: argparse.Namespace, message: str) -> int:
    """A usage error found after argparse: one line on stderr, or with
    ``--json`` one JSON document on stdout (as for a missing environment)."""
    print_error(message, getattr(args, "json", False), "conda anon-usage: error: ")
    return 2


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments of ``conda anon-usage`` as conda hands them over (as
    typed: the subcommand has no parser in conda's); ``-n``/``-p`` then make
    conda's context target that environment, as conda's own ``-n``/``-p`` do."""
    parser = argparse.ArgumentParser(prog="conda anon-usage")
    configure_parser(parser)
    args = parser.parse_args(list(argv))
    # conda's own --json, before the subcommand, asks for JSON too
    args.json = args.json or bool(getattr(_context(), "json", False))
    if args.name is not None or args.prefix is not None:  # "" is conda's to refuse
        conda_settings.load_context(prefix=args.prefix, name=args.name)
    return args


def run(args: argparse.Namespace | Sequence[str]) -> int:
    """``conda anon-usage``; a closed stdout (``| head -1``) is no error
    report, as for conda's own commands."""
    try:
        return _run(args)
    except BrokenPipeError:
        return reader_gone()


def _run(args: argparse.Namespace | Sequence[str]) -> int:
    """``args``: the raw arguments, or a namespace conda's context already
    reflects."""
    if not isinstance(args, argparse.Namespace):
        args = parse(args)
    if getattr(args, "name", None) and getattr(args, "prefix", None):
        # where argparse did not see both (a namespace made otherwise)
        return _usage_error(args, CONFLICT)
    action = getattr(args, "anon_usage_action", None)
    if action != "reset" and (
        getattr(args, "client", False) or getattr(args, "environment", False)
    ):
        return _usage_error(args, ONLY_RESET)
    if action == "reset":
        return reset(args)
    if action in ("on", "off"):
        return switch(action == "on", bool(getattr(args, "json", False)))
    return show(args)


# --- conda doctor ---------------------------------------------------------------

OK, BAD = "✅", "❌"


def _cannot_write(path: str) -> str | None:
    """Why a file at ``path`` could not be created or replaced; None if it can.

    Asked of the nearest existing directory on the way (``access`` reports a
    read-only file system, even to root); anything in the way that is not a
    directory (``~/.conda`` being a file) is a reason too.
    """
    directory = os.path.dirname(path)
    while directory and not os.path.lexists(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    directory = directory or "."
    if not os.path.isdir(directory):
        return f"{directory} is not a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"{directory} is not writable"
    return None


def token_health(
    name: str, path: str | None, annotate: tokens.Annotate | None = None
) -> tuple[bool, str, str | None]:
    """(healthy, line, reason it cannot be written) for one token location:
    one verdict, from which every line of the report is made. ``annotate``:
    what the token must carry (the client token's host tie), as conda asks."""
    if path is None:
        return False, f"{name} token: no home directory, so none is kept", None
    problem = _cannot_write(path)
    current = tokens.read_token_file(path)
    if (
        current.status == tokens.VALID
        and annotate is not None
        and tokenstore.verdict(current, annotate) == tokenstore.RENEW
    ):
        # conda renews it, or leaves it out where it cannot: never sends it
        if problem:
            return (
                False,
                f"{name} token: {path} is another machine's and cannot be "
                f"replaced: {problem} (left out)",
                problem,
            )
        return (
            True,
            f"{name} token: {path} is another machine's (replaced on next use)",
            None,
        )
    if current.status == tokens.VALID:
        if problem:
            return (
                True,
                f"{name} token: {path} is valid (kept as it is: {problem})",
                problem,
            )
        return True, f"{name} token: {path} is valid", None
    if current.status == tokens.UNUSABLE:
        in_the_way = problem and not os.path.isdir(os.path.dirname(path))
        reason = problem if in_the_way else current.reason
        return False, f"{name} token: {path} cannot be used: {reason}", problem
    if problem:
        state = "does not exist" if current.status == tokens.MISSING else "is malformed"
        return (
            False,
            f"{name} token: {path} {state} and cannot be made: {problem} (left out)",
            problem,
        )
    if current.status == tokens.MISSING:
        return True, f"{name} token: {path} not yet created (made on first use)", None
    return True, f"{name} token: {path} is malformed (replaced on next use)", None


def health_check(prefix: str, verbose: bool) -> None:
    context = _context()
    decision = conda_settings.decide(context)
    print("Anonymous usage tokens (anaconda-anon-usage):")
    state = "enabled" if decision.enabled else "disabled"
    print(f"{OK} tokens are {state} (decided by: {decision.source})")
    if not decision.enabled:
        return  # nothing is read or made while tokens are off
    locations = [("client", tokens.client_token_path())]
    if tokens.is_conda_environment(prefix):
        locations.append(("environment", tokens.environment_token_path(prefix)))
    problems, read_only = [], []
    host_tie = tokens.host_annotation(tokens.machine_identity())
    for name, path in locations:
        healthy, line, problem = token_health(
            name, path, host_tie if name == "client" else None
        )
        print(f"{OK if healthy else BAD} {line}")
        if not healthy:
            problems.append(name)
        elif problem:  # a valid token where nothing can be written: still sent
            read_only.append(name)
    if problems:
        print(f"{BAD} not every token can be kept: {', '.join(problems)}")
    elif read_only:
        print(f"{OK} every token is kept (read-only: {', '.join(read_only)})")
    else:
        print(f"{OK} every token location is writable")
    if verbose:
        found = useragent.system_tokens(str(context.root_prefix))
        for token in found:
            print(f"{OK} {useragent.KIND_NAMES[token.kind]} token from {token.source}")
