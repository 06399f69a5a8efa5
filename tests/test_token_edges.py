"""Issue 8, section 4: nothing waits, nothing is lost.

A held lock or a FIFO never makes us wait; a file left by the previous
plugin keeps its token; a crash-damaged regular file is repaired; a
directory or a symlink's target is never written.
"""

from __future__ import annotations

import errno
import fcntl
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import read_only_bind

from anaconda_anon_usage import tokens, useragent
from anaconda_anon_usage.tokens import (
    UNUSABLE,
    is_valid_token,
    load_or_create,
    new_token,
    read_token_file,
)

HERE = tokens.host_annotation("linux:this-machine")


def load_in_subprocess(path: Path, timeout: float = 15) -> str:
    """The token a fresh process gets; fails if that process has to wait."""
    code = (
        "import sys; from anaconda_anon_usage.tokens import load_or_create;"
        "print(load_or_create(sys.argv[1]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return result.stdout.strip()


# --- nothing waits ------------------------------------------------------------


@pytest.mark.parametrize("lock", ["directory", "file"])
def test_a_held_lock_does_not_make_renewal_wait(tmp_path: Path, lock: str):
    directory = tmp_path / ".conda"
    directory.mkdir()
    path = directory / "aau_token"
    path.write_text("not a token\n")
    held = os.open(directory if lock == "directory" else path, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # held for as long as the test runs
        token = load_in_subprocess(path)
    finally:
        os.close(held)
    assert is_valid_token(token)
    assert read_token_file(str(path)).token == token


def test_renewal_works_where_flock_fails(tmp_path: Path, monkeypatch):
    """NFS: flock on a read-only descriptor fails with EBADF or ENOLCK."""

    def no_flock(fd: int, operation: int) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    path = tmp_path / "aau_token"
    path.write_text("corrupt\n")
    token = load_or_create(str(path))
    assert token and read_token_file(str(path)).token == token


def test_a_fifo_at_our_path_is_left_alone_without_waiting(tmp_path: Path):
    path = tmp_path / "aau_token"
    os.mkfifo(path)
    assert load_in_subprocess(path) == "None"
    assert read_token_file(str(path)).status == UNUSABLE
    assert path.is_fifo()


def test_a_fifo_as_administrator_token_is_dropped_without_waiting(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "org_token")
    (root / "machine_token").write_text("m-1\n")
    code = (
        "import sys; from anaconda_anon_usage import useragent;"
        "print([t.value for t in useragent.system_tokens(sys.argv[1])])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root)],
        capture_output=True,
        text=True,
        timeout=15,
        check=True,
    ).stdout
    assert out.strip() == "['m-1']"


# --- concurrent renewals agree, without locks ---------------------------------


def _renew(path: str, barrier, queue) -> None:  # type: ignore[no-untyped-def]
    barrier.wait()
    queue.put(load_or_create(path, annotate=HERE))


def _race(path: Path, processes: int = 64) -> list[str | None]:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    queue = context.Queue()
    workers = [
        context.Process(target=_renew, args=(str(path), barrier, queue))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return results


@pytest.mark.parametrize(
    "content",
    [
        b"\0" * 64,  # a crash after a non-atomic write
        b"garbage\n",
        f"{'A' * 22}\nhost {'0' * 32}\n".encode(),  # tied to another machine
    ],
    ids=["nul", "garbage", "other-machine"],
)
def test_64_concurrent_renewals_agree_on_one_token(tmp_path: Path, content: bytes):
    (tmp_path / "d").mkdir()
    path = tmp_path / "d" / "aau_token"
    path.write_bytes(content)
    results = _race(path)
    assert None not in results
    assert len(set(results)) == 1
    stored = read_token_file(str(path))
    assert stored.token == results[0] != "A" * 22
    assert stored.annotations == HERE(results[0])
    assert sorted(p.name for p in path.parent.iterdir()) == ["aau_token"]


def test_64_concurrent_upgrades_of_a_legacy_file_keep_its_token(tmp_path: Path):
    token = new_token()
    path = tmp_path / "aau_token"
    path.write_text(f"{token} 5f3a9c0e7d1b2a46\n")
    assert set(_race(path)) == {token}
    assert read_token_file(str(path)).annotations == HERE(token)


# --- continuity for people upgrading ------------------------------------------


def test_a_07_file_token_then_host_keeps_its_token(tmp_path: Path):
    token = new_token()
    path = tmp_path / "aau_token"
    path.write_text(f"{token} bd2Hkd8-LxP3m0cWqAbF9g\n")
    assert load_or_create(str(path), annotate=HERE) == token
    assert path.read_text() == f"{token}\nhost {HERE(token)['host']}\n"
    assert load_or_create(str(path), annotate=HERE) == token


@pytest.mark.parametrize(
    "first_line",
    ["{t} two words", "{t}x host", "short host"],
)
def test_a_first_line_that_is_not_token_and_host_is_renewed(
    tmp_path: Path, first_line: str
):
    token = new_token()
    path = tmp_path / "aau_token"
    path.write_text(first_line.format(t=token) + "\n")
    renewed = load_or_create(str(path), annotate=HERE)
    assert renewed and renewed != token


def test_the_08_host_side_file_does_not_cost_the_token(home: Path, monkeypatch):
    monkeypatch.setattr(tokens, "machine_identity", lambda: "linux:this-machine")
    conda_dir = home / ".conda"
    conda_dir.mkdir()
    token = new_token()
    (conda_dir / "aau_token").write_text(token + "\n")
    (conda_dir / "aau_token_host").write_text("0123456789abcdef\n")
    client = useragent.client_token()
    assert client is not None and client.value == token
    assert (conda_dir / "aau_token_host").read_text() == "0123456789abcdef\n"
    assert useragent.client_token().value == token  # type: ignore[union-attr]


@pytest.mark.parametrize("legacy", [False, True], ids=["08-plain", "07-host"])
def test_a_valid_token_in_a_read_only_home_is_still_sent(
    home: Path, monkeypatch, legacy: bool
):
    monkeypatch.setattr(tokens, "machine_identity", lambda: "linux:this-machine")
    conda_dir = home / ".conda"
    conda_dir.mkdir()
    token = new_token()
    content = f"{token} oldhostfield\n" if legacy else f"{token}\n"
    (conda_dir / "aau_token").write_text(content)
    with read_only_bind(conda_dir):
        client = useragent.client_token()
    assert client is not None and client.value == token
    assert (conda_dir / "aau_token").read_text() == content


def test_a_token_of_another_machine_in_a_read_only_home_is_not_sent(
    home: Path, monkeypatch
):
    monkeypatch.setattr(tokens, "machine_identity", lambda: "linux:this-machine")
    conda_dir = home / ".conda"
    conda_dir.mkdir()
    token = new_token()
    (conda_dir / "aau_token").write_text(f"{token}\nhost {'0' * 32}\n")
    with read_only_bind(conda_dir):
        assert useragent.client_token() is None


# --- a crash-damaged file is ours to repair -----------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"\0" * 22,
        b"\0" * 4096,
        b"\xff\xfe" + b"a" * 20,
        bytes(range(256)),
        b"",
    ],
    ids=["nul-22", "nul-4k", "bom-junk", "binary", "empty"],
)
def test_a_damaged_regular_file_gets_a_fresh_token(tmp_path: Path, content: bytes):
    path = tmp_path / "aau_token"
    path.write_bytes(content)
    token = load_or_create(str(path))
    assert token and is_valid_token(token)
    assert path.read_text() == token + "\n"


def test_a_token_followed_by_nul_padding_is_kept(tmp_path: Path):
    token = new_token()
    path = tmp_path / "aau_token"
    path.write_bytes(token.encode() + b"\n" + b"\0" * 100)
    assert load_or_create(str(path)) == token


def test_a_directory_is_never_touched(tmp_path: Path):
    path = tmp_path / "aau_token"
    path.mkdir()
    (path / "inside").write_text("x")
    assert load_or_create(str(path), annotate=HERE) is None
    assert [p.name for p in path.iterdir()] == ["inside"]


@pytest.mark.parametrize(
    "target_content", [b"garbage\n", b"\0" * 30], ids=["text", "nul"]
)
def test_nothing_is_written_through_a_symlink(tmp_path: Path, target_content: bytes):
    target = tmp_path / "elsewhere"
    target.write_bytes(target_content)
    path = tmp_path / "aau_token"
    path.symlink_to(target)
    token = load_or_create(str(path), annotate=HERE)
    assert token and is_valid_token(token)
    assert target.read_bytes() == target_content
    assert not path.is_symlink() and read_token_file(str(path)).token == token


def test_a_dangling_symlink_is_replaced_not_followed(tmp_path: Path):
    target = tmp_path / "missing-target"
    path = tmp_path / "aau_token"
    path.symlink_to(target)
    token = load_or_create(str(path))
    assert token and not target.exists()
    assert not path.is_symlink() and read_token_file(str(path)).token == token


def test_a_symlink_to_a_valid_token_is_read_and_kept(tmp_path: Path):
    token = new_token()
    target = tmp_path / "dotfiles-token"
    target.write_text(token + "\n")
    path = tmp_path / "aau_token"
    path.symlink_to(target)
    assert load_or_create(str(path)) == token
    assert path.is_symlink()


def test_a_huge_file_is_still_left_alone(tmp_path: Path):
    path = tmp_path / "aau_token"
    content = b"\0" * (1024 * 1024)
    path.write_bytes(content)
    assert load_or_create(str(path)) is None
    assert path.stat().st_size == len(content)
