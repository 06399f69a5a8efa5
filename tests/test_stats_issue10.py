"""Issue 10's repros, run as its users run them: the ``aau-stats`` command,
with the flags the issue spells out (``--db``), in a fresh process.

The detailed tests of each part live beside the code (coverage, fuzz,
dataset, ingest, outputs, report); these hold the issue's own commands.
"""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("polars", reason="the counting side needs the stats extra")

from test_stats_coverage import TLS_PROBE, conda_lines, utc


def aau_stats(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, else the module's ``main``."""
    script = shutil.which("aau-stats", path=os.path.dirname(sys.executable))
    command = (
        [script]
        if script
        else [
            sys.executable,
            "-c",
            "from anaconda_anon_usage.stats.cli import main; raise SystemExit(main())",
        ]
    )
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def weekly(out: Path) -> list[dict[str, str]]:
    with open(out / "weekly.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() if p.is_file() else b"dir"
        for p in sorted(path.rglob("*"))
    }


def test_1_a_hole_is_never_published_as_a_complete_week(tmp_path: Path):
    (tmp_path / "a.log").write_text(
        "\n".join(conda_lines(utc(2026, 1, 12), utc(2026, 1, 21))) + "\n"
    )
    (tmp_path / "c.log").write_text(
        "\n".join([TLS_PROBE, *conda_lines(utc(2026, 1, 24), utc(2026, 2, 3), "x")])
        + "\n"
    )
    ingest = aau_stats("ingest", "--db", "raw.db", "a.log", "c.log", cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    totals = aau_stats(
        "totals", "--db", "raw.db", "--out", "out", "-k", "1", cwd=tmp_path
    )
    assert totals.returncode == 0, totals.stderr
    weeks = {row["week"] for row in weekly(tmp_path / "out")}
    assert "2026-01-19" not in weeks
    assert weeks == {"2026-01-12", "2026-01-26"}
    # totals says which weeks were left out and why
    assert "2026-01-19: no log lines from 2026-01-21 01:00 to 2026-01-24 00:00" in (
        totals.stdout
    )


@pytest.mark.parametrize("case", ["missing directory", "a directory", "a log"])
def test_3_bad_db_paths_get_one_line_and_change_nothing(tmp_path: Path, case: str):
    (tmp_path / "x.log").write_text(
        "\n".join(conda_lines(utc(2026, 1, 12), utc(2026, 1, 12, 1))) + "\n"
    )
    (tmp_path / "logs").mkdir()
    shutil.copy(tmp_path / "x.log", tmp_path / "logs" / "y.log")
    db = {
        "missing directory": "/nonexistent/dir/raw.db",
        "a directory": "logs",
        "a log": "x.log",
    }[case]
    before = tree(tmp_path)
    for command in (
        ["ingest", "--db", db, "x.log"],
        ["totals", "--db", db, "--out", "out"],
    ):
        result = aau_stats(*command, cwd=tmp_path)
        assert result.returncode != 0
        assert result.stderr.startswith("aau-stats: "), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert tree(tmp_path) == before


def test_4_a_growing_log_ingested_hourly_counts_each_line_once(tmp_path: Path):
    lines = conda_lines(utc(2026, 1, 12), utc(2026, 1, 26))
    whole = "\n".join(lines) + "\n"
    (tmp_path / "final.log").write_text(whole)
    live = tmp_path / "live.log"
    cuts = [len(whole) // 3, len(whole) // 3 + 17, 2 * len(whole) // 3, len(whole)]
    outputs = []
    for cut in cuts:  # the log as cron finds it each hour; a line may be half written
        live.write_text(whole[:cut])
        result = aau_stats("ingest", "--db", "raw", "live.log", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert "reading what was added since" in outputs[2]
    assert (
        aau_stats("ingest", "--db", "once", "final.log", cwd=tmp_path).returncode == 0
    )
    for db, out in (("raw", "out1"), ("once", "out2")):
        assert (
            aau_stats(
                "totals", "--db", db, "--out", out, "-k", "1", cwd=tmp_path
            ).returncode
            == 0
        )
    assert weekly(tmp_path / "out1") == weekly(tmp_path / "out2")
    assert int(weekly(tmp_path / "out1")[0]["hits"]) == 7 * 24 * 6
    # truncated (rotated with copytruncate) and then written to: said so
    live.write_text(
        "\n".join(conda_lines(utc(2026, 1, 27), utc(2026, 1, 27, 1))) + "\n"
    )
    result = aau_stats("ingest", "--db", "raw", "live.log", cwd=tmp_path)
    assert "truncated or replaced" in result.stdout


def test_5_single_and_multi_session_clients_in_totals_csv_and_report(
    tmp_path: Path,
):
    (tmp_path / "a.log").write_text(
        "\n".join(conda_lines(utc(2026, 1, 12), utc(2026, 1, 19))) + "\n"
    )
    assert aau_stats("ingest", "--db", "raw", "a.log", cwd=tmp_path).returncode == 0
    assert (
        aau_stats(
            "totals", "--db", "raw", "--out", "out", "-k", "1", cwd=tmp_path
        ).returncode
        == 0
    )
    rows = weekly(tmp_path / "out")
    classes = ("single_session_clients", "multi_session_clients")
    for row in rows:  # every row, new/returning included, splits its clients
        assert int(row[classes[0]]) + int(row[classes[1]]) == int(row["clients"])
    assert {r["value"] for r in rows if r["dimension"] == "client_status"} == {"new"}
    with sqlite3.connect(tmp_path / "out" / "totals.db") as connection:
        names = [c[1] for c in connection.execute("PRAGMA table_info(weekly)")]
    assert names[-2:] == list(classes)
    report = aau_stats("report", "--totals", "out", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<th>one session</th>" in page and "<th>several sessions</th>" in page
    assert "Clients seen in one session only" in page  # the chart's caption
