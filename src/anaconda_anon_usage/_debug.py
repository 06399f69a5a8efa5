"""Diagnostics that go to stderr only when ANACONDA_ANON_USAGE_DEBUG is set.

The plugin runs inside every conda command, so by default it says nothing at
all; stdout is never touched (``conda --json`` must stay valid JSON).
"""

from __future__ import annotations

import os
import sys

DEBUG_VARIABLE = "ANACONDA_ANON_USAGE_DEBUG"


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0", "false", "no", "off")


def debug(message: str, *args: object) -> None:
    """Write one line to stderr when debugging is on; never raises."""
    if not debug_enabled():
        return
    try:
        text = message % args if args else message
        sys.stderr.write(f"anaconda-anon-usage: {text}\n")
    except Exception:  # a broken stderr must not break conda
        pass
