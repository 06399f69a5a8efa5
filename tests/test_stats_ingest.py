"""Ingesting files: formats, the ledger, all-or-nothing, nothing private kept."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats import ingest  # noqa: E402
from anaconda_anon_usage.stats.dataset import RawDataset  # noqa: E402

TOKEN = "Duk7CrJkn0M9RUnzl3WM-g"


def log_lines(count: int = 50, start: int = 0) -> bytes:
    lines = []
    for n in range(start, start + count):
        agent = (
            "conda/24.1.2 requests/2.31.0 CPython/3.11.7 Linux/6.1.0 debian/12 "
            f"aau/0.1.0 c/{TOKEN} s/session{n % 5} e/env{n % 2} o/acme"
        )
        lines.append(
            f"2001:db8::{n:x} - - [10/Oct/2026:13:{n // 60 % 60:02d}:{n % 60:02d} +0000] "
            f'"GET /conda-forge/linux-64/numpy-1.26.{n % 3}-py311_0.conda HTTP/1.1" 200 5 '
            f'"-" "{agent}"'
        )
    lines.append("this line is garbage")
    return ("\n".join(lines) + "\n").encode()


def hits(db: RawDataset) -> int:
    return len(db.requests(-(10**6), 10**6))


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".log", bytes),
        (".gz", gzip.compress),
        (".xz", lzma.compress),
        (".bz2", bz2.compress),
    ],
)
def test_formats(tmp_path: Path, suffix: str, compress):
    path = tmp_path / f"access{suffix}"
    path.write_bytes(compress(log_lines()))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    result = ingest.ingest_path(db, str(path))
    assert (result.status, result.lines, result.conda_requests, result.malformed) == (
        "ingested",
        51,
        50,
        1,
    )
    assert result.malformed_examples == ("this line is garbage",)
    assert hits(db) == 50


def test_a_misleading_suffix_does_not_matter(tmp_path: Path):
    path = tmp_path / "access.log"
    path.write_bytes(gzip.compress(log_lines()))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    assert ingest.ingest_path(db, str(path)).conda_requests == 50


def test_standard_input(tmp_path: Path):
    code = (
        "import sys; from anaconda_anon_usage.stats.cli import main; "
        "sys.exit(main(['ingest', '--db', sys.argv[1], '-']))"
    )
    for _ in range(2):  # gzip.compress stamps the time: different bytes each run
        result = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "raw")],
            input=gzip.compress(log_lines()),
            capture_output=True,
        )
        time.sleep(1.1)
        assert result.returncode == 0, result.stderr
    assert b"skipped: already ingested" in result.stdout
    assert hits(RawDataset(str(tmp_path / "raw"))) == 50


def test_rerunning_changes_nothing(tmp_path: Path):
    path = tmp_path / "a.log"
    path.write_bytes(log_lines())
    db = RawDataset(str(tmp_path / "raw"), write=True)
    ingest.ingest_path(db, str(path))
    before = db.requests(-(10**6), 10**6).sort(pl.all())
    again = ingest.ingest_path(db, str(path))
    assert again.status == "skipped: already ingested"
    copy = tmp_path / "copy.log"  # same bytes under another name
    copy.write_bytes(log_lines())
    assert ingest.ingest_path(db, str(copy)).status == "skipped: already ingested"
    after = db.requests(-(10**6), 10**6).sort(pl.all())
    assert before.equals(after) and len(db.ledger()) == 1


def test_a_log_compressed_after_ingest_is_the_same_log(tmp_path: Path):
    """logrotate compresses yesterday's access.log.1 into access.log.2.gz."""
    (tmp_path / "access.log.1").write_bytes(log_lines())
    (tmp_path / "access.log.2.gz").write_bytes(gzip.compress(log_lines()))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    assert ingest.ingest_path(db, str(tmp_path / "access.log.1")).status == "ingested"
    again = ingest.ingest_path(db, str(tmp_path / "access.log.2.gz"))
    assert again.status == "skipped: already ingested"
    assert hits(db) == 50


