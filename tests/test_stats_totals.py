"""Weekly totals: coverage, suppression, and exact agreement with a known truth."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats import totals  # noqa: E402
from anaconda_anon_usage.stats.cli import main  # noqa: E402
from anaconda_anon_usage.stats.dataset import RawDataset  # noqa: E402
from anaconda_anon_usage.stats.ingest import ingest_path  # noqa: E402
from anaconda_anon_usage.stats.synthetic import generate  # noqa: E402

DAY = 86400
MONDAY = 20731  # 2026-10-05, a Monday


def test_monday_of():
    assert totals.monday_of(MONDAY) == MONDAY
    assert totals.monday_of(MONDAY + 6) == MONDAY
    assert totals.monday_of(MONDAY + 7) == MONDAY + 7
    assert totals.monday_of(0) == -3  # 1970-01-01 was a Thursday


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("sample")
    truth = generate(
        str(directory / "logs"), weeks=3, clients=250, seed=3, compress=True
    )
    db = RawDataset(str(directory / "raw"), write=True)
    for path in sorted((directory / "logs").glob("*.log.gz")):
        assert ingest_path(db, str(path)).status == "ingested"
    return directory, truth, db


def test_end_to_end_totals_equal_the_truth(sample):
    _, truth, db = sample
    table = totals.compute(db, k=1)
    overall = {
        r["week"]: r
        for r in table.filter(pl.col("dimension") == "all").iter_rows(named=True)
    }
    assert sorted(overall) == sorted(truth)
    for week, known in truth.items():
        row = overall[week]
        for column in (
            "clients",
            "environments",
            "sessions",
            "hits",
            "untokenized_hits",
        ):
            assert row[column] == known[column], (week, column)
        packages = {
            r["value"]: r
            for r in table.filter(
                (pl.col("dimension") == "package") & (pl.col("week") == week)
            ).iter_rows(named=True)
        }
        assert {k: v["clients"] for k, v in packages.items()} == known[
            "package_clients"
        ]
        assert {k: v["downloads"] for k, v in packages.items()} == known[
            "package_downloads"
        ]
        status = {
            r["value"]: r["clients"]
            for r in table.filter(
                (pl.col("dimension") == "client_status") & (pl.col("week") == week)
            ).iter_rows(named=True)
        }
        assert status.get("new", 0) == known["new_clients"]
        assert status.get("new", 0) + status.get("returning", 0) == known["clients"]
        for column in ("single_session_clients", "multi_session_clients"):
            assert row[column] == known[column], (week, column)
        classes = {
            r["value"]: (r["single_session_clients"], r["multi_session_clients"])
            for r in table.filter(
                (pl.col("dimension") == "client_status") & (pl.col("week") == week)
            ).iter_rows(named=True)
        }
        assert classes["new"] == (
            known["new_single_session_clients"],
            known["new_multi_session_clients"],
        )
        returning = classes.get("returning", (0, 0))
        assert returning == (
            known["single_session_clients"] - known["new_single_session_clients"],
            known["multi_session_clients"] - known["new_multi_session_clients"],
        )


def test_the_synthetic_truth_has_ci_like_clients(sample):
    _, truth, _ = sample
    for known in truth.values():
        # CI jobs (a third of the population each week) are all single-session
        assert known["single_session_clients"] >= 250 // 3
        assert known["multi_session_clients"] > 0


def test_every_row_splits_its_clients_into_single_and_multi(sample):
    _, _, db = sample
    table = totals.compute(db, k=1)
    split = table["single_session_clients"] + table["multi_session_clients"]
    assert (split == table["clients"]).all()
    assert table.columns[-3:] == [
        "downloads",
        "single_session_clients",
        "multi_session_clients",
    ]


def test_breakdowns_partition_the_clients(sample):
    _, truth, db = sample
    table = totals.compute(db, k=1)
    for dimension in ("conda_version", "os", "python_version"):
        for week, known in truth.items():
            cells = table.filter(
                (pl.col("dimension") == dimension) & (pl.col("week") == week)
            )
            assert cells["clients"].sum() == known["clients"], dimension


def test_cells_below_k_are_not_published(sample):
    _, _, db = sample
    everything = totals.compute(db, k=1)
    published = totals.compute(db, k=20)
    assert published["clients"].min() >= 20
    small = everything.filter(pl.col("clients") < 20)
    assert len(small) > 0
    keys = set(published.select("week", "dimension", "value").iter_rows())
    assert not keys & set(small.select("week", "dimension", "value").iter_rows())


def test_a_missing_day_drops_its_week(tmp_path: Path):
    truth = generate(str(tmp_path / "logs"), weeks=2, clients=60, seed=5)
    (tmp_path / "logs" / "access-2026-10-15.log").unlink()
    db = RawDataset(str(tmp_path / "raw"), write=True)
    for path in sorted((tmp_path / "logs").glob("*.log")):
        ingest_path(db, str(path))
    weeks = set(totals.compute(db, k=1)["week"].to_list())
    assert weeks == {"2026-10-05"} and len(truth) == 2


def test_command_line_run_writes_database_csv_and_report(tmp_path: Path, capsys):
    logs = tmp_path / "logs"
    assert main(["sample", str(logs), "--weeks", "2", "--clients", "120"]) == 0
    files = sorted(str(p) for p in logs.glob("*.log"))
    assert main(["ingest", "--db", str(tmp_path / "raw"), *files]) == 0
    assert (
        main(["totals", "--db", str(tmp_path / "raw"), "--out", str(tmp_path / "out")])
        == 0
    )
    assert "2 complete week(s): 2026-10-05, 2026-10-12" in capsys.readouterr().out
    assert main(["report", "--totals", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    for name in (
        "totals.db",
        "weekly.csv",
        "summary.md",
        "clients.png",
        "conda_version.png",
        "platform.png",
        "packages.png",
    ):
        assert (out / name).stat().st_size > 0, name
    assert (out / "clients.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out / "weekly.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert {row["dimension"] for row in rows} >= {
        "all",
        "conda_version",
        "package",
        "client_status",
    }
    assert min(int(row["clients"]) for row in rows) >= 5
    truth = json.loads((logs / "truth.json").read_text())
    overall = [row for row in rows if row["dimension"] == "all"]
    assert [int(r["clients"]) for r in overall] == [
        truth[w]["clients"] for w in sorted(truth)
    ]
    connection = sqlite3.connect(out / "totals.db")
    assert connection.execute("SELECT COUNT(*) FROM weekly").fetchone()[0] == len(rows)
    summary = (out / "summary.md").read_text()
    assert (
        "![Weekly distinct clients" in summary
        and "fewer than 5 distinct clients" in summary
    )


def test_command_line_errors_are_messages(tmp_path: Path, capsys):
    assert main(["totals", "--db", str(tmp_path / "none.db")]) == 2
    assert "run 'aau-stats ingest' first" in capsys.readouterr().err
    assert main(["report", "--totals", str(tmp_path)]) == 2
    assert (
        main(["ingest", "--db", str(tmp_path / "raw"), str(tmp_path / "missing.log")])
        == 1
    )
    assert "skipped:" in capsys.readouterr().out
