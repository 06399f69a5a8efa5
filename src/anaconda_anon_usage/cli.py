"""``anaconda-anon-usage``: show exactly what is sent, with or without conda."""

from __future__ import annotations

import argparse
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
    parser.add_argument(
        "-p", "--prefix", help="environment to show (default: the active one)"
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


def read_paths(prefix: str) -> list[str]:
    """Every file consulted: configuration files that exist, the token files,
    then every place an administrator token may be (the search path)."""
    found = list(config.condarc_files(root_prefix=root_prefix()))
    client = tokens.client_token_path()
    if client:
        found.append(client)
    found.append(tokens.environment_token_path(prefix))
    for directory in useragent.system_token_directories(root_prefix()):
        for base in useragent.SYSTEM_TOKEN_FILES.values():
            found += [
                os.path.join(directory, base),
                os.path.join(directory, "." + base),
            ]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.random:
        print(new_token())
        return 0
    prefix = os.path.abspath(args.prefix or current_prefix())
    if args.paths:
        print("\n".join(read_paths(prefix)))
        return 0
    decision = config.resolve(root_prefix=root_prefix())
    print(render(report(prefix, decision), detail=args.detail, as_json=args.json))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