def test_chunk_boundaries_do_not_matter(tmp_path: Path, monkeypatch):
    data = log_lines(500)
    (tmp_path / "a.log").write_bytes(data)
    whole = RawDataset(str(tmp_path / "whole"), write=True)
    ingest.ingest_path(whole, str(tmp_path / "a.log"))
    monkeypatch.setattr(ingest, "CHUNK_BYTES", 777)
    pieces = RawDataset(str(tmp_path / "pieces"), write=True)
    result = ingest.ingest_path(pieces, str(tmp_path / "a.log"))
    assert result.lines == 501 and hits(pieces) == hits(whole) == 500
    columns = ["day", "status", "package", "version"]
    a, b = pieces.requests(0, 10**6), whole.requests(0, 10**6)
    assert a.select(columns).sort(columns).equals(b.select(columns).sort(columns))
    for tokens in ("client", "session", "environment"):  # keys differ per database
        assert a.get_column(tokens).n_unique() == b.get_column(tokens).n_unique()


def test_no_address_and_no_token_is_stored(tmp_path: Path):
    (tmp_path / "a.log").write_bytes(log_lines())
    db = RawDataset(str(tmp_path / "raw"), write=True)
    ingest.ingest_path(db, str(tmp_path / "a.log"))
    db.close()
    stored = [p for p in (tmp_path / "raw").rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in stored)
    for path in stored:
        data = path.read_bytes()
        for secret in (TOKEN, "session1", "env0", "acme", "2001:db8"):
            assert secret.encode() not in data, (path, secret)


def test_hashes_are_keyed_per_database(tmp_path: Path):
    one = RawDataset(str(tmp_path / "one"), write=True)
    two = RawDataset(str(tmp_path / "two"), write=True)
    assert one.hash_token("c", TOKEN) != two.hash_token("c", TOKEN)
    assert RawDataset(str(tmp_path / "one")).hash_token("c", TOKEN) == one.hash_token(
        "c", TOKEN
    )


def test_unreadable_and_corrupt_inputs_are_skipped(tmp_path: Path):
    db = RawDataset(str(tmp_path / "raw"), write=True)
    missing = ingest.ingest_path(db, str(tmp_path / "nope.log"))
    assert missing.status.startswith("skipped:")
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(log_lines())[:-20])
    assert ingest.ingest_path(db, str(broken)).status.startswith("skipped:")
    assert hits(db) == 0 and db.ledger() == []


