"""``conda anon-usage`` and the ``conda doctor`` health check.

Presentation only: conda's view of the configuration comes from the conda
adapter, the tokens from the core, the rendering from the CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from . import conda_adapter, hostid, tokens, useragent
from .cli import render, report
from .config import Decision

SUMMARY = "Show, reset, or turn off the anonymous usage tokens conda sends."


def configure_parser(parser: argparse.ArgumentParser) -> None:
    target = argparse.ArgumentParser(add_help=False)
    where = target.add_mutually_exclusive_group()
    where.add_argument("-n", "--name", help="environment name")
    where.add_argument("-p", "--prefix", help="environment path")
    parser.description = SUMMARY
    for argument in target._actions:  # -n/-p on the main command as well
        parser._add_action(argument)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--detail", action="store_true", help="show token sources")
    output.add_argument("--json", action="store_true", help="print JSON")
    actions = parser.add_subparsers(dest="anon_usage_action", metavar="ACTION")
    reset = actions.add_parser(
        "reset", parents=[target], help="replace tokens with fresh ones"
    )
    reset.add_argument("--client", action="store_true", help="the client token")
    reset.add_argument(
        "--environment", action="store_true", help="the environment's token"
    )
    actions.add_parser("off", help="stop sending tokens (user condarc)")
    actions.add_parser("on", help="send tokens again (user condarc)")


def _context() -> Any:
    from conda.base.context import context

    return context


def _missing_target(args: argparse.Namespace, prefix: str) -> bool:
    """An environment named with -n/-p that does not exist is an error."""
    named = getattr(args, "name", None) or getattr(args, "prefix", None)
    if named and not tokens.is_conda_environment(prefix):
        print(f"conda anon-usage: no conda environment at {prefix}", file=sys.stderr)
        return True
    return False


def show(args: argparse.Namespace) -> int:
    is_enabled, source, prefix, root = conda_adapter.state(_context())
    if _missing_target(args, prefix):
        return 1
    data = report(prefix, Decision(is_enabled, source), root)
    print(render(data, detail=args.detail, as_json=args.json))
    return 0


def reset(args: argparse.Namespace) -> int:
    is_enabled, _, prefix, _ = conda_adapter.state(_context())
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
    for name, path in targets:
        if path is None:
            print(f"{name} token: no place for it here; nothing to reset")
            continue
        try:
            if is_enabled:
                annotate = (
                    hostid.host_annotation(hostid.machine_identity())
                    if name == "client"
                    else None
                )
                value = tokens.write_new(path, annotate=annotate)
                print(f"{name} token replaced: {path} (now {value})")
            elif os.path.lexists(path):
                os.unlink(path)
                print(f"{name} token removed: {path} (tokens are off)")
            else:
                print(f"{name} token: none stored (tokens are off)")
        except OSError as error:
            print(f"{name} token: cannot reset {path}: {error.strerror or error}")
            status = 1
    return status


def switch(value: bool) -> int:
    path = conda_adapter.set_in_user_condarc(value)
    word = "on" if value else "off"
    print(f"anaconda_anon_usage: {word} (written to {path})")
    is_enabled, source, _, _ = conda_adapter.state(_context())
    if is_enabled != value:
        effective = "on" if is_enabled else "off"
        print(f"note: {source} decides, so tokens stay {effective}")
    elif not value:
        print("conda now sends only the anaconda-anon-usage version.")
    return 0


def run(args: argparse.Namespace | list[str]) -> int:
    if isinstance(args, list):  # a conda that hands over raw arguments
        parser = argparse.ArgumentParser(prog="conda anon-usage")
        configure_parser(parser)
        args = parser.parse_args(args)
    action = getattr(args, "anon_usage_action", None)
    if action == "reset":
        return reset(args)
    if action in ("on", "off"):
        return switch(action == "on")
    return show(args)


# --- conda doctor ---------------------------------------------------------------

OK, BAD = "✅", "❌"


def _writable(path: str) -> bool:
    """Could we create ``path``? Asked of the nearest existing directory."""
    directory = os.path.dirname(path)
    while directory and not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return os.access(directory or ".", os.W_OK | os.X_OK)


def _file_line(name: str, path: str | None) -> tuple[bool, str]:
    if path is None:
        return False, f"{name} token: no home directory, so none can be kept"
    current = tokens.read_token_file(path)
    if current.status == tokens.Status.VALID:
        return True, f"{name} token: {path} is valid"
    if current.status == tokens.Status.MISSING:
        return True, f"{name} token: {path} not yet created (made on first use)"
    if current.status == tokens.Status.INVALID:
        return True, f"{name} token: {path} is malformed (replaced on next use)"
    return False, f"{name} token: {path} cannot be used: {current.reason}"


def health_check(prefix: str, verbose: bool) -> None:
    context = _context()
    is_enabled = conda_adapter.enabled(context)
    source = conda_adapter.deciding_source(context)
    print("Anonymous usage tokens (anaconda-anon-usage):")
    state = "enabled" if is_enabled else "disabled"
    print(f"{OK} tokens are {state} (decided by: {source})")
    if not is_enabled:
        return
    checks = [
        ("client", tokens.client_token_path()),
        ("environment", tokens.environment_token_path(prefix)),
    ]
    unwritable = []
    for name, path in checks:
        healthy, line = _file_line(name, path)
        print(f"{OK if healthy else BAD} {line}")
        if path is not None and not _writable(path):
            unwritable.append(os.path.dirname(path))
    if unwritable:
        print(
            f"{BAD} cannot write: {', '.join(unwritable)} (those tokens are left out)"
        )
    else:
        print(f"{OK} every token location is writable")
    if verbose:
        found = useragent.system_tokens(str(context.root_prefix))
        for token in found:
            print(f"{OK} {useragent.KIND_NAMES[token.kind]} token from {token.source}")
