"""Is anonymous usage reporting enabled? A standard-library answer.

Inside conda the conda adapter asks conda itself, which knows every condarc
rule. This module answers the same question without conda (for the
``anaconda-anon-usage`` tool), following conda's rules for this one boolean:

* condarc files in conda's search path, later files overriding earlier ones;
* then ``CONDA_ANACONDA_ANON_USAGE``;
* then ``DO_NOT_TRACK`` (1/true/yes/on), which can only turn reporting off;
* a ``#!final`` mark on the key stops every later source from changing it.

A value that is not a recognised boolean is ignored (and named in the debug
output), as if that source did not set the key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

from . import debug

PARAMETER = "anaconda_anon_usage"
ENV_VARIABLE = "CONDA_ANACONDA_ANON_USAGE"
DO_NOT_TRACK = "DO_NOT_TRACK"
DEFAULT_SOURCE = "default"

TRUE_WORDS = frozenset({"true", "yes", "on", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "n", "0"})

if sys.platform == "win32":  # pragma: no cover
    _SYSTEM_SEARCH_PATH: tuple[str, ...] = (
        "C:/ProgramData/conda/.condarc",
        "C:/ProgramData/conda/condarc",
        "C:/ProgramData/conda/condarc.d",
    )
else:
    _SYSTEM_SEARCH_PATH = (
        "/etc/conda/.condarc",
        "/etc/conda/condarc",
        "/etc/conda/condarc.d/",
        "/var/lib/conda/.condarc",
        "/var/lib/conda/condarc",
        "/var/lib/conda/condarc.d/",
    )

SEARCH_PATH: tuple[str, ...] = (
    *_SYSTEM_SEARCH_PATH,
    "$CONDA_ROOT/.condarc",
    "$CONDA_ROOT/condarc",
    "$CONDA_ROOT/condarc.d/",
    "$XDG_CONFIG_HOME/conda/.condarc",
    "$XDG_CONFIG_HOME/conda/condarc",
    "$XDG_CONFIG_HOME/conda/condarc.d/",
    "~/.config/conda/.condarc",
    "~/.config/conda/condarc",
    "~/.config/conda/condarc.d/",
    "~/.conda/.condarc",
    "~/.conda/condarc",
    "~/.conda/condarc.d/",
    "~/.condarc",
    "$CONDA_PREFIX/.condarc",
    "$CONDA_PREFIX/condarc",
    "$CONDA_PREFIX/condarc.d/",
    "$CONDARC",
)


class Decision(NamedTuple):
    """Whether tokens are sent, and the source that decided it."""

    enabled: bool
    source: str


def parse_boolean(raw: str) -> bool | None:
    """conda's spelling of booleans, including YAML's on/off; None if not one."""
    word = raw.strip().strip("'\"").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def find_setting(text: str) -> tuple[str, bool] | None:
    """The raw value of our top-level key in condarc text, and its #!final mark.

    Only the block form ``anaconda_anon_usage: value`` at column 0 is read,
    which is what ``conda config --set`` writes.
    """
    found: tuple[str, bool] | None = None
    for line in text.splitlines():
        if not line.startswith(PARAMETER):
            continue
        key, colon, rest = line.partition(":")
        if not colon or key.rstrip() != PARAMETER:
            continue
        value, _, comment = rest.partition("#")
        found = (value.strip(), comment.strip().startswith("!final"))
    return found


def _expand(entry: str, environ: Mapping[str, str], root_prefix: str) -> str | None:
    if entry.startswith("$CONDARC"):
        return environ.get("CONDARC") or None
    variables = {
        "$CONDA_ROOT": environ.get("CONDA_ROOT") or root_prefix,
        "$XDG_CONFIG_HOME": environ.get("XDG_CONFIG_HOME", ""),
        "$CONDA_PREFIX": environ.get("CONDA_PREFIX", ""),
    }
    for name, value in variables.items():
        if entry.startswith(name):
            return value + entry[len(name) :] if value else None
    if entry.startswith("~"):
        home = environ.get("USERPROFILE" if sys.platform == "win32" else "HOME")
        return home + entry[1:] if home else None
    return entry


def condarc_files(
    environ: Mapping[str, str] | None = None, root_prefix: str | None = None
) -> Iterator[str]:
    """Existing condarc files in the order conda reads them (each once)."""
    environ = os.environ if environ is None else environ
    root = root_prefix or sys.prefix
    seen: set[str] = set()
    for entry in SEARCH_PATH:
        path = _expand(entry, environ, root)
        if not path:
            continue
        if os.path.isdir(path):
            try:
                names = os.listdir(path)
            except OSError as error:
                debug("cannot list %s: %s", path, error)
                continue
            candidates: Iterable[str] = sorted(
                os.path.join(path, name)
                for name in names
                if name.endswith((".yml", ".yaml"))
            )
        elif path.endswith(("/", os.sep)):
            continue
        else:
            candidates = (path,)
        for candidate in candidates:
            real = os.path.realpath(candidate)
            if real not in seen and os.path.isfile(candidate):
                seen.add(real)
                yield candidate


def do_not_track(environ: Mapping[str, str]) -> bool:
    return parse_boolean(environ.get(DO_NOT_TRACK, "")) is True


def resolve(
    environ: Mapping[str, str] | None = None, root_prefix: str | None = None
) -> Decision:
    """Decide whether tokens are sent, and which source decided it."""
    environ = os.environ if environ is None else environ
    decision = Decision(True, DEFAULT_SOURCE)
    for path in condarc_files(environ, root_prefix):
        try:
            with open(path, encoding="utf-8", errors="replace") as stream:
                setting = find_setting(stream.read())
        except OSError as error:
            debug("cannot read %s: %s", path, error)
            continue
        if setting is None:
            continue
        raw, final = setting
        value = parse_boolean(raw)
        if value is None:
            debug("ignoring %s: %r in %s is not a boolean", PARAMETER, raw, path)
            continue
        decision = Decision(value, path)
        if final:
            return decision
    if ENV_VARIABLE in environ:
        value = parse_boolean(environ[ENV_VARIABLE])
        if value is None:
            debug("ignoring %s=%r: not a boolean", ENV_VARIABLE, environ[ENV_VARIABLE])
        else:
            decision = Decision(value, ENV_VARIABLE)
    if do_not_track(environ):
        decision = Decision(False, DO_NOT_TRACK)
    return decision
