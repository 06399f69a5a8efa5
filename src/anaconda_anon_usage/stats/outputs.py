"""Output files that appear whole or not at all, and together.

A run writes its files into a fresh hidden generation directory inside the
output directory, then switches one relative symbolic link, ``OUT/.<group>``,
to it with a single ``os.replace``. ``OUT/<name>`` are relative links to
``.<group>/<name>``, made once. A reader therefore opens either the previous
set of files or the new set, never a file being written and never a mix of
two runs (``totals.db`` and ``weekly.csv`` always agree), even when the
writer is killed at any point. Leftovers of a killed run are deleted by the
next one. Needs symbolic links (POSIX; the counting side runs on servers).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator

TEMPORARY_LINK = re.compile(r"\.[0-9a-f]{8}\.tmp$")  # as _link names them


class OutputError(Exception):
    """An output directory that cannot be used; the message is one line."""


def prepare(directory: str) -> None:
    """Make sure ``directory`` is a writable directory, creating it (never
    its parents: a missing parent is more likely a typo than a wish)."""
    if os.path.isdir(directory):
        if not os.access(directory, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to {directory}: not writable")
        return
    if os.path.lexists(directory):
        raise OutputError(f"cannot write to {directory}: not a directory")
    parent = os.path.dirname(os.path.abspath(directory))
    if not os.path.isdir(parent):
        raise OutputError(
            f"cannot write to {directory}: its parent directory {parent} does not exist"
        )
    try:
        os.mkdir(directory)
    except OSError as error:
        raise OutputError(
            f"cannot create {directory}: {error.strerror or error}"
        ) from None


def _link(target: str, path: str) -> None:
    """Point the symbolic link ``path`` at ``target`` in one step."""
    temporary = f"{path}.{secrets.token_hex(4)}.tmp"
    os.symlink(target, temporary)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _sync(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _current(directory: str, group: str) -> str | None:
    pointer = os.path.join(directory, "." + group)
    return os.readlink(pointer) if os.path.islink(pointer) else None


def _clean(directory: str, group: str) -> None:
    """Delete generations of ``group`` that the pointer does not name
    (left by a killed run), and stray temporary links."""
    current = _current(directory, group)
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if name.startswith(f".{group}-") and name != current:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
        elif TEMPORARY_LINK.search(name) and os.path.islink(path):
            os.unlink(path)


def _adopt(directory: str, group: str, names: list[str]) -> None:
    """The layout before links (plain files): make them a generation of
    their own (hard links, nothing copied) so the switch to links changes
    nothing visible until the new set replaces them all at once."""
    plain = [
        name
        for name in names
        if os.path.isfile(os.path.join(directory, name))
        and not os.path.islink(os.path.join(directory, name))
    ]
    if not plain:
        return
    adopted = tempfile.mkdtemp(prefix=f".{group}-", dir=directory)
    os.chmod(adopted, 0o755)
    for name in plain:
        os.link(os.path.join(directory, name), os.path.join(adopted, name))
    _link(os.path.basename(adopted), os.path.join(directory, "." + group))


def _switch(directory: str, group: str, staging: str) -> None:
    """Links first, pointer last: ``OUT/<name>`` resolve through the pointer,
    so a new name's link dangles (the file is absent) until the pointer
    moves, and then the whole set changes at once."""
    pointer_name = "." + group
    names = sorted(os.listdir(staging))
    targets = {name: os.path.join(pointer_name, name) for name in names}
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            raise OutputError(f"cannot write {path}: a directory is in the way")
    if _current(directory, group) is None:
        _adopt(directory, group, names)
    previous = _current(directory, group)
    for name, target in targets.items():
        path = os.path.join(directory, name)
        if not (os.path.islink(path) and os.readlink(path) == target):
            _link(target, path)
    _link(os.path.basename(staging), os.path.join(directory, pointer_name))
    if previous is not None and previous != os.path.basename(staging):
        old = os.path.join(directory, previous)
        for name in os.listdir(old) if os.path.isdir(old) else ():
            path = os.path.join(directory, name)
            ours = os.path.join(pointer_name, name)
            if (
                name not in targets
                and os.path.islink(path)
                and os.readlink(path) == ours
            ):
                os.unlink(path)
        shutil.rmtree(old, ignore_errors=True)
    _sync(directory)


@contextlib.contextmanager
def generation(directory: str, group: str) -> Iterator[str]:
    """Yield an empty directory to write a set of files into; when the block
    ends without an error they replace the previous set of ``group`` in
    ``directory`` in one step. On an error nothing visible changes. Two
    writers of one group in one directory take turns (a lock file)."""
    prepare(directory)
    with _locked(directory, group):
        yield from _generation(directory, group)


@contextlib.contextmanager
def _locked(directory: str, group: str) -> Iterator[None]:
    try:
        descriptor = os.open(
            os.path.join(directory, f".{group}.lock"), os.O_RDWR | os.O_CREAT, 0o644
        )
    except OSError as error:
        raise OutputError(
            f"cannot write to {directory}: {error.strerror or error}"
        ) from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            yield
            return
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _generation(directory: str, group: str) -> Iterator[str]:
    try:
        _clean(directory, group)
        staging = tempfile.mkdtemp(prefix=f".{group}-", dir=directory)
        os.chmod(staging, 0o755)  # as readable as the files in it
    except OSError as error:
        raise OutputError(
            f"cannot write to {directory}: {error.strerror or error}"
        ) from None
    try:
        yield staging
        for name in os.listdir(staging):
            _sync(os.path.join(staging, name))
        _sync(staging)
        _switch(directory, group, staging)
    except BaseException:
        if _current(directory, group) != os.path.basename(staging):
            shutil.rmtree(staging, ignore_errors=True)
        raise
