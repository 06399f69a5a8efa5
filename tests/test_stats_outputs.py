"""Outputs appear whole and together, or not at all; bad --out is a message."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats import outputs, totals  # noqa: E402
from anaconda_anon_usage.stats.cli import main  # noqa: E402


def table(rows: int, version: int) -> pl.DataFrame:
    """A weekly table whose every number says which run wrote it."""
    return pl.DataFrame(
        {
            "week": ["2026-10-05"] * rows,
            "dimension": ["package"] * rows,
            "value": [f"pkg{n}" for n in range(rows)],
            **{c: [version] * rows for c in totals.COLUMNS[3:]},
        }
    )


def published(directory: Path) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """(csv, db) as read back; None when neither is there. Fails the test on
    a partial set, a truncated file or two files that disagree."""
    csv_path, db_path = directory / "weekly.csv", directory / "totals.db"
    if not csv_path.exists() and not db_path.exists():
        return None
    assert csv_path.exists() and db_path.exists(), "one output without the other"
    from_csv = pl.read_csv(csv_path, schema_overrides={"value": pl.String})
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT * FROM weekly").fetchall()
    finally:
        connection.close()
    from_db = pl.DataFrame(rows, schema=from_csv.schema, orient="row")
    assert from_csv.equals(from_db), "weekly.csv and totals.db disagree"
    return from_csv, from_db


def leftovers(directory: Path) -> list[str]:
    current = os.readlink(directory / ".totals")
    return [
        name
        for name in os.listdir(directory)
        if name.startswith(".totals-") and name != current
    ]


def test_write_replaces_both_files(tmp_path: Path):
    totals.write(table(10, 1), str(tmp_path), {"k": "5"})
    totals.write(table(20, 2), str(tmp_path), {"k": "5"})
    csv, _ = published(tmp_path)  # type: ignore[misc]
    assert len(csv) == 20 and set(csv["clients"]) == {2}
    assert leftovers(tmp_path) == []
    connection = sqlite3.connect(tmp_path / "totals.db")
    assert connection.execute("SELECT value FROM meta WHERE name='k'").fetchone() == (
        "5",
    )


def test_a_failing_csv_writer_changes_nothing(tmp_path: Path, monkeypatch):
    totals.write(table(10, 1), str(tmp_path), {"k": "5"})
    before = (tmp_path / "weekly.csv").read_bytes()

    class Broken:
        def __init__(self, stream):
            self.stream = stream

        def writerow(self, row):
            self.stream.write(",".join(map(str, row)) + "\n")

        def writerows(self, rows):
            self.stream.write("2026-10-05,package,half")
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(totals.csv, "writer", Broken)
    with pytest.raises(OSError):
        totals.write(table(20, 2), str(tmp_path), {"k": "5"})
    assert (tmp_path / "weekly.csv").read_bytes() == before
    csv, _ = published(tmp_path)  # type: ignore[misc]
    assert set(csv["clients"]) == {1}
    assert leftovers(tmp_path) == []


def plain_files(directory: Path, rows: int, version: int) -> None:
    """The layout before links: totals.db and weekly.csv as plain files."""
    totals.write(table(rows, version), str(directory), {"k": "5"})
    for name in ("totals.db", "weekly.csv"):
        data = (directory / name).read_bytes()
        (directory / name).unlink()
        (directory / name).write_bytes(data)
    os.unlink(directory / ".totals")
    for name in os.listdir(directory):
        if name.startswith(".totals-"):
            shutil.rmtree(directory / name)


@pytest.mark.parametrize("fail_at", range(5))
@pytest.mark.parametrize("layout", ["links", "plain files", "first run"])
def test_a_failure_at_any_step_of_the_switch(
    tmp_path: Path, monkeypatch, fail_at: int, layout: str
):
    """Whatever step a run dies at, the outputs are the old set or the new
    set (or, the first time, nothing): never a mix, never a torn file."""
    directory = tmp_path / "out"
    if layout == "links":
        totals.write(table(5, 1), str(directory), {"k": "5"})
    elif layout == "plain files":
        directory.mkdir()
        plain_files(directory, 5, 1)
    calls: list[str] = []
    real_replace = os.replace

    def replace(source, target):
        calls.append(target)
        if len(calls) > fail_at:
            raise KeyboardInterrupt  # as abrupt as it gets in-process
        real_replace(source, target)

    monkeypatch.setattr(outputs.os, "replace", replace)
    with contextlib.suppress(KeyboardInterrupt):
        totals.write(table(7, 2), str(directory), {"k": "5"})
    monkeypatch.setattr(outputs.os, "replace", real_replace)
    seen = published(directory)
    if layout == "links":
        assert seen is not None
    if seen is not None:
        assert {*seen[0]["clients"]} in ({1}, {2})
    # the next run repairs everything and cleans up
    totals.write(table(9, 3), str(directory), {"k": "5"})
    assert set(published(directory)[0]["clients"]) == {3}  # type: ignore[index]
    assert leftovers(directory) == []


WRITER = textwrap.dedent(
    """
    import sys
    import polars as pl
    from anaconda_anon_usage.stats import totals
    sys.path.insert(0, sys.argv[2])
    from test_stats_outputs import table
    version = 0
    print("ready", flush=True)
    while True:
        version += 1
        totals.write(table(20000 + 7 * version, version), sys.argv[1], {"k": "5"})
    """
)


def test_kill_9_mid_write_never_leaves_a_torn_or_mixed_set(tmp_path: Path):
    out = tmp_path / "out"
    rng = random.Random(4)
    for _ in range(8):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(out), str(Path(__file__).parent)],
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.2, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        seen = published(out)
        if seen is not None:
            version = seen[0]["clients"][0]
            assert len(seen[0]) == 20000 + 7 * version
    totals.write(table(3, 99), str(out), {"k": "5"})
    assert leftovers(out) == []
    assert sorted(p.name for p in out.iterdir()) == [
        ".totals",
        os.readlink(out / ".totals"),
        ".totals.lock",
        "totals.db",
        "weekly.csv",
    ]


def test_two_writers_take_turns(tmp_path: Path):
    import threading

    errors: list[BaseException] = []

    def run(version: int) -> None:
        try:
            for _ in range(5):
                totals.write(table(2000, version), str(tmp_path), {"k": "5"})
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(v,)) for v in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(published(tmp_path)[0]["clients"]) in ({1}, {2})  # type: ignore[index]
    assert leftovers(tmp_path) == []


@pytest.fixture
def raw(tmp_path: Path) -> str:
    log = tmp_path / "access.log"
    log.write_text(
        '203.0.113.9 - - [05/Oct/2026:10:00:00 +0000] "GET /x/linux-64/repodata.json '
        'HTTP/1.1" 200 9 "-" "conda/24.1.2 requests/2 CPython/3.11.9 Linux/6 d/1 '
        'aau/0.1.0 c/abc s/def e/ghi"\n'
    )
    path = str(tmp_path / "raw")
    assert main(["ingest", "--raw", path, str(log)]) == 0
    return path


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aau-stats: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_out_is_a_file(tmp_path: Path, raw: str, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    capsys.readouterr()
    assert main(["totals", "--raw", raw, "--out", str(target)]) == 2
    assert "not a directory" in one_line_error(capsys)
    assert target.read_text() == "keep me"
    assert main(["report", "--totals", str(tmp_path), "--out", str(target)]) == 2


def test_out_parent_missing(tmp_path: Path, raw: str, capsys):
    capsys.readouterr()
    assert main(["totals", "--raw", raw, "--out", str(tmp_path / "no/such")]) == 2
    assert "does not exist" in one_line_error(capsys)
    assert not (tmp_path / "no").exists()


@pytest.fixture
def read_only(tmp_path: Path):
    """A read-only mount (root) or skip: file modes do not stop root."""
    place = tmp_path / "ro"
    place.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(place)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {done.stderr.decode().strip()}")
    yield place
    subprocess.run(["umount", str(place)], check=True)


def test_out_read_only(read_only: Path, raw: str, capsys):
    capsys.readouterr()
    for out in (read_only, read_only / "new"):
        assert main(["totals", "--raw", raw, "--out", str(out)]) == 2
        assert str(out) in one_line_error(capsys)
    assert os.listdir(read_only) == []
    totals_dir = read_only.parent / "t"
    totals.write(totals.empty_table(), str(totals_dir), {"k": "5"})
    assert main(["report", "--totals", str(totals_dir), "--out", str(read_only)]) == 2
    assert str(read_only) in one_line_error(capsys)
