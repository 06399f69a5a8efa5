"""Token files: parsing, creation, renewal, races and unusable places."""

from __future__ import annotations

import errno
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from conftest import read_only_mount

from anaconda_anon_usage import tokens as tokenfile
from anaconda_anon_usage import tokenstore
from anaconda_anon_usage.tokens import (
    UNUSABLE,
    VALID,
    is_valid_token,
    load_or_create,
    new_token,
    read_token_file,
)


def test_creates_a_missing_file_and_parent(tmp_path: Path):
    path = tmp_path / "deeper" / "aau_token"
    token = load_or_create(str(path), make_parent=True)
    assert token and is_valid_token(token)
    assert path.read_text() == token + "\n"
    assert load_or_create(str(path)) == token


def test_without_make_parent_a_missing_directory_means_no_token(tmp_path: Path):
    path = tmp_path / "absent" / "aau_token"
    assert load_or_create(str(path)) is None
    assert not path.parent.exists()


def test_white_space_and_blank_lines_around_the_token_are_ignored(tmp_path: Path):
    token = new_token()
    path = tmp_path / "aau_token"
    content = f"\n\n   {token}  \r\n\n".encode()
    path.write_bytes(content)
    assert load_or_create(str(path)) == token
    assert path.read_bytes() == content  # untouched


@pytest.mark.parametrize(
    "content",
    ["", "\n \n", "short", "x" * 23, "a" * 21 + "+", "a" * 21 + "=", "ä" * 22],
)
def test_a_malformed_token_is_renewed(tmp_path: Path, content: str):
    path = tmp_path / "aau_token"
    path.write_text(content, encoding="utf-8")
    token = load_or_create(str(path))
    assert token and is_valid_token(token)
    assert read_token_file(str(path)).token == token


def test_a_directory_where_the_file_should_be(tmp_path: Path):
    path = tmp_path / "aau_token"
    path.mkdir()
    assert read_token_file(str(path)).status is UNUSABLE
    assert load_or_create(str(path)) is None
    assert path.is_dir()


def test_a_huge_file_is_left_alone(tmp_path: Path):
    path = tmp_path / "aau_token"
    path.write_text(new_token() + "\n" + "x" * tokenfile.MAX_FILE_BYTES)
    assert load_or_create(str(path)) is None


def test_read_only_directory_gives_no_token_and_no_error(tmp_path: Path):
    with read_only_mount(tmp_path / "ro") as directory:
        assert load_or_create(str(directory / "aau_token")) is None
        assert (
            load_or_create(str(directory / "sub" / "aau_token"), make_parent=True)
            is None
        )


def test_read_only_directory_still_yields_an_existing_token(tmp_path: Path):
    directory = tmp_path / "ro"
    directory.mkdir()
    token = new_token()
    (directory / "aau_token").write_text(token + "\n")
    import subprocess

    from conftest import read_only_bind

    with read_only_bind(directory):
        assert subprocess.run(["touch", str(directory / "x")]).returncode != 0
        assert load_or_create(str(directory / "aau_token")) == token


def test_no_temporary_files_are_left_behind(tmp_path: Path):
    path = tmp_path / "dir" / "aau_token"
    path.parent.mkdir()
    load_or_create(str(path))
    path.write_text("garbage")
    load_or_create(str(path))
    tokenstore.write_new(str(path))
    assert sorted(p.name for p in path.parent.iterdir()) == ["aau_token"]


def test_annotations_are_stored_and_a_mismatch_renews(tmp_path: Path):
    path = tmp_path / "aau_token"
    first = load_or_create(str(path), annotate=lambda token: {"host": "one"})
    assert path.read_text() == f"{first}\nhost one\n"
    assert load_or_create(str(path), annotate=lambda token: {"host": "one"}) == first
    second = load_or_create(str(path), annotate=lambda token: {"host": "two"})
    assert second != first
    assert read_token_file(str(path)).annotations == {"host": "two"}


def test_a_token_without_the_annotation_keeps_its_value_and_gains_it(tmp_path: Path):
    path = tmp_path / "aau_token"
    token = new_token()
    path.write_text(token + "\n")
    assert load_or_create(str(path), annotate=lambda t: {"host": t[:4]}) == token
    assert path.read_text() == f"{token}\nhost {token[:4]}\n"


def test_without_hard_links_exclusive_create_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def no_link(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_link)
    path = tmp_path / "aau_token"
    token = load_or_create(str(path))
    assert token and path.read_text().strip() == token
    assert load_or_create(str(path)) == token


def test_claim_stores_the_sent_token_over_a_copied_one(tmp_path: Path):
    path = tmp_path / "etc" / "aau_token"
    copied, sent = new_token(), new_token()
    path.parent.mkdir()
    path.write_text(copied + "\n")
    assert tokenstore.store(str(path), sent) == sent
    assert read_token_file(str(path)).token == sent
    assert tokenstore.store(str(path), sent) == sent


def _race(path: str, barrier, queue) -> None:  # type: ignore[no-untyped-def]
    barrier.wait()
    queue.put(load_or_create(path, make_parent=True))


def _run_race(path: Path, processes: int) -> list[str | None]:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    queue = context.Queue()
    workers = [
        context.Process(target=_race, args=(str(path), barrier, queue))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return results


def test_64_simultaneous_creators_agree_on_one_token(tmp_path: Path):
    path = tmp_path / ".conda" / "aau_token"
    results = _run_race(path, 64)
    assert len(set(results)) == 1
    assert results[0] == read_token_file(str(path)).token
    assert sorted(p.name for p in path.parent.iterdir()) == ["aau_token"]


def test_64_simultaneous_renewals_of_a_corrupt_file_agree(tmp_path: Path):
    path = tmp_path / "aau_token"
    path.write_text("corrupt\n")
    results = _run_race(path, 64)
    assert len(set(results)) == 1
    assert results[0] == read_token_file(str(path)).token


def _keep_renewing(path: str, stop) -> None:  # type: ignore[no-untyped-def]
    while not stop.is_set():
        tokenstore.write_new(path)


def test_a_reader_never_sees_a_half_written_file(tmp_path: Path):
    path = tmp_path / "aau_token"
    tokenstore.write_new(str(path))
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    writer = context.Process(target=_keep_renewing, args=(str(path), stop))
    writer.start()
    try:
        statuses = set()
        deadline = time.monotonic() + 1.0
        reads = 0
        while time.monotonic() < deadline:
            statuses.add(read_token_file(str(path)).status)
            reads += 1
    finally:
        stop.set()
        writer.join(timeout=30)
    assert reads > 100
    assert statuses == {VALID}
