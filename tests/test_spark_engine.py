"""The Spark engine gives the local engine's numbers: the same raw rows, the
same ledger, the same weekly table cell for cell, whichever engine wrote the
raw dataset and whichever totals it."""

from __future__ import annotations

import bz2
import csv
import gzip
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

from test_spark_parse import ALL_CRAFTED  # noqa: E402

from anaconda_anon_usage.stats import dataset as ds  # noqa: E402
from anaconda_anon_usage.stats.cli import main  # noqa: E402
from anaconda_anon_usage.stats.synthetic import generate  # noqa: E402

SPARK = ["--engine", "spark", "--master", "local[2]"]
COMPLETE = "2026-10-12"  # the one complete week of the logs below


def _logs(directory: Path) -> tuple[list[Path], dict]:
    """Logs of 2026-10-07 to 2026-10-23: a partial week on each side of
    2026-10-12, plain, gzip, bzip2 and CRLF files, and a file of crafted
    and broken lines (in the first, partial, week)."""
    truth = generate(str(directory), weeks=3, clients=40, seed=9)
    days = sorted(directory.glob("access-*.log"))
    for path in days[:2] + days[-2:]:  # 10-05, 10-06, 10-24, 10-25
        path.unlink()
    days = days[2:-2]
    files: list[Path] = []
    for index, path in enumerate(days):
        data = path.read_bytes()
        if index % 3 == 1:
            target = path.with_name(path.name + ".gz")
            target.write_bytes(gzip.compress(data))
            path.unlink()
        elif index == 3:
            target = path.with_name(path.name + ".bz2")
            target.write_bytes(bz2.compress(data))
            path.unlink()
        elif index == 6:
            target = path
            target.write_bytes(data.replace(b"\n", b"\r\n"))
        else:
            target = path
        files.append(target)
    tricky = [text.encode("utf-8", "surrogateescape") for text in ALL_CRAFTED]
    tricky += [b"\xff\xfe garbage", b"", b"10.0.0.1 - - [broken", tricky[0] + b"\xc3"]
    (directory / "tricky.log").write_bytes(b"\n".join(tricky) + b"\n")
    files.append(directory / "tricky.log")
    return files, truth


def _rows(raw: Path) -> pl.DataFrame:
    """Every stored row, read as an outsider would (hive-partitioned)."""
    frame = pl.scan_parquet(
        str(raw / "requests" / "**" / "*.parquet"), hive_partitioning=True
    ).collect()
    return frame.sort(frame.columns)


def _csv(out: Path, name: str = "weekly.csv") -> list[list[str]]:
    with open(out / name, newline="") as stream:
        return list(csv.reader(stream))


def _meta(out: Path) -> dict[str, str]:
    connection = sqlite3.connect(out / "totals.db")
    try:
        return dict(connection.execute("SELECT name, value FROM meta").fetchall())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory: pytest.TempPathFactory):
    """The logs ingested by each engine (the same key, so rows compare)."""
    base = tmp_path_factory.mktemp("engines")
    files, truth = _logs(base / "logs")
    names = [str(f) for f in files]
    local, remote = base / "raw-local", base / "raw-spark"
    assert main(["ingest", "--raw", str(local), *names]) == 0
    remote.mkdir()
    shutil.copy(local / "key", remote / "key")
    assert main(["ingest", *SPARK, "--raw", str(remote), *names]) == 0
    return base, names, truth, local, remote


def test_spark_ingest_stores_the_rows_of_the_local_engine(runs):
    _, _, _, local, remote = runs
    ours, theirs = _rows(local), _rows(remote)
    assert len(ours) > 500
    assert ours.equals(theirs)
    assert ours.schema == theirs.schema
    # the partition is the row's day
    days = theirs.select(
        (pl.col("date").cast(pl.Date).cast(pl.Int32) == pl.col("day")).all()
    )
    assert days.item()


LEDGER_FIELDS = ("name", "lines", "malformed", "conda_requests", "hours", "end")
LEDGER_FIELDS += ("content_sha256", "first_ts", "last_ts", "path", "start")


def _ledger(raw: Path) -> dict[str, tuple]:
    entries = ds.RawDataset(str(raw)).ledger()
    return {e.name: tuple(getattr(e, f) for f in LEDGER_FIELDS) for e in entries}


