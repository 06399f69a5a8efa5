"""The command line of ``conda anon-usage``.

conda hands the subcommand its arguments as typed (the plugin gives conda
no parser: conda would build it on every command it runs), and they are
parsed here: one flat parser, ``-n``/``-p`` before or after the action.
"""

from __future__ import annotations

import argparse

from . import SUBCOMMAND_SUMMARY

ACTIONS = ("reset", "off", "on")
ACTION_HELP = (
    "reset: replace tokens with fresh ones (--client, --environment: only "
    "that one); off: stop sending tokens (user condarc); on: send them again"
)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # -n/-p (before or after the action) then make conda's context target
    # that environment, its condarc included (controls.parse).
    parser.description = SUBCOMMAND_SUMMARY
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-n", "--name", help="environment name")
    where.add_argument("-p", "--prefix", help="environment path")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--detail", action="store_true", help="show token sources")
    output.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "anon_usage_action",
        nargs="?",
        choices=ACTIONS,
        metavar="ACTION",
        help=ACTION_HELP,
    )
    parser.add_argument("--client", action="store_true", help="reset: the client")
    parser.add_argument(
        "--environment", action="store_true", help="reset: the environment"
    )
