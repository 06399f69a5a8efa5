"""What is appended to conda's user-agent: which tokens, from where, in
what form (the redacted form people see is in ``redaction``)."""

# Loaded by every conda command that sends a request: docstrings are short
# (they are loaded with the code), comments cost nothing, and loops stand
# where comprehensions would each add a code object to load.
#
# Client and environment tokens are read from (or created in) their files;
# the session token lives only in this process's memory; administrator tokens
# (installer, organisation, machine) come from variables and files that an
# administrator deploys (their values are read in ``admintokens``, loaded only
# when there are some). A token that cannot be had is left out, never replaced
# by something derived from the machine. Only what a command that sends runs
# once its token files exist is here (and the few lines that read them for
# display): ``pending`` (``conda create``) is loaded only when used.

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from . import __version__, debug, tokens
from .tokens import new_token

PRODUCT = "aau"
REDACTED = "."
KIND_ORDER = ("c", "s", "e", "i", "o", "m")
KIND_NAMES = {
    "c": "client",
    "s": "session",
    "e": "environment",
    "i": "installer",
    "o": "organization",
    "m": "machine",
}


class Token:
    """One token to send: its kind letter, its value, and where it came from."""

    __slots__ = ("kind", "source", "value")

    def __init__(self, kind: str, value: str, source: str) -> None:
        self.kind = kind
        self.value = value
        self.source = source

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and (
            self.kind,
            self.value,
            self.source,
        ) == (other.kind, other.value, other.source)

    def __hash__(self) -> int:
        return hash((self.kind, self.value, self.source))

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.value!r}, {self.source!r})"


# Made at import, which Python serialises: conda fetches repodata from several
# threads at once, and a lazily made token could differ between them.
_session_token = new_token()


def session_token() -> Token:
    return Token("s", _session_token, "memory (new in every process)")


def client_token(create: bool = True) -> Token | None:
    """``create=False`` only reads (for display): nothing is written."""
    path = tokens.client_token_path()
    if path is None:
        debug("no usable home directory: client token left out")
        return None
    if not create:
        return _peek("c", path)
    annotate = tokens.host_annotation(tokens.machine_identity())
    value = tokens.load_or_create(path, make_parent=True, annotate=annotate)
    return Token("c", value, path) if value else None


def _peek(kind: str, path: str) -> Token | None:
    # The token a file holds, or a placeholder for one that would be made.
    current = tokens.read_token_file(path)
    if current.status == tokens.UNUSABLE:
        return None
    return Token(kind, current.token or REDACTED, path)


def environment_token(
    prefix: str, pending: bool = False, create: bool = True
) -> Token | None:
    """The token of the environment at ``prefix``, if it is one; else, if
    ``pending`` (the command creates it), the one ``pending`` keeps for it."""
    # A prefix that is not a conda environment (a stale CONDA_PREFIX, a
    # plain directory) gets none.
    prefix = _absolute(prefix)
    path = tokens.environment_token_path(prefix)
    if tokens.is_conda_environment(prefix):
        if not create:
            return _peek("e", path)
        value = tokens.load_or_create(path, make_parent=True)
        if value and pending:  # a creating command: ``pending`` settles it after
            from .pending import note_sent

            note_sent(prefix, value)
        return Token("e", value, path) if value else None
    if not pending:
        debug("%s is not a conda environment: no environment token", prefix)
        return None
    from .pending import pending_token

    return Token("e", *pending_token(prefix, path))


# --- administrator tokens ---------------------------------------------------

SYSTEM_TOKEN_FILES = {"i": "installer_token", "o": "org_token", "m": "machine_token"}
SYSTEM_TOKEN_VARIABLES = {
    "i": "ANACONDA_ANON_USAGE_INSTALLER_TOKEN",
    "o": "ANACONDA_ANON_USAGE_ORG_TOKEN",
    "m": "ANACONDA_ANON_USAGE_MACHINE_TOKEN",
}
# file name (also with a leading dot) -> kind
_SYSTEM_FILE_KINDS = {
    "installer_token": "i",
    ".installer_token": "i",
    "org_token": "o",
    ".org_token": "o",
    "machine_token": "m",
    ".machine_token": "m",
}


def system_token_directories(root_prefix: str) -> list[str]:
    """Where administrators may put token files, in the order they are read."""
    environ = os.environ
    candidates = ["/etc/conda", "/var/lib/conda", root_prefix]
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg:
        candidates.append(os.path.join(xdg, "conda"))
    home = tokens.home_directory()
    if home:
        candidates.append(os.path.join(home, ".config", "conda"))
        candidates.append(os.path.join(home, ".conda"))
    active = environ.get("CONDA_PREFIX")
    if active:  # the base (root_prefix) when active is dropped as a repeat
        candidates.append(active)
    seen = set()
    ordered = []
    for directory in candidates:
        key = _absolute(directory)
        if key not in seen:
            seen.add(key)
            ordered.append(directory)
    return ordered


def _absolute(path: str) -> str:
    # os.path.abspath(path), without its cost (~4 us a call) for the usual
    # POSIX path that it would return unchanged.
    if (
        os.sep == "/"
        and path.startswith("/")
        and not path.endswith(("/", "/.", "/.."))
        and "//" not in path
        and "/./" not in path
        and "/../" not in path
    ):
        return path
    return os.path.abspath(path)


def system_tokens(root_prefix: str) -> list[Token]:
    """Administrator tokens: each variable first, then files in path order;
    every distinct value once; invalid values dropped (and named in debug)."""
    # Most machines have none: one listing per directory finds the files,
    # and only then are values read and checked. Most of the directories do
    # not exist: os.access tells so without the exception a failed listing
    # raises (~20 us less on the first call in a process).
    found: list[tuple[str, str, bool]] = []  # (kind, variable or path, is_file)
    for kind, variable in SYSTEM_TOKEN_VARIABLES.items():
        if variable in os.environ:
            found.append((kind, variable, False))
    for directory in system_token_directories(root_prefix):
        if not os.access(directory, os.F_OK):
            continue
        try:
            names = _SYSTEM_FILE_KINDS.keys() & os.listdir(directory)
        except OSError:
            continue
        for name in sorted(names):
            found.append(
                (_SYSTEM_FILE_KINDS[name], os.path.join(directory, name), True)
            )
    if not found:
        return []
    from . import admintokens

    kept = []
    for kind, value, source in admintokens.read_values(found):
        kept.append(Token(kind, value, source))
    kept.sort(key=lambda token: KIND_ORDER.index(token.kind))
    return kept


def collect_tokens(
    prefix: str,
    root_prefix: str | None = None,
    *,
    pending: bool = False,
    create: bool = True,
) -> list[Token]:
    """All tokens for a command targeting ``prefix``, in the order they are sent.

    ``root_prefix``: conda's base (default: this Python's); ``pending``: the
    command creates ``prefix``; ``create=False`` writes nothing (for display:
    a token not yet made shows as ``.``).
    """
    sent = []
    for token in (
        client_token(create),
        session_token(),
        environment_token(prefix, pending, create),
    ):
        if token is not None:
            sent.append(token)
    return sent + system_tokens(root_prefix or sys.prefix)


def aau_user_agent(sent: Iterable[Token] = ()) -> str:
    """``aau/<version>`` followed by ``kind/value`` for each token, in kind order."""
    sent = list(sent)
    parts = [f"{PRODUCT}/{__version__}"]
    for kind in KIND_ORDER:
        for token in sent:
            if token.kind == kind:
                parts.append(f"{kind}/{token.value}")
    return " ".join(parts)