def test_spark_ingest_writes_the_same_ledger(runs):
    _, names, _, local, remote = runs
    ours, theirs = _ledger(local), _ledger(remote)
    assert sorted(ours) == sorted(names)
    assert ours == theirs
    assert {e.engine for e in ds.RawDataset(str(remote)).ledger()} == {"spark"}
    tricky = ours[names[-1]]
    assert tricky[2] > 10 and tricky[3] > 50  # malformed and conda lines


def _examples(out: str) -> dict[str, int]:
    """How many malformed lines ``ingest`` showed for each log."""
    shown: dict[str, int] = {}
    name = ""
    for line in out.splitlines():
        if not line.startswith(" "):
            name = line.split(": ", 1)[0]
        elif line.startswith("  malformed: "):
            shown[name] = shown.get(name, 0) + 1
    return shown


def test_spark_ingest_in_several_jobs_gives_the_same_pieces(
    runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """Logs are read BATCH at a time, each batch's counts observed in its
    own job: the same rows, ledger and malformed examples as the local
    engine, whichever batch a log falls in."""
    from anaconda_anon_usage.stats.spark import ingest as spark_ingest

    _, names, _, local, _ = runs
    monkeypatch.setattr(spark_ingest, "BATCH", 4)
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(local / "key", raw / "key")
    capsys.readouterr()
    assert main(["ingest", *SPARK, "--raw", str(raw), *names]) == 0
    spark_out = capsys.readouterr().out
    assert main(["ingest", "--raw", str(tmp_path / "raw-local"), *names]) == 0
    local_out = capsys.readouterr().out
    assert len(names) > 2 * 4
    assert _rows(raw).equals(_rows(local))
    assert _ledger(raw) == _ledger(local)
    shown = _examples(spark_out)
    assert shown[names[-1]] == 5  # tricky.log: many malformed lines, five shown
    assert shown == _examples(local_out)


def test_each_engine_reads_the_other_engines_parquet(runs, spark):
    _, _, _, local, remote = runs
    for raw in (local, remote):
        frame = spark.read.parquet(str(raw / "requests"))
        assert frame.count() == len(_rows(raw))
        types = dict(frame.dtypes)
        assert types["day"] == "int" and types["client"] == "bigint"
        assert types["status"] == "smallint" and types["date"] == "date"
    # and DuckDB, with no code of ours
    duckdb = pytest.importorskip("duckdb", reason="DuckDB comes with the dev extra")
    for raw in (local, remote):
        query = (
            "SELECT count(*), count(DISTINCT client), min(date), max(day) FROM "
            f"read_parquet('{raw}/requests/**/*.parquet', hive_partitioning = true)"
        )
        count, clients, first, last = duckdb.sql(query).fetchall()[0]
        rows = _rows(raw)
        assert count == len(rows) and clients == rows["client"].n_unique()
        assert first == rows["date"].min() and last == rows["day"].max()
    # the dataset's own reader takes the Spark-written files
    frame = ds.RawDataset(str(remote)).requests(-(1 << 20), 1 << 22)
    assert frame.sort(frame.columns).equals(_rows(local).drop("date"))


def test_a_second_run_of_either_engine_adds_nothing(runs, capsys):
    _, names, _, local, remote = runs
    before = _rows(remote)
    capsys.readouterr()
    assert main(["ingest", *SPARK, "--raw", str(remote), *names]) == 0
    assert main(["ingest", "--raw", str(remote), *names]) == 0
    assert main(["ingest", *SPARK, "--raw", str(local), *names]) == 0
    out = capsys.readouterr().out
    assert out.count("skipped: already ingested") == 3 * len(names)
    assert _rows(remote).equals(before)
    assert len(ds.RawDataset(str(remote)).ledger()) == len(names)
    assert not list((remote / "_staging").iterdir())


def test_weekly_totals_are_the_same_cell_for_cell(runs, capsys):
    base, _, truth, local, remote = runs
    tables = {}
    for engine in ("local", "spark"):
        for raw in (local, remote):
            out = base / f"out-{engine}-{raw.name}"
            extra = SPARK if engine == "spark" else []
            assert main(["totals", *extra, "--raw", str(raw), "--out", str(out)]) == 0
            tables[engine, raw.name] = _csv(out)
            assert _meta(out).get("approximate") is None
    printed = capsys.readouterr().out
    assert "1 complete week(s): 2026-10-12" in printed
    expected = tables["local", "raw-local"]
    assert len(expected) > 20
    for key, table in tables.items():
        assert table == expected, key
    # and the truth of the complete week
    header = expected[0]
    overall = [
        dict(zip(header, row, strict=True)) for row in expected[1:] if row[1] == "all"
    ]
    assert [row["week"] for row in overall] == [COMPLETE]
    known = truth[COMPLETE]
    for column in (
        "clients",
        "environments",
        "sessions",
        "hits",
        "untokenized_hits",
        "single_session_clients",
        "multi_session_clients",
    ):
        assert int(overall[0][column]) == known[column], column
    assert any(row[1] == "client_status" for row in expected)


def test_approximate_totals_are_labelled_everywhere(runs, capsys):
    base, _, _, _, remote = runs
    out = base / "out-approximate"
    arguments = ["totals", *SPARK, "--raw", str(remote), "--out", str(out)]
    exact = base / "out-spark-raw-spark"  # made by the test above
    if not exact.exists():
        assert main(["totals", *SPARK, "--raw", str(remote), "--out", str(exact)]) == 0
    shutil.copytree(exact, out, symlinks=True)
    assert (out / "weekly.csv").exists()
    capsys.readouterr()
    assert main([*arguments, "--approximate", "0.05"]) == 0
    printed = capsys.readouterr().out
    assert "APPROXIMATE" in printed and "weekly-approximate.csv" in printed
    # the exact table's name is gone with the exact table
    assert not (out / "weekly.csv").exists()
    meta = _meta(out)
    assert meta["approximate"] == "true" and meta["relative_error"] == "0.05"
    assert "HyperLogLog" in meta["approximate_note"]
    exact_rows = _csv(exact)
    approximate = _csv(out, "weekly-approximate.csv")
    assert approximate[0] == exact_rows[0]
    overall = [r for r in approximate if r[1] == "all"]
    truth = [r for r in exact_rows if r[1] == "all"]
    assert len(overall) == len(truth) == 1
    for got, want in zip(overall[0][3:], truth[0][3:], strict=True):
        assert abs(int(got) - int(want)) <= 0.15 * int(want) + 1
    report = base / "report"
    assert main(["report", "--totals", str(out), "--out", str(report)]) == 0
    html = (report / "report.html").read_text()
    assert "APPROXIMATE" in html and "relative standard error of 5%" in html
    assert "APPROXIMATE" in (report / "summary.md").read_text()


def test_globs_and_uris_are_read_through_hadoop(runs, tmp_path: Path, capsys):
    base, _, _, local, _ = runs
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(local / "key", raw / "key")
    pattern = str(base / "logs" / "access-2026-10-1[3-5].log*")
    assert main(["ingest", *SPARK, "--raw", str(raw), pattern]) == 0
    entries = ds.RawDataset(str(raw)).ledger()
    assert len(entries) == 3
    assert all(e.name.startswith("file:/") and e.quick_key for e in entries)
    # the same rows as the local engine's from those files
    wanted = {f"date=2026-10-1{d}" for d in (3, 4, 5)}
    ours = _rows(local).filter(
        pl.col("date").cast(pl.String).is_in([w.removeprefix("date=") for w in wanted])
    )
    assert _rows(raw).equals(ours)
    capsys.readouterr()
    assert main(["ingest", *SPARK, "--raw", str(raw), pattern]) == 0
    assert capsys.readouterr().out.count("skipped: already ingested") == 3
    assert main(["ingest", *SPARK, "--raw", str(raw), str(tmp_path / "no*.log")]) == 1
    assert "no such file" in capsys.readouterr().out


def test_approximate_needs_the_spark_engine(runs, capsys):
    base, _, _, local, _ = runs
    out = base / "out-refused"
    code = main(
        ["totals", "--raw", str(local), "--out", str(out), "--approximate", "0.05"]
    )
    assert code == 2 and "needs --engine spark" in capsys.readouterr().err
    code = main(
        ["totals", *SPARK, "--raw", str(local), "--out", str(out), "--approximate", "2"]
    )
    assert code == 2 and "relative error" in capsys.readouterr().err


def test_the_keyed_hash_is_the_same_in_spark(spark):
    import random

    from anaconda_anon_usage.stats.dataset import TOKEN_KINDS as TOKENS
    from anaconda_anon_usage.stats.spark.ingest import with_hashes

    rng = random.Random(5)
    key = rng.randbytes(32).hex()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    values = ["".join(rng.choices(alphabet, k=rng.randint(1, 64))) for _ in range(400)]
    frame = spark.createDataFrame([(v,) for v in values] + [(None,)], "v string")
    from pyspark.sql import functions as F

    tokens = frame.select(
        "v",
        *(F.col("v").alias(name) for name in TOKENS),
        F.array(F.concat(F.lit("i/"), "v"), F.lit("m/x")).alias("admin"),
    )
    got = with_hashes(tokens, key).collect()
    negative = 0
    for row in got:
        if row.v is None:
            assert (row.client, row.session, row.environment) == (0, 0, 0)
            continue
        for name, kind in TOKENS.items():
            want = ds.keyed_hash(key, kind, row.v)
            assert row[name] == want, (kind, row.v)
            negative += want < 0
        admin = f"{ds.keyed_hash(key, 'i', row.v)} {ds.keyed_hash(key, 'm', 'x')}"
        assert row.admin == admin
    assert 400 < negative < 800  # about half of 1200 are negative


def test_spark_errors_are_one_line(spark, tmp_path: Path, capsys):
    missing = tmp_path / "nope.log"
    plain = tmp_path / "p.log"
    plain.write_bytes(b"no newline at the end")
    xz = tmp_path / "a.log.xz"
    xz.write_bytes(b"\xfd7zXZ\x00rest")
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    raw = tmp_path / "raw"
    files = [str(missing), str(plain), str(xz), str(empty)]
    code = main(["ingest", *SPARK, "--raw", str(raw), *files])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err + captured.out
    lines = captured.out.splitlines()
    assert any(line.startswith(f"{missing}: skipped:") for line in lines)
    assert any(line.startswith(f"{plain}: skipped:") for line in lines)
    assert any(line.startswith(f"{xz}: skipped:") for line in lines)
    assert f"{empty}: skipped: empty" in lines  # as the local engine says
    assert ds.RawDataset(str(raw)).ledger() == []
    code = main(["ingest", *SPARK, "--conf", "nokey", "--raw", str(raw), str(plain)])
    assert code == 2 and "key=value" in capsys.readouterr().err
    assert main(["totals", *SPARK, "--raw", str(tmp_path / "none")]) == 2
    assert "no raw dataset" in capsys.readouterr().err


def test_the_spark_submit_script_implies_the_spark_engine():
    from anaconda_anon_usage.stats.spark.__main__ import spark_argv

    assert spark_argv(["ingest", "--raw", "r", "a.log"]) == [
        "ingest",
        "--engine",
        "spark",
        "--raw",
        "r",
        "a.log",
    ]
    assert spark_argv(["totals", "--engine", "local"]) == [
        "totals",
        "--engine",
        "local",
    ]
    assert spark_argv(["totals", "--engine=local"]) == ["totals", "--engine=local"]
    assert spark_argv(["report", "--totals", "t"]) == ["report", "--totals", "t"]
    assert spark_argv([]) == []


def test_local_masters_get_few_shuffle_partitions():
    pytest.importorskip("pyspark", reason="the spark extra")
    from anaconda_anon_usage.stats.spark.session import local_cores

    assert local_cores("local") == 1
    assert local_cores("local[2]") == 2
    assert local_cores("local[3,2]") == 3
    assert local_cores("local[*]") == (os.cpu_count() or 1)
    for cluster in ("yarn", "spark://host:7077", "k8s://https://h:443", ""):
        assert local_cores(cluster) is None


def test_local_mode_gets_a_bigger_driver_heap_only_where_nobody_chose_one(
    tmp_path: Path,
):
    """Local mode's tasks share the driver's heap: Spark's 1 GB made exact
    totals spill on a few hundred MB of logs. More, but never over a choice
    made anywhere Spark users make it."""
    pytest.importorskip("pyspark", reason="the spark extra")
    from anaconda_anon_usage.stats.spark.session import launch_conf

    env = {"SPARK_CONF_DIR": str(tmp_path)}
    gib = 1 << 30

    def chosen(master=None, conf=None, physical=16 * gib, **extra):  # type: ignore[no-untyped-def]
        return launch_conf(master, conf or {}, {**env, **extra}, physical)

    four = {"spark.driver.memory": "4096m"}
    assert chosen() == four  # local[*] by default
    assert chosen("local[2]") == four
    assert chosen(physical=8 * gib) == {"spark.driver.memory": "2048m"}
    assert chosen(physical=2 * gib) == {}  # a quarter is less than Spark's 1 GB
    assert chosen("yarn") == {}
    assert chosen(conf={"spark.master": "spark://h:7077"}) == {}
    # the user's own choice, which would be too late once the JVM runs
    assert chosen("yarn", {"spark.driver.memory": "6g"}) == {
        "spark.driver.memory": "6g"
    }
    assert chosen(PYSPARK_GATEWAY_PORT="4040") == {}  # spark-submit's JVM
    for args in (
        "--driver-memory 2g pyspark-shell",
        "--conf spark.driver.memory=2g pyspark-shell",
        "--properties-file /etc/x.conf pyspark-shell",
        "--master yarn pyspark-shell",
    ):
        assert chosen(PYSPARK_SUBMIT_ARGS=args) == {}, args
    assert chosen(PYSPARK_SUBMIT_ARGS="--master local[2] pyspark-shell") == four
    assert chosen(SPARK_DRIVER_MEMORY="3g") == {}
    defaults = tmp_path / "spark-defaults.conf"
    defaults.write_text("# spark.driver.memory 3g\n")
    assert chosen() == four
    for text in ("spark.driver.memory 3g\n", "spark.driver.memory=3g\n"):
        defaults.write_text(text)
        assert chosen() == {}, text
    defaults.write_text("spark.master   yarn\n")
    assert chosen() == {}
    assert chosen("local[2]") == four  # --master wins over the file
    defaults.unlink()
    (tmp_path / "spark-env.sh").write_text("export SPARK_DRIVER_MEMORY=3g\n")
    assert chosen() == {}


def test_the_test_session_got_the_heap_it_was_given(spark):
    from conftest import SPARK_TEST_CONF

    from anaconda_anon_usage.stats.spark.session import launch_conf

    given = launch_conf("local[2]", SPARK_TEST_CONF).get("spark.driver.memory")
    heap = spark._jvm.java.lang.Runtime.getRuntime().maxMemory()
    if given is None:
        pytest.skip("this machine's driver memory is chosen elsewhere")
    assert given.endswith("m")
    assert heap > 0.8 * (int(given[:-1]) << 20)


def test_a_full_disk_is_one_line_per_log(spark, tmp_path: Path, capsys):
    """Spark's write failing (a full disk) ended in a Python traceback."""
    from conftest import tmpfs_mount

    logs = tmp_path / "logs"
    generate(str(logs), weeks=2, clients=3000, seed=4)
    files = sorted(str(p) for p in logs.glob("*.log"))
    with tmpfs_mount(tmp_path / "full", "size=256k") as full:
        code = main(["ingest", *SPARK, "--raw", str(full / "raw"), *files])
        captured = capsys.readouterr()
        assert code == 1
        assert "Traceback" not in captured.out + captured.err
        for name in files:
            assert f"{name}: skipped: No space left on device" in captured.out
        assert ds.RawDataset(str(full / "raw")).ledger() == []
        staging = full / "raw" / "_staging"
        assert not staging.exists() or not any(staging.iterdir())


def test_master_flag_wins_over_conf_master_as_in_spark_submit():
    """``--master`` beats ``--conf spark.master=…`` (spark-submit's order),
    both for the JVM's launch (driver heap) and the session it builds."""
    pytest.importorskip("pyspark", reason="the spark extra")
    from pyspark import SparkConf

    from anaconda_anon_usage.stats.spark.session import launch_conf, session_conf

    given = {"spark.master": "yarn", "spark.executor.cores": "3"}
    built = session_conf(SparkConf(loadDefaults=False), "local[3]", given)
    assert built.get("spark.master") == "local[3]"
    assert built.get("spark.executor.cores") == "3"
    assert built.get("spark.sql.shuffle.partitions") == "6"
    assert (
        session_conf(SparkConf(loadDefaults=False), None, given).get("spark.master")
        == "yarn"
    )
    heap = launch_conf("local[3]", given, {}, 8 << 30)
    assert heap.get("spark.driver.memory")