def test_a_killed_run_leaves_no_trace_and_the_next_run_finishes(tmp_path: Path):
    big = tmp_path / "big.log"
    with open(big, "wb") as out:
        for block in range(200):
            out.write(log_lines(1000, start=block * 1000))
    database = tmp_path / "raw"
    code = (
        "import sys; from anaconda_anon_usage.stats import ingest;"
        "from anaconda_anon_usage.stats.dataset import RawDataset;"
        "ingest.CHUNK_BYTES = 64 * 1024;"
        "ingest.ROWS_PER_FILE = 10_000;"
        "db = RawDataset(sys.argv[1], write=True);"
        "report = lambda n: print(n, flush=True);"
        "ingest.ingest_path(db, sys.argv[2], report)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(database), str(big)], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    consumed = 0
    while consumed < big.stat().st_size // 3:  # a third of the way through the file
        consumed += int(process.stdout.readline())
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    staged = list((database / "_staging").rglob("*.parquet"))
    assert staged, "killed before anything was staged: the test proves nothing"
    assert RawDataset(str(database)).ledger() == []
    assert list((database / "requests").rglob("*.parquet")) == []
    db = RawDataset(str(database), write=True)  # cleans up after the killed run
    assert hits(db) == 0 and db.ledger() == []
    assert list(database.rglob("*.parquet")) == []
    result = ingest.ingest_path(db, str(big))
    assert result.status == "ingested" and hits(db) == 200_000


def test_a_run_killed_after_its_commit_is_finished_by_the_next(tmp_path: Path):
    """Killed between writing the ledger entry and moving the files."""
    (tmp_path / "a.log").write_bytes(log_lines(3000))
    database = tmp_path / "raw"
    code = (
        "import os, sys; from anaconda_anon_usage.stats import dataset, ingest;"
        "ingest.ROWS_PER_FILE = 1000; ingest.CHUNK_BYTES = 64 * 1024;"
        "dataset.RawDataset._roll_forward = lambda self, entry: os._exit(9);"
        "db = dataset.RawDataset(sys.argv[1], write=True);"
        "ingest.ingest_path(db, sys.argv[2])"
    )
    killed = subprocess.run(
        [sys.executable, "-c", code, str(database), str(tmp_path / "a.log")]
    )
    assert killed.returncode == 9
    assert len(list((database / "_staging").rglob("*.parquet"))) == 3
    reader = RawDataset(str(database))  # readers see the committed piece already
    assert hits(reader) == 3000 and len(reader.ledger()) == 1
    db = RawDataset(str(database), write=True)
    assert list((database / "_staging").iterdir()) == []
    assert len(list((database / "requests").rglob("*.parquet"))) == 3
    assert hits(db) == 3000
    assert ingest.ingest_path(db, str(tmp_path / "a.log")).status.startswith("skipped")
    assert hits(db) == 3000


def _rows(db: RawDataset) -> pl.DataFrame:
    columns = ["day", "status", "package", "version", "client", "session"]
    return db.requests(-(10**6), 10**6).select(columns).sort(columns)


def test_a_growing_log_adds_only_its_new_lines(tmp_path: Path):
    log = tmp_path / "access.log"
    db = RawDataset(str(tmp_path / "raw"), write=True)
    log.write_bytes(log_lines(40)[: -len(b"this line is garbage\n")])
    assert ingest.ingest_path(db, str(log)).conda_requests == 40
    with open(log, "ab") as stream:  # the server writes on
        stream.write(log_lines(25, start=40))
    grown = ingest.ingest_path(db, str(log))
    assert (grown.status, grown.lines, grown.conda_requests) == ("ingested", 26, 25)
    assert any("reading what was added since" in note for note in grown.notes)
    again = ingest.ingest_path(db, str(log))
    assert again.status.startswith("skipped:") and hits(db) == 65
    # the same as reading the whole log at once
    whole = RawDataset(str(tmp_path / "whole"), write=True)
    ingest.ingest_path(whole, str(log))
    assert len(db.ledger()) == 2 and hits(whole) == 65

    def hours(entries):
        return {h for e in entries for a, b in e.hours for h in range(a, b + 1)}

    assert hours(db.ledger()) == hours(whole.ledger()) != set()


def test_a_line_still_being_written_waits_for_the_next_run(tmp_path: Path):
    log = tmp_path / "access.log"
    data = log_lines(10)
    cut = data.index(b"\n", len(data) // 2) + 30  # in the middle of a line
    log.write_bytes(data[:cut])
    db = RawDataset(str(tmp_path / "raw"), write=True)
    first = ingest.ingest_path(db, str(log))
    assert any("no newline yet" in note for note in first.notes)
    log.write_bytes(data)
    second = ingest.ingest_path(db, str(log))
    assert first.lines + second.lines == 11
    assert first.conda_requests + second.conda_requests == hits(db) == 10
    assert second.malformed == 1  # the garbage line, not a torn one


def test_a_truncated_log_is_said_so_and_read_as_new(tmp_path: Path):
    """copytruncate: the log is emptied and the server writes on."""
    log = tmp_path / "access.log"
    log.write_bytes(log_lines(30))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    ingest.ingest_path(db, str(log))
    log.write_bytes(log_lines(5, start=100))
    again = ingest.ingest_path(db, str(log))
    assert again.status == "ingested" and again.conda_requests == 5
    assert any("truncated or replaced" in note for note in again.notes)
    assert hits(db) == 35


def test_a_replaced_log_is_said_so_and_read_as_new(tmp_path: Path):
    log = tmp_path / "access.log"
    log.write_bytes(log_lines(30))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    ingest.ingest_path(db, str(log))
    log.write_bytes(log_lines(40, start=1000))  # longer, another beginning
    again = ingest.ingest_path(db, str(log))
    assert again.status == "ingested" and again.conda_requests == 40
    assert any("replaced" in note for note in again.notes)
    assert hits(db) == 70


def test_a_log_changed_in_the_part_already_read_is_not_appended_to(tmp_path: Path):
    log = tmp_path / "access.log"
    data = log_lines(30)
    log.write_bytes(data)
    db = RawDataset(str(tmp_path / "raw"), write=True)
    ingest.ingest_path(db, str(log))
    changed = data.replace(b"13:00:05", b"13:00:06", 1) + log_lines(3, start=30)
    log.write_bytes(changed)  # same length prefix, one byte differs
    again = ingest.ingest_path(db, str(log))
    assert again.conda_requests == 33
    assert any("replaced" in note for note in again.notes)


def test_a_growing_log_compressed_at_rotation_adds_only_its_last_lines(
    tmp_path: Path,
):
    """access.log read hourly, then rotated with more lines into .gz."""
    live = tmp_path / "access.log"
    data = log_lines(60)
    live.write_bytes(data[: data.index(b"\n", len(data) // 2) + 1])
    db = RawDataset(str(tmp_path / "raw"), write=True)
    first = ingest.ingest_path(db, str(live))
    (tmp_path / "access.log.1.gz").write_bytes(gzip.compress(data))
    live.unlink()
    rotated = ingest.ingest_path(db, str(tmp_path / "access.log.1.gz"))
    assert rotated.status == "ingested"
    assert first.lines + rotated.lines == 61
    assert hits(db) == 60
    assert any("were read before" in note for note in rotated.notes)
    again = ingest.ingest_path(db, str(tmp_path / "access.log.1.gz"))
    assert again.status == "skipped: already ingested" and hits(db) == 60


def test_growth_read_in_pieces_equals_reading_once(tmp_path: Path):
    log = tmp_path / "access.log"
    data = log_lines(400)
    db = RawDataset(str(tmp_path / "raw"), write=True)
    position = 0
    for size in (1000, 5000, 20000, len(data)):
        position = max(position, size)
        log.write_bytes(data[:position])
        ingest.ingest_path(db, str(log))
    whole = RawDataset(str(tmp_path / "whole"), write=True)
    ingest.ingest_path(whole, str(log))
    a, b = _rows(db), _rows(whole)
    assert len(a) == len(b) == 400
    assert a.drop("client", "session").equals(b.drop("client", "session"))


def test_stored_token_hashes_are_the_contracts_keyed_hash(tmp_path: Path):
    """Hashed row by row in one Python loop, repeated values and all: still
    exactly ``dataset.keyed_hash``, negative values and all, and 0 for a
    token not sent."""
    db = RawDataset(str(tmp_path / "raw"), write=True)
    tokens = ingest._Tokens(db)
    rng = __import__("random").Random(3)
    for _ in range(4):  # chunks sharing some values
        values = [f"v{rng.randrange(40)}" for _ in range(30)] + ["", None, "é/ü"]
        frame = pl.DataFrame({"client": values}, schema={"client": pl.String})
        stored = frame.select(tokens.column(frame, "client", "c")).to_series()
        expected = [db.hash_token("c", v) if v else 0 for v in values]
        assert stored.to_list() == expected
        assert any(h < 0 for h in expected) and any(h > 0 for h in expected)


def test_stored_tokens_through_ingest_are_the_keyed_hash(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(ingest, "CHUNK_BYTES", 5000)  # many chunks
    (tmp_path / "a.log").write_bytes(log_lines(300))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    ingest.ingest_path(db, str(tmp_path / "a.log"))
    stored = db.requests(0, 10**6)
    assert set(stored.get_column("client")) == {db.hash_token("c", TOKEN)}
    assert set(stored.get_column("session")) == {
        db.hash_token("s", f"session{n}") for n in range(5)
    }
    assert set(stored.get_column("environment")) == {
        db.hash_token("e", f"env{n}") for n in range(2)
    }


@pytest.mark.parametrize(
    "time", ["01/Jan/0001:00:00:00 +2359", "31/Dec/9999:23:59:59 -0001"]
)
def test_a_time_outside_the_calendar_in_utc_is_malformed(tmp_path: Path, time: str):
    """A local time whose UTC instant falls before year 1 or after 9999 has no
    day to be stored under: the line is malformed, not a crash."""
    odd = (
        log_lines(1)
        .splitlines()[0]
        .replace(b"10/Oct/2026:13:00:00 +0000", time.encode())
    )
    path = tmp_path / "odd.log"
    path.write_bytes(odd + b"\n" + log_lines(3))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    result = ingest.ingest_path(db, str(path))
    assert (result.status, result.malformed, hits(db)) == ("ingested", 2, 3)


@pytest.mark.parametrize("size", [1, 3, 7, 64, 10_000])
def test_blocks_are_whole_lines_and_all_of_the_content(size: int):
    """Blocks end at newlines (but the last) and together are the content,
    whether a read ends on a newline, inside a line or inside a line longer
    than a read."""
    import io
    import random

    rng = random.Random(size)
    for _ in range(50):
        data = bytes(rng.choice(b"ab\n") for _ in range(rng.randrange(0, 300)))
        found = list(ingest.blocks(io.BytesIO(data), size))
        assert b"".join(found) == data
        assert all(found) and all(block.endswith(b"\n") for block in found[:-1])


@pytest.mark.parametrize("size", [1, 3, 7, 64, 10_000])
def test_blocks_of_a_plain_file_are_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
):
    """A plain file's blocks end where a line ends without being copied
    (``read_lines``): same blocks of whole lines, all the content, every
    byte counted once, also with lines longer than a block or than the part
    searched for a newline (which fall back to reading and copying)."""
    import random

    monkeypatch.setattr(ingest, "LINE_TAIL", 5)
    rng = random.Random(size)
    for n in range(30):
        data = bytes(rng.choice(b"ab\n") for _ in range(rng.randrange(0, 300)))
        data += b"x" * rng.choice([0, 20]) + b"\n" * rng.randrange(2)
        path = tmp_path / f"{n}.log"
        path.write_bytes(data)
        counted: list[int] = []
        with open(path, "rb") as raw:
            reader = ingest._CountingReader(raw, counted.append)
            found = list(ingest.blocks(reader, size))  # type: ignore[arg-type]
        assert b"".join(found) == data
        assert all(found) and all(block.endswith(b"\n") for block in found[:-1])
        assert reader.count == sum(counted) == len(data)


@pytest.mark.parametrize("rows_per_file", [None, 300], ids=["at-close", "mid-read"])
def test_a_full_disk_is_one_line_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch, capsys, rows_per_file: int | None
):
    """polars reports a full disk as its own error, not an OSError: ingest
    ended in a traceback (writing the last files, or a file while reading)."""
    from conftest import tmpfs_mount

    from anaconda_anon_usage.stats import cli
    from anaconda_anon_usage.stats.synthetic import generate

    if rows_per_file:
        monkeypatch.setattr(ingest, "ROWS_PER_FILE", rows_per_file)
    logs = tmp_path / "logs"
    generate(str(logs), weeks=2, clients=3000, seed=4)
    files = sorted(str(p) for p in logs.glob("*.log"))
    with tmpfs_mount(tmp_path / "full", "size=256k") as full:
        code = cli.main(["ingest", "--raw", str(full / "raw"), *files])
        out = capsys.readouterr().out
        assert code == 1
        assert "skipped: [Errno 28] No space left on device" in out
        staging = full / "raw" / "_staging"
        assert not staging.exists() or not any(staging.iterdir())
        if (full / "raw" / "key").exists():  # what was committed reads whole
            db = RawDataset(str(full / "raw"))
            assert len(db.requests(-(10**6), 10**6)) == sum(
                entry.conda_requests for entry in db.ledger()
            )
