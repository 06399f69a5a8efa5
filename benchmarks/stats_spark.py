"""The Spark engine beside the local one, and beside the query an operator
would write instead, on the same generated log, in the same run.

Usage: python benchmarks/stats_spark.py [--mb 120] [--master local[2]] [--keep DIR]

Needs the spark extra and Java. Generates a log of about ``--mb`` MB (as
``stats_ingest.py`` does: conda requests with and without tokens, other
clients, garbage; one complete week) and one of a third of that size. Prints:

1. Spark's fixed start-up cost (JVM, session, a first trivial job);
2. for each size: MB/s of the local engine (``aau-stats ingest`` then
   ``totals``, in a subprocess) and of the Spark engine (``--engine spark``,
   the same two commands, in this process's session), each with the time
   of ingest and of totals;
3. for each size: the one-off Spark SQL query an operator would write
   instead (a regular expression on each line, distinct ``c/``, ``e/``,
   ``s/`` per week), in the same session.

What to look for (issue 9): Spark's cost per MB stays flat as the input
grows, and its ingest plus totals is no slower than the one-off query. Spark
on 2 local cores is not expected to beat the local engine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

LOCAL = r"""
import contextlib, io, json, sys, time
from anaconda_anon_usage.stats.cli import main
path, raw, out = sys.argv[1:4]
with contextlib.redirect_stdout(io.StringIO()):
    start = time.perf_counter()
    assert main(["ingest", "--raw", raw, path]) == 0
    middle = time.perf_counter()
    assert main(["totals", "--raw", raw, "--out", out]) == 0
    end = time.perf_counter()
print(json.dumps({"ingest": middle - start, "totals": end - middle}))
"""

# What an operator would write without aau-stats: one regular expression per
# field on each line, distinct tokens per week. (No covered-hours check, no
# k-suppression, no breakdowns, no hashing: it does less than aau-stats.)
OPERATOR_QUERY = r"""
SELECT date_trunc('week', try_to_timestamp(
         regexp_extract(value, '\\[([^\\]]+)\\]', 1), 'dd/MMM/yyyy:HH:mm:ss Z')) AS week,
       count(DISTINCT nullif(regexp_extract(value, ' c/([A-Za-z0-9_-]+)', 1), '')) AS clients,
       count(DISTINCT nullif(regexp_extract(value, ' e/([A-Za-z0-9_-]+)', 1), '')) AS environments,
       count(DISTINCT nullif(regexp_extract(value, ' s/([A-Za-z0-9_-]+)', 1), '')) AS sessions,
       count(*) AS hits
FROM logs
WHERE value LIKE '%"conda/%'
GROUP BY 1
"""


def make_log(directory: str, megabytes: int, tag: str) -> str:
    from anaconda_anon_usage.stats.synthetic import generate

    clients = max(1000, megabytes * 300)  # about 1 MB of log per 300 clients
    logs = os.path.join(directory, f"days-{tag}")
    generate(logs, weeks=1, clients=clients, seed=11, noise_per_day=(clients, clients))
    path = os.path.join(directory, f"access-{tag}.log")
    with open(path, "wb") as out:
        for name in sorted(os.listdir(logs)):
            if name.endswith(".log"):
                with open(os.path.join(logs, name), "rb") as day:
                    shutil.copyfileobj(day, out)
    shutil.rmtree(logs)
    return path


def local_engine(path: str, directory: str, tag: str) -> dict[str, float]:
    raw = os.path.join(directory, f"raw-local-{tag}")
    out = os.path.join(directory, f"out-local-{tag}")
    result = subprocess.run(
        [sys.executable, "-c", LOCAL, path, raw, out],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def spark_engine(path: str, directory: str, tag: str, master: str) -> dict[str, float]:
    from anaconda_anon_usage.stats.cli import main

    raw = os.path.join(directory, f"raw-spark-{tag}")
    out = os.path.join(directory, f"out-spark-{tag}")
    engine = ["--engine", "spark", "--master", master]
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        assert main(["ingest", *engine, "--raw", raw, path]) == 0
        middle = time.perf_counter()
        assert main(["totals", *engine, "--raw", raw, "--out", out]) == 0
        end = time.perf_counter()
    return {"ingest": middle - start, "totals": end - middle}


def operator_query(spark, path: str) -> tuple[float, list]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    spark.read.text(path).createOrReplaceTempView("logs")
    rows = spark.sql(OPERATOR_QUERY).collect()
    return time.perf_counter() - start, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=120, help="size of the big log")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--keep", help="directory to keep the logs and outputs in")
    args = parser.parse_args()
    directory = args.keep or tempfile.mkdtemp(prefix="aau-spark-bench-")
    os.makedirs(directory, exist_ok=True)
    try:
        started = time.perf_counter()
        sizes = {
            "small": make_log(directory, max(1, args.mb // 3), "small"),
            "big": make_log(directory, args.mb, "big"),
        }
        print(
            "generated "
            + " and ".join(f"{os.path.getsize(p) / 1e6:.0f} MB" for p in sizes.values())
            + f" in {time.perf_counter() - started:.1f} s"
        )
        start = time.perf_counter()
        from anaconda_anon_usage.stats.spark.session import get_session

        spark = get_session(args.master, {"spark.ui.enabled": "false"})
        spark.sparkContext.setLogLevel("ERROR")
        spark.range(1).count()
        print(f"Spark start-up ({args.master}): {time.perf_counter() - start:.1f} s")
        header = f"{'':28}{'MB':>6}{'ingest s':>10}{'totals s':>10}{'MB/s':>8}"
        print(header)
        for tag, path in sizes.items():
            size = os.path.getsize(path) / 1e6
            for name, run in (
                ("local engine", lambda p=path, t=tag: local_engine(p, directory, t)),
                (
                    "spark engine",
                    lambda p=path, t=tag: spark_engine(p, directory, t, args.master),
                ),
            ):
                times = run()
                total = times["ingest"] + times["totals"]
                print(
                    f"{name + ' (' + tag + ')':28}{size:6.0f}{times['ingest']:10.1f}"
                    f"{times['totals']:10.1f}{size / total:8.1f}"
                )
            seconds, rows = operator_query(spark, path)
            print(
                f"{'operator SQL (' + tag + ')':28}{size:6.0f}{seconds:10.1f}"
                f"{'-':>10}{size / seconds:8.1f}   "
                f"({len(rows)} week(s), {max(r.clients for r in rows):,} clients)"
            )
        spark.stop()
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
