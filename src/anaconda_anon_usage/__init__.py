"""Anonymous usage tokens for conda's user-agent.

The package is loaded inside every conda process, so its modules are few and
import nothing beyond the standard library. ``debug`` lives here because
every module needs it and each extra module costs ~0.1 ms to import; so
does ``do_not_track``, which conda asks on every command and the tool too.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__version__ = "0.1.0"

# ``conda anon-usage``: in conda's command list (plugin) and its own help
# (subcommand_args)
SUBCOMMAND_SUMMARY = "Show, reset, or turn off the anonymous usage tokens conda sends."

DEBUG_VARIABLE = "ANACONDA_ANON_USAGE_DEBUG"
# values of DO_NOT_TRACK and of the debug variable that ask for nothing (any
# other value does), compared stripped and in lower case
DO_NOT_TRACK_NO = frozenset({"", "0", "false", "no", "off", "n"})


def debug_enabled() -> bool:
    """Read as ``DO_NOT_TRACK`` is: 0/false/no/off/n in any case mean no."""
    value = os.environ.get(DEBUG_VARIABLE, "")
    return bool(value) and value.strip().lower() not in DO_NOT_TRACK_NO


def debug(message: str, *args: object) -> None:
    """One line on stderr when ANACONDA_ANON_USAGE_DEBUG is set; otherwise
    nothing, ever (stdout is never touched: ``conda --json`` stays valid)."""
    if not debug_enabled():
        return
    try:
        text = message % args if args else message
        sys.stderr.write(f"anaconda-anon-usage: {text}\n")
    except Exception:  # a broken stderr must not break conda
        pass


DO_NOT_TRACK = "DO_NOT_TRACK"


def do_not_track(environ: Mapping[str, str]) -> bool:
    """``DO_NOT_TRACK`` asks for no tracking: set to anything but an empty
    value, 0, false, no, off or n (any case, spaces around ignored)."""
    return environ.get(DO_NOT_TRACK, "").strip().lower() not in DO_NOT_TRACK_NO
