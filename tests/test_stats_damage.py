"""A raw dataset damaged after it was written (a ledger entry or a Parquet
file cut short or replaced, a file nobody may read) is a one-line error for
``totals`` and ``ingest``, never a traceback, and the previous totals stay."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("polars", reason="the counting side needs the stats extra")

from conftest import read_only_mount

from anaconda_anon_usage.stats.cli import main

TOKEN = "Duk7CrJkn0M9RUnzl3WM-g"
AGENT = "conda/24.1.2 requests/2 CPython/3.11.7 Linux/6 x/1"


def week_of_lines() -> str:
    """Every hour of the week of Monday 2026-01-12, so the week is complete."""
    lines = []
    for day in range(12, 19):
        for hour in range(24):
            lines.append(
                f'198.51.100.7 - - [{day}/Jan/2026:{hour:02}:00:00 +0000] "GET '
                f'/conda-forge/noarch/repodata.json HTTP/1.1" 200 5 "-" '
                f'"{AGENT} c/{TOKEN} s/S1 e/E1"\n'
            )
    return "".join(lines)


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    """A raw dataset holding one complete week, and its totals written once."""
    log = tmp_path / "access.log"
    log.write_text(week_of_lines())
    raw, out = tmp_path / "raw", tmp_path / "out"
    assert main(["ingest", "--raw", str(raw), str(log)]) == 0
    assert main(["totals", "--raw", str(raw), "--out", str(out), "-k", "1"]) == 0
    return raw, out


def assert_one_line_error(capsys: pytest.CaptureFixture[str], *words: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("aau-stats: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("content", ["[]", '"piece"', "7", "null"])
def test_a_ledger_entry_that_is_not_an_object_is_a_one_line_error(
    dataset: tuple[Path, Path], capsys, tmp_path: Path, content: str
):
    raw, out = dataset
    weekly = (out / "weekly.csv").read_text()
    entry = next((raw / "ledger").glob("*.json"))
    entry.write_text(content)
    capsys.readouterr()
    assert main(["totals", "--raw", str(raw), "--out", str(out), "-k", "1"]) == 2
    assert_one_line_error(capsys, entry.name, "damaged")
    assert (out / "weekly.csv").read_text() == weekly
    log = tmp_path / "more.log"
    log.write_text(week_of_lines().replace("2026", "2025"))
    assert main(["ingest", "--raw", str(raw), str(log)]) == 2
    assert_one_line_error(capsys, entry.name, "damaged")


@pytest.mark.parametrize(
    "field, value",
    [("files", "requests"), ("files", [5]), ("files", ["x"]), ("hours", [[1]])],
)
def test_a_ledger_entry_with_a_field_of_the_wrong_shape_is_a_one_line_error(
    dataset: tuple[Path, Path], capsys, field: str, value: object
):
    raw, out = dataset
    entry = next((raw / "ledger").glob("*.json"))
    data = json.loads(entry.read_text())
    data[field] = value
    entry.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["totals", "--raw", str(raw), "--out", str(out), "-k", "1"]) == 2
    assert_one_line_error(capsys, entry.name, "damaged")


@pytest.mark.parametrize("damage", ["cut short", "not parquet", "a directory"])
def test_a_damaged_parquet_file_is_a_one_line_error(
    dataset: tuple[Path, Path], capsys, damage: str
):
    raw, out = dataset
    weekly = (out / "weekly.csv").read_text()
    victim = sorted((raw / "requests").glob("*/*.parquet"))[0]
    data = victim.read_bytes()
    if damage == "cut short":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "not parquet":
        victim.write_text("garbage\n")
    else:
        victim.unlink()
        victim.mkdir()
    capsys.readouterr()
    assert main(["totals", "--raw", str(raw), "--out", str(out), "-k", "1"]) == 2
    assert_one_line_error(capsys, victim.name)
    assert (out / "weekly.csv").read_text() == weekly


def test_an_unreadable_parquet_file_is_a_one_line_error(dataset: tuple[Path, Path]):
    raw, out = dataset
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to read as root without its privileges")
    victim = sorted((raw / "requests").glob("*/*.parquet"))[0]
    victim.chmod(0)
    # root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH: file modes apply
    result = subprocess.run(
        [
            "setpriv",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
            sys.executable,
            "-m",
            "anaconda_anon_usage.stats.cli",
            "totals",
            "--raw",
            str(raw),
            "--out",
            str(out),
            "-k",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result
    assert result.stderr.startswith("aau-stats: ") and result.stderr.count("\n") == 1
    assert victim.name in result.stderr, result.stderr


def test_a_damaged_parquet_file_is_a_one_line_error_on_spark(
    spark, dataset: tuple[Path, Path], capsys
):
    raw, out = dataset
    weekly = (out / "weekly.csv").read_text()
    victim = sorted((raw / "requests").glob("*/*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:100])
    capsys.readouterr()
    spark_args = ["--engine", "spark", "--master", "local[2]"]
    args = ["totals", *spark_args, "--raw", str(raw), "--out", str(out), "-k", "1"]
    assert main(args) == 2
    assert_one_line_error(capsys, victim.name)
    assert (out / "weekly.csv").read_text() == weekly


@pytest.mark.parametrize("place", ["under a file", "read-only"])
def test_sample_into_a_place_it_cannot_write_is_a_one_line_error(
    tmp_path: Path, capsys, place: str
):
    with contextlib.ExitStack() as stack:
        if place == "under a file":
            (tmp_path / "file").write_text("x")
            directory = tmp_path / "file" / "logs"
        else:
            stack.enter_context(read_only_mount(tmp_path / "ro"))
            directory = tmp_path / "ro" / "logs"
        assert main(["sample", str(directory), "--weeks", "1", "--clients", "5"]) == 2
        assert_one_line_error(capsys, str(directory))
