"""Found trying ``aau-stats`` as an operator and as an adversary: bad input is a
one-line message (never a traceback), and no address or token is printed."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats import ingest  # noqa: E402
from anaconda_anon_usage.stats.cli import main  # noqa: E402
from anaconda_anon_usage.stats.dataset import RawDataset  # noqa: E402

TOKEN = "PrivateClientTok3n"
AGENT = f"conda/24.1.2 requests/2.31.0 CPython/3.11.7 Linux/6.1 aau/0.5.0 c/{TOKEN} s/Sess1on e/Env1ron"
GOOD = (
    '203.0.113.9 - - [12/Jan/2026:10:00:00 +0000] "GET /conda-forge/linux-64/'
    f'repodata.json HTTP/1.1" 200 10 "-" "{AGENT}"\n'
)


def test_a_corrupt_gzip_stream_is_skipped_not_a_traceback(tmp_path: Path):
    data = bytearray(gzip.compress(GOOD.encode() * 200))
    data[30] ^= 0xFF  # inside the deflate stream: zlib.error, not OSError
    data[40] ^= 0xFF
    corrupt = tmp_path / "corrupt.log.gz"
    corrupt.write_bytes(bytes(data))
    good = tmp_path / "good.log"
    good.write_text(GOOD)
    db = RawDataset(str(tmp_path / "raw"), write=True)
    result = ingest.ingest_path(db, str(corrupt))
    assert result.status.startswith("skipped:")
    assert db.ledger() == []
    assert ingest.ingest_path(db, str(good)).status == "ingested"


def test_an_empty_log_is_not_said_to_be_already_ingested(tmp_path: Path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    db = RawDataset(str(tmp_path / "raw"), write=True)
    assert ingest.ingest_path(db, str(empty)).status == "skipped: empty"
    db.close()
    # nothing wrong with it (a rotated log of a quiet hour): exit 0
    assert main(["ingest", "--raw", str(tmp_path / "raw"), str(empty)]) == 0


@pytest.mark.parametrize(
    "line",
    [
        f'203.0.113.9 - - [99/Jan/2026:10:00:00 +0000] "GET /x HTTP/1.1" 200 1 "-" "{AGENT}"',
        f'2001:db8:0:1::7 - - [bad] "GET /x HTTP/1.1" 200 1 "-" "{AGENT}"',
        f'host.example - - [bad] "GET /x" 200 1 "-" "-" "198.51.100.23, 10.0.0.1" "{AGENT}"',
    ],
)
def test_malformed_examples_show_no_address_and_no_token(
    tmp_path: Path, capsys, line: str
):
    log = tmp_path / "bad.log"
    log.write_text(line + "\n")
    assert main(["ingest", "--raw", str(tmp_path / "raw"), str(log)]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "malformed:" in text
    for secret in (TOKEN, "Sess1on", "Env1ron", "203.0.113.9", "2001:db8", "198.51"):
        assert secret not in text
    assert "10.0.0.1" not in text and "host.example" not in text
    assert "GET /x" in text  # the rest still says what was wrong


@pytest.mark.parametrize("k", ["0", "-3"])
def test_k_below_one_is_a_one_line_error(tmp_path: Path, capsys, k: str):
    out = tmp_path / "out"
    assert (
        main(["totals", "--raw", str(tmp_path / "raw"), "--out", str(out), "-k", k])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "-k" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "option", [["--weeks", "0"], ["--weeks", "-1"], ["--clients", "0"]]
)
def test_sample_with_nothing_to_write_is_a_one_line_error(
    tmp_path: Path, capsys, option: list[str]
):
    directory = tmp_path / "logs"
    assert main(["sample", str(directory), *option]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option[0] in err
    assert not directory.exists()


def test_output_into_a_closed_pipe_is_no_traceback(tmp_path: Path):
    directory = tmp_path / "logs"
    command = (
        f"{sys.executable} -m anaconda_anon_usage.stats.cli sample {directory} --weeks 1"
        " --clients 20 | true"
    )
    # `true` exits at once: the print meets a closed pipe
    for _ in range(3):
        run = subprocess.run(command, shell=True, capture_output=True, text=True)
        assert "Traceback" not in run.stderr


def test_the_spark_driver_skips_a_corrupt_gzip_stream(tmp_path: Path):
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from anaconda_anon_usage.stats.spark import ingest as spark_ingest

    data = bytearray(gzip.compress(GOOD.encode() * 200))
    data[30] ^= 0xFF
    data[40] ^= 0xFF
    corrupt = tmp_path / "corrupt.log.gz"
    corrupt.write_bytes(bytes(data))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    reports: list[ingest.FileResult] = []
    # the driver reads a local log to fingerprint it before Spark is asked
    # for anything: no session needed when nothing is left to read
    assert not spark_ingest.ingest(None, db, [str(corrupt)], reports.append)  # type: ignore[arg-type]
    assert [r.status.startswith("skipped:") for r in reports] == [True]
    assert db.ledger() == []


def test_the_spark_engine_counts_a_log_once_when_a_later_one_in_the_same_run_grew_from_it(
    tmp_path: Path, monkeypatch
):
    """The local engine recognises ``first.log``'s content at the start of
    ``grown.log`` (ingested in the same command) and adds only the new line;
    the Spark engine commits a whole batch at once, so it must recognise it
    among the logs planned in the same run, not only in the ledger."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from anaconda_anon_usage.stats.spark import ingest as spark_ingest

    first = tmp_path / "first.log"
    first.write_text(GOOD)
    grown = tmp_path / "grown.log"
    grown.write_text(GOOD + GOOD.replace("10:00:00", "11:00:00"))
    planned: list[str] = []
    monkeypatch.setattr(
        spark_ingest,
        "run",
        lambda spark, db, sources, report: planned.extend(s.name for s in sources),
    )
    db = RawDataset(str(tmp_path / "raw"), write=True)
    reports: list[ingest.FileResult] = []
    spark_ingest.ingest(None, db, [str(first), str(grown)], reports.append)  # type: ignore[arg-type]
    assert planned == [str(first)]
    assert [r.name for r in reports] == [str(grown)]
    assert reports[0].status.startswith("skipped:")


