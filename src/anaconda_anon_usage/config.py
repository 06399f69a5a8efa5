"""Is anonymous usage reporting enabled? A standard-library answer.

Where conda is importable the tool asks conda (``conda_settings``); this
module answers without conda, the way conda 23.7 to main decides:

* condarc files in conda's search path (its variables expanded as conda
  expands them, ``$CONDA_PREFIX`` being the target environment), later
  files overriding earlier ones; the first value marked ``#!final`` wins;
* then ``CONDA_ANACONDA_ANON_USAGE`` (a trailing ``!important`` is final);
  ``DO_NOT_TRACK`` takes its place as ``false`` when it is set (see
  ``do_not_track``);
* a winning value conda does not read as a boolean turns tokens off (conda
  refuses it, and the plugin then sends no tokens).

A file that may set the parameter in a form ``condarc`` cannot read for
certain, or that cannot be read at all, turns tokens off (fail closed).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from . import DO_NOT_TRACK, debug, do_not_track
from .condarc import PARAMETER, Setting, Uncertain, boolify, may_mention, read_setting

ENV_PREFIX = "CONDA_"
ENV_VARIABLE = "CONDA_ANACONDA_ANON_USAGE"
DEFAULT_SOURCE = "default"

CONDARC_FILENAMES = (".condarc", "condarc")
YAML_EXTENSIONS = (".yml", ".yaml")

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

# conda.base.constants.SEARCH_PATH, identical from 23.7 to main
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

_IDENTIFIER = r"(?a:[_a-z][_a-z0-9]*)"
_VARIABLE = re.compile(
    rf"\$(?P<named>{_IDENTIFIER})|\$\{{(?P<braced>{_IDENTIFIER})\}}"
    rf"|%(?P<padded>{_IDENTIFIER})%",
    re.IGNORECASE,
)


class Decision(NamedTuple):
    """Whether tokens are sent, and the source that decided it."""

    enabled: bool
    source: str


class _NoHome(Exception):
    pass


def parse_boolean(raw: str) -> bool | None:
    """A value as conda reads a boolean (its ``boolify``); None if it refuses it."""
    return boolify(raw)


def expand(entry: str, environ: Mapping[str, str], extra: Mapping[str, str]) -> str:
    """conda's ``custom_expandvars`` then ``Path.expanduser``: an unknown
    variable is left as it is; a ``~`` without a home raises ``_NoHome``."""

    def convert(match: re.Match[str]) -> str:
        name = match["named"] or match["braced"] or match["padded"]
        if name in extra:
            return extra[name]
        return environ.get(name, match.group())

    path = _VARIABLE.sub(convert, entry) if ("$" in entry or "%" in entry) else entry
    if path.startswith("~"):
        path = os.path.expanduser(path)
        if path.startswith("~"):
            raise _NoHome(path)
    return path


def _candidates(path: str) -> Iterator[str]:
    """The files conda reads for one search-path entry."""
    try:
        if os.path.isfile(path):
            name = os.path.basename(path)
            if (
                name in CONDARC_FILENAMES
                or os.path.splitext(name)[1] in YAML_EXTENSIONS
            ):
                yield path
        elif os.path.isdir(path):
            names = sorted(os.listdir(path))
            for name in names:
                child = os.path.join(path, name)
                if os.path.splitext(name)[1] in YAML_EXTENSIONS and os.path.isfile(
                    child
                ):
                    yield child
    except OSError as error:
        debug("cannot list %s: %s", path, error)


def search_path_files(
    environ: Mapping[str, str] | None = None,
    root_prefix: str | None = None,
    target_prefix: str | None = None,
) -> list[str]:
    """The condarc files conda reads, in order, each once (by its real path,
    as 23.7 does; newer conda drops only repeated spellings, same result
    unless one file is reached by two paths, which ``resolve`` checks)."""
    environ = os.environ if environ is None else environ
    root = environ.get("CONDA_ROOT", root_prefix or sys.prefix)
    target = target_prefix or environ.get("CONDA_PREFIX") or root
    extra = {"CONDA_ROOT": root, "CONDA_PREFIX": target}
    found: list[str] = []
    for entry in SEARCH_PATH:
        try:
            path = expand(entry, environ, extra)
        except _NoHome:
            found.append(entry)  # unreadable for certain: resolve turns it off
            continue
        found.extend(_candidates(path))
    return found


def condarc_files(
    environ: Mapping[str, str] | None = None,
    root_prefix: str | None = None,
    target_prefix: str | None = None,
) -> list[str]:
    """The condarc files that exist, each once, in the order conda reads them."""
    seen: set[str] = set()
    unique = []
    for path in search_path_files(environ, root_prefix, target_prefix):
        real = os.path.realpath(path)
        if real not in seen and not path.startswith("~"):
            seen.add(real)
            unique.append(path)
    return unique


def read_file_setting(path: str) -> Setting | None:
    """Our parameter in one condarc file; ``Uncertain`` if it cannot be known."""
    if path.startswith("~"):
        raise Uncertain("no home directory to find it in")
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise Uncertain(f"cannot read it: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if may_mention(data.decode("latin-1")):
            raise Uncertain("not UTF-8 text") from None
        return None
    return read_setting(text)


def environment_setting(environ: Mapping[str, str]) -> tuple[str, Setting] | None:
    """conda's environment-variable source: every ``CONDA_*`` name whose rest
    is the parameter in any case, the last one counting; DO_NOT_TRACK
    takes its place as false (as the plugin puts it in conda's context)."""
    if do_not_track(environ):
        return DO_NOT_TRACK, Setting(False, False)
    found = None
    for name, raw in environ.items():
        if (
            name.startswith(ENV_PREFIX)
            and name.replace(ENV_PREFIX, "", 1).lower() == PARAMETER
        ):
            value, *important = raw.split("!important")
            found = (name, Setting(boolify(value.strip()), bool(important)))
    return found


def _decide(
    sources: list[tuple[str, Setting | Uncertain | None]],
) -> Decision:
    winner: tuple[str, Setting] | None = None
    for source, setting in sources:
        if isinstance(setting, Uncertain):
            return Decision(False, f"{source} (cannot be read for certain: {setting})")
        if setting is None:
            continue
        winner = (source, setting)
        if setting.final:
            break
    if winner is None:
        return Decision(True, DEFAULT_SOURCE)
    source, setting = winner
    if setting.value is None:
        return Decision(False, f"{source} (not a boolean: conda refuses it)")
    return Decision(setting.value, source)


def resolve(
    environ: Mapping[str, str] | None = None,
    root_prefix: str | None = None,
    target_prefix: str | None = None,
) -> Decision:
    """Decide whether tokens are sent, and which source decided it."""
    environ = os.environ if environ is None else environ
    paths = search_path_files(environ, root_prefix, target_prefix)
    settings: dict[str, Setting | Uncertain | None] = {}
    for path in paths:
        if path not in settings:
            try:
                settings[path] = read_file_setting(path)
            except Uncertain as error:
                debug("%s: %s", path, error)
                settings[path] = error
    by_real_path: list[str] = []  # conda 23.7: each real file once, first place
    seen: set[str] = set()
    for path in paths:
        real = path if path.startswith("~") else os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            by_real_path.append(path)
    by_spelling = list(dict.fromkeys(paths))  # newer conda: each spelling once
    env = environment_setting(environ)
    tail = [env] if env else []
    decisions = {
        _decide([*((p, settings[p]) for p in order), *tail])
        for order in (by_real_path, by_spelling)
    }
    if len(decisions) == 1:
        return decisions.pop()
    if all(decision.enabled for decision in decisions):
        return min(decisions)
    off = next(decision for decision in decisions if not decision.enabled)
    return Decision(False, f"{off.source} (read twice through a link)")
