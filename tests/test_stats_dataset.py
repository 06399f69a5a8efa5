"""The raw dataset: layout, keyed hash, commit protocol, plain-tool readability."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats import ingest  # noqa: E402
from anaconda_anon_usage.stats.cli import main  # noqa: E402
from anaconda_anon_usage.stats.dataset import (  # noqa: E402
    COLUMNS,
    DatasetError,
    RawDataset,
    hour_ranges,
)

TOKEN = "Duk7CrJkn0M9RUnzl3WM-g"


def line(
    time: str, agent: str = "conda/24.1.2 requests/2 CPython/3.11.7 Linux/6 x/1"
) -> str:
    return (
        f'198.51.100.7 - - [{time}] "GET /conda-forge/noarch/repodata.json HTTP/1.1" '
        f'200 5 "-" "{agent} c/{TOKEN} s/S1 e/E1 o/acme"\n'
    )


def test_layout_and_key(tmp_path: Path):
    raw = tmp_path / "raw"
    RawDataset(str(raw), write=True).close()
    key = (raw / "key").read_text()
    assert len(key) == 65 and key.endswith("\n") and int(key, 16) >= 0
    assert key == key.lower()
    assert stat.S_IMODE((raw / "key").stat().st_mode) == 0o600
    assert {p.name for p in raw.iterdir()} >= {"key", "ledger", "requests", "_staging"}
    RawDataset(str(raw), write=True).close()  # opening again keeps the key
    assert (raw / "key").read_text() == key


def test_the_keyed_hash_is_the_contracts(tmp_path: Path):
    dataset = RawDataset(str(tmp_path / "raw"), write=True)
    key = (tmp_path / "raw" / "key").read_text().strip()
    seen_negative = False
    for n in range(200):
        value = f"{TOKEN}{n}"
        digest = hashlib.sha256(f"{key}c/{value}".encode()).digest()
        expected = int.from_bytes(digest[:8], "big", signed=True)
        assert dataset.hash_token("c", value) == expected
        assert dataset.hash_tokens("c", [value]) == {value: expected}
        seen_negative = seen_negative or expected < 0
    assert seen_negative
    assert dataset.hash_token("c", TOKEN) != dataset.hash_token("s", TOKEN)


def test_hour_ranges():
    assert hour_ranges([5, 3, 4, 9, 9, 11, 10, 20]) == [(3, 5), (9, 11), (20, 20)]
    assert hour_ranges([]) == []


def test_ledger_entry_fields(tmp_path: Path):
    log = tmp_path / "a.log"
    log.write_text(
        line("12/Jan/2026:00:10:00 +0000")
        + line("12/Jan/2026:01:59:59 +0000")
        + '198.51.100.7 - - [12/Jan/2026:05:00:00 +0000] "\\x16\\x03\\x01" 400 0 "-" "-"\n'
        + "junk\n"
        + line("14/Jan/2026:10:00:00 +0100")
    )
    dataset = RawDataset(str(tmp_path / "raw"), write=True)
    assert ingest.ingest_path(dataset, str(log)).status == "ingested"
    (entry,) = dataset.ledger()
    data = json.loads((tmp_path / "raw" / "ledger" / f"{entry.piece}.json").read_text())
    hour = 1768176000 // 3600  # 2026-01-12 00:00 UTC
    assert data["format"] == 1 and data["engine"] == "local"
    assert data["name"] == str(log) and data["piece"] == entry.piece
    assert (data["lines"], data["malformed"], data["conda_requests"]) == (5, 1, 3)
    assert data["hours"] == [
        [hour, hour + 1],
        [hour + 5, hour + 5],
        [hour + 57, hour + 57],
    ]
    assert sorted(data["files"]) == [
        f"requests/date=2026-01-12/{entry.piece}-part-00000.parquet",
        f"requests/date=2026-01-14/{entry.piece}-part-00001.parquet",
    ]
    assert all((tmp_path / "raw" / f).is_file() for f in data["files"])
    assert data["content_sha256"] == hashlib.sha256(log.read_bytes()).hexdigest()
    assert isinstance(data["ingested_at"], int)


def _committed_rows(raw: Path) -> pl.DataFrame:
    return RawDataset(str(raw)).requests(-(10**6), 10**6)


def test_plain_duckdb_and_polars_queries_see_exactly_the_committed_rows(
    tmp_path: Path,
):
    raw = tmp_path / "raw"
    dataset = RawDataset(str(raw), write=True)
    for n, day in enumerate(("12", "13", "13")):
        log = tmp_path / f"{n}.log"
        log.write_text(line(f"{day}/Jan/2026:0{n}:00:00 +0000") * (n + 1))
        assert ingest.ingest_path(dataset, str(log)).status == "ingested"
    # a writer's uncommitted piece is not seen by anyone
    piece = dataset.new_piece()
    os.makedirs(Path(piece.staging) / "date=2026-01-13")
    pl.DataFrame(schema=COLUMNS).write_parquet(
        Path(piece.staging) / "date=2026-01-13" / "x.parquet"
    )
    ours = _committed_rows(raw)
    assert len(ours) == 6
    # the queries the README documents
    by_polars = pl.read_parquet(f"{raw}/requests/**/*.parquet", hive_partitioning=True)
    assert sorted(by_polars.columns) == sorted([*COLUMNS, "date"])
    columns = list(COLUMNS)
    assert by_polars.select(columns).sort(columns).equals(ours.sort(columns))
    duckdb = pytest.importorskip("duckdb")
    counts = duckdb.sql(
        f"SELECT date, count(*) AS hits, count(DISTINCT client) AS clients "
        f"FROM read_parquet('{raw}/requests/**/*.parquet', hive_partitioning = true) "
        "GROUP BY date ORDER BY date"
    ).fetchall()
    assert [(str(d), h, c) for d, h, c in counts] == [
        ("2026-01-12", 1, 1),
        ("2026-01-13", 5, 1),
    ]


def test_orphans_are_deleted_when_opened_for_writing(tmp_path: Path):
    raw = tmp_path / "raw"
    dataset = RawDataset(str(raw), write=True)
    log = tmp_path / "a.log"
    log.write_text(line("12/Jan/2026:00:00:00 +0000"))
    ingest.ingest_path(dataset, str(log))
    piece = dataset.new_piece()
    (Path(piece.staging) / "date=2026-01-12").mkdir()
    (Path(piece.staging) / "date=2026-01-12" / "x.parquet").write_bytes(b"PAR1")
    stray = raw / "requests" / "date=2026-01-12" / "stray.parquet"
    stray.write_bytes(Path(dataset.files()[0]).read_bytes())  # as a killed writer
    (raw / "ledger" / ".0123.json.tmp").write_text("{")
    dataset.close()
    assert len(pl.read_parquet(f"{raw}/requests/**/*.parquet")) == 2
    assert len(_committed_rows(raw)) == 1  # our readers never read it
    RawDataset(str(raw), write=True).close()
    assert not stray.exists() and list((raw / "_staging").iterdir()) == []
    assert not (raw / "ledger" / ".0123.json.tmp").exists()
    assert len(pl.read_parquet(f"{raw}/requests/**/*.parquet")) == 1


def test_one_writer_at_a_time(tmp_path: Path):
    first = RawDataset(str(tmp_path / "raw"), write=True)
    with pytest.raises(DatasetError, match="another process is writing"):
        RawDataset(str(tmp_path / "raw"), write=True)
    first.close()
    RawDataset(str(tmp_path / "raw"), write=True).close()


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() if p.is_file() else b"dir"
        for p in sorted(path.rglob("*"))
    }


@pytest.mark.parametrize(
    "case", ["missing parent", "regular file", "not a dataset", "damaged key"]
)
def test_a_bad_raw_path_is_a_one_line_error_and_changes_nothing(
    tmp_path: Path, capsys, case: str
):
    place = tmp_path / "place"
    place.mkdir()
    log = place / "access.log"
    log.write_text(line("12/Jan/2026:00:00:00 +0000"))
    raw = {
        "missing parent": place / "nonexistent" / "dir" / "raw",
        "regular file": log,
        "not a dataset": place,
        "damaged key": place / "raw",
    }[case]
    if case == "damaged key":
        raw.mkdir()
        (raw / "key").write_text("not a key\n")
    before = _tree(place)
    assert main(["ingest", "--raw", str(raw), str(log)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aau-stats: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert _tree(place) == before
    assert main(["totals", "--raw", str(raw), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aau-stats: ") and err.count("\n") == 1, err
    assert _tree(place) == before and not (tmp_path / "out").exists()


def test_an_unwritable_place_is_a_one_line_error(tmp_path: Path, capsys):
    place = tmp_path / "ro"
    place.mkdir()
    if os.system(f"mount -t tmpfs -o ro tmpfs {place} 2>/dev/null") != 0:
        pytest.skip("cannot mount a read-only file system here (needs root)")
    try:
        log = tmp_path / "a.log"
        log.write_text(line("12/Jan/2026:00:00:00 +0000"))
        assert main(["ingest", "--raw", str(place / "raw"), str(log)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("aau-stats: cannot create") and err.count("\n") == 1
    finally:
        os.system(f"umount {place}")


def test_an_empty_directory_becomes_a_dataset(tmp_path: Path):
    (tmp_path / "raw").mkdir()
    RawDataset(str(tmp_path / "raw"), write=True).close()
    assert (tmp_path / "raw" / "key").is_file()