def test_the_spark_engine_says_an_empty_log_is_empty(tmp_path: Path):
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from anaconda_anon_usage.stats.spark import ingest as spark_ingest

    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    db = RawDataset(str(tmp_path / "raw"), write=True)
    result = spark_ingest.plan_local(db, str(empty))
    assert isinstance(result, ingest.FileResult)
    assert result.status == "skipped: empty"  # as the local engine says


# zstd and lz4 frames: compressors logrotate can be told to use, which
# neither engine reads
UNREADABLE = {"zstd": b"\x28\xb5\x2f\xfd", "lz4": b"\x04\x22\x4d\x18"}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_a_log_compressed_in_a_format_not_read_is_skipped_not_ingested_as_garbage(
    tmp_path: Path, name: str
):
    """Read as plain text it was committed as lines of malformed binary (and
    printed them), while the Spark engine skipped it: the engines differed
    and the log, once fingerprinted as ingested, was never read again."""
    log = tmp_path / "access.log.x"
    log.write_bytes(UNREADABLE[name] + bytes(range(256)) * 4 + b"\n" * 3)
    db = RawDataset(str(tmp_path / "raw"), write=True)
    result = ingest.ingest_path(db, str(log))
    assert result.status == f"skipped: {name}-compressed, not read: decompress it"
    assert db.ledger() == []


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_the_spark_engine_says_the_same_of_a_log_compressed_in_a_format_not_read(
    tmp_path: Path, name: str
):
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from anaconda_anon_usage.stats.spark import ingest as spark_ingest

    for suffix in (".zst", ".log"):
        log = tmp_path / f"access{suffix}"
        log.write_bytes(UNREADABLE[name] + bytes(range(256)) * 4 + b"\n")
        db = RawDataset(str(tmp_path / "raw"), write=True)
        result = spark_ingest.plan_local(db, str(log))
        assert isinstance(result, ingest.FileResult)
        assert result.status == f"skipped: {name}-compressed, not read: decompress it"
        db.close()


def test_the_spark_engine_reads_a_log_named_like_a_glob_and_says_why_not_a_colon(
    tmp_path: Path, spark
):
    """Spark read ``access[1].log`` as a Hadoop glob (so ``access1.log``
    beside it), and a ``:`` in a name (``access-12T10:00.log``, or any such
    file in the same directory) was a Java traceback for the whole run."""
    from anaconda_anon_usage.stats.spark import ingest as spark_ingest

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "access[1].log").write_text(GOOD)
    (logs / "access1.log").write_text(GOOD.replace("10:00:00", "12:00:00") * 3)
    (logs / "access{1,2}*?\\x.log").write_text(GOOD.replace("10:00:00", "11:00:00") * 2)
    (logs / "access-12T10:00.log").write_text(GOOD.replace("10:00", "09:00"))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    reports: list[ingest.FileResult] = []
    names = ["access[1].log", "access{1,2}*?\\x.log", "access-12T10:00.log"]
    spark_ingest.ingest(spark, db, [str(logs / n) for n in names], reports.append)
    found = {Path(r.name).name: (r.status, r.lines) for r in reports}
    assert found["access[1].log"] == ("ingested", 1)
    assert found["access{1,2}*?\\x.log"] == ("ingested", 2)
    status = found["access-12T10:00.log"][0]
    assert status.startswith("skipped: Spark (Hadoop) reads no file with ':' in")
    assert sorted(e.lines for e in db.ledger()) == [1, 2]


def test_a_log_of_one_line_without_its_newline_is_not_said_to_be_empty(
    tmp_path: Path,
):
    """A log just created holds a line still being written: it is read later,
    it is not empty."""
    log = tmp_path / "access.log"
    log.write_text(GOOD.rstrip("\n"))
    db = RawDataset(str(tmp_path / "raw"), write=True)
    result = ingest.ingest_path(db, str(log))
    assert result.status == "skipped: nothing new yet"
    assert result.notes == ("its last line has no newline yet: left for the next run",)
    log.write_text(GOOD)
    assert ingest.ingest_path(db, str(log)).lines == 1
    db.close()
    assert main(["ingest", "--raw", str(tmp_path / "raw"), str(log)]) == 0
