"""``anaconda-anon-usage``: show exactly what is sent, with or without conda."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__, config, tokens, useragent
from .tokens import new_token
from .useragent import KIND_NAMES, aau_user_agent


def root_prefix() -> str:
    """conda's base environment: where this tool is installed."""
    return os.environ.get("CONDA_ROOT") or sys.prefix


def current_prefix() -> str:
    """The active environment, else base."""
    return os.environ.get("CONDA_PREFIX") or root_prefix()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anaconda-anon-usage",
        description=(
            "Print the anonymous usage tokens that conda appends to its "
            "user-agent for the current environment. Turn them off with "
            "'conda config --set anaconda_anon_usage off' or DO_NOT_TRACK=1."
        ),
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "-p", "--prefix", help="environment to show (default: the active one)"
    )
    target.add_argument(
        "-n", "--name", help="environment to show, by name (needs conda)"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--detail", action="store_true", help="also show where each token came from"
    )
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument("--random", action="store_true", help="print a fresh token")
    output.add_argument(
        "--paths", action="store_true", help="print the files that are read"
    )
    parser.add_argument("-V", "--version", action="version", version=__version__)
    return parser


def report(
    prefix: str, decision: config.Decision, root: str | None = None
) -> dict[str, Any]:
    """Everything the tool shows, as data: the string sent and each token's source."""
    found = (
        useragent.collect_tokens(prefix, root or root_prefix())
        if decision.enabled
        else []
    )
    return {
        "user_agent": aau_user_agent(found),
        "enabled": decision.enabled,
        "decided_by": decision.source,
        "prefix": prefix,
        "tokens": [
            {
                "kind": token.kind,
                "name": KIND_NAMES[token.kind],
                "value": token.value,
                "source": token.source,
            }
            for token in found
        ],
    }


def render(data: dict[str, Any], *, detail: bool = False, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(data, indent=2)
    lines = [data["user_agent"]]
    if detail:
        state = "enabled" if data["enabled"] else "disabled"
        lines.append(f"# {state} (decided by: {data['decided_by']})")
        lines += [
            f"{t['kind']}/{t['value']}  {t['name']}: {t['source']}"
            for t in data["tokens"]
        ]
    return "\n".join(lines)


def read_paths(prefix: str, condarc_files: Sequence[str], root: str) -> list[str]:
    """Every file consulted: the configuration files that exist, the token
    files, the machine-identity files of the client token's host tie, then
    every place an administrator token may be (the search path)."""
    found = list(condarc_files)
    client = tokens.client_token_path()
    if client:
        found.append(client)
    found.append(tokens.environment_token_path(prefix))
    found += tokens.identity_files()
    for directory in useragent.system_token_directories(root):
        for base in useragent.SYSTEM_TOKEN_FILES.values():
            found += [
                os.path.join(directory, base),
                os.path.join(directory, "." + base),
            ]
    return found


class Target:
    """The environment shown, and on/off, as conda decides them (asked where
    conda is importable) or as the standard-library reader does."""

    def __init__(self, prefix: str | None, name: str | None) -> None:
        try:
            # conda's side (not type-checked: conda ships no hints); imported
            # only here, so the core never loads it
            conda_settings = importlib.import_module(".conda_settings", __package__)
            context = conda_settings.load_context(prefix, name)
        except ImportError:
            if name:
                raise TargetError(
                    "-n needs conda to find the environment; use -p PATH"
                ) from None
            self.prefix = os.path.abspath(prefix or current_prefix())
            self.root = root_prefix()
            self.condarc_files = config.condarc_files(
                root_prefix=self.root, target_prefix=self.prefix
            )
            self.decision = config.resolve(
                root_prefix=self.root, target_prefix=self.prefix
            )
            self.asked = "standard library"
            return
        except Exception as error:  # conda cannot read its configuration
            message = str(error).strip().splitlines()
            raise TargetError(
                f"conda: {message[0] if message else type(error).__name__}"
            ) from None
        state = conda_settings.state(context)
        self.prefix = os.path.abspath(state.prefix)
        self.root = state.root_prefix
        self.condarc_files = state.condarc_files
        self.decision = state.decision
        self.asked = "conda"


class TargetError(Exception):
    pass


def print_error(message: str, as_json: bool, prefix: str) -> None:
    """One line on stderr; with ``--json``, one JSON document on stdout
    instead (the tool and ``conda anon-usage`` alike)."""
    if as_json:
        print(json.dumps({"success": False, "error": message}, indent=2))
    else:
        print(f"{prefix}{message}", file=sys.stderr)


def _error(message: str, as_json: bool) -> int:
    print_error(message, as_json, "anaconda-anon-usage: ")
    return 1


def reader_gone() -> int:
    """stdout's reader went away (``| head -1``): no traceback now, nor at
    exit when Python flushes stdout; exit 1, as ``aau-stats`` does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        return reader_gone()


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.random:
        print(new_token())
        return 0
    try:
        target = Target(args.prefix, args.name)
    except TargetError as error:
        return _error(str(error), args.json)
    if args.paths:
        print("\n".join(read_paths(target.prefix, target.condarc_files, target.root)))
        return 0
    if (args.name or args.prefix) and not tokens.is_conda_environment(target.prefix):
        # as ``conda anon-usage`` says: a typo gets no plausible token string
        return _error(f"no conda environment at {target.prefix}", args.json)
    data = report(target.prefix, target.decision, target.root)
    data["reader"] = target.asked
    print(render(data, detail=args.detail, as_json=args.json))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
