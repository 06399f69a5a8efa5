"""The Spark engine beside the local one, and beside the query an operator
would write instead, on the same generated log, in the same run.

Usage: python benchmarks/stats_spark.py [--mb 120] [--master local[2]] [--keep DIR]

Needs the spark extra and Java. Generates a log of about ``--mb`` MB (as
``stats_ingest.py`` does: conda requests with and without tokens, other
clients, garbage; one complete week) and one of a third of that size. Prints:

1. Spark's fixed start-up cost (JVM, session, a first trivial job);
2. the first run in this JVM of the operator query and of the Spark engine,
   on every 20th line of the small log (a complete week still): the first
   run of anything in a JVM compiles Spark's own code, so both pay that
   here and neither is timed cold below;
3. for each size, in the same session: the local engine (``aau-stats
   ingest`` then ``totals``, in a subprocess), the Spark engine
   (``--engine spark``, the same two commands) and the one-off Spark SQL
   query an operator would write instead (a regular expression on each
   line, distinct ``c/``, ``e/``, ``s/`` per week): wall time, MB/s, and CPU
   time (of this process and of the JVM: tasks, planning, JIT, GC), which
   moves much less than wall time with what else the machine runs;
4. the cost of each MB more (big minus small: the fixed costs cancel out),
   in wall and CPU time, and the engine's ingest + totals against the query
   as ratios, for each size.

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
    start, cpu0 = time.perf_counter(), time.process_time()
    assert main(["ingest", "--raw", raw, path]) == 0
    middle, cpu1 = time.perf_counter(), time.process_time()
    assert main(["totals", "--raw", raw, "--out", out]) == 0
    end, cpu2 = time.perf_counter(), time.process_time()
print(json.dumps({"ingest": middle - start, "totals": end - middle, "cpu": cpu2 - cpu0}))
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


def fresh(directory: str, engine: str, tag: str) -> tuple[str, str]:
    """An empty raw dataset and output directory for one run: with ``--keep``
    a run before this one left its own, whose ledger would make this run
    ingest nothing."""
    raw = os.path.join(directory, f"raw-{engine}-{tag}")
    out = os.path.join(directory, f"out-{engine}-{tag}")
    for path in (raw, out):
        shutil.rmtree(path, ignore_errors=True)
    return raw, out


def local_engine(path: str, directory: str, tag: str) -> dict[str, float]:
    raw, out = fresh(directory, "local", tag)
    result = subprocess.run(
        [sys.executable, "-c", LOCAL, path, raw, out],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def cpu_seconds(spark) -> float:  # type: ignore[no-untyped-def]
    """CPU time so far of this process and of the local JVM (every thread:
    tasks, the driver's planning, JIT compilers, garbage collection): what a
    run costs whatever else the machine is doing."""
    pid = spark.sparkContext._gateway.proc.pid  # the JVM pyspark launched
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK") + time.process_time()


def spark_engine(  # type: ignore[no-untyped-def]
    spark, path: str, directory: str, tag: str, master: str
) -> dict[str, float]:
    from anaconda_anon_usage.stats.cli import main

    raw, out = fresh(directory, "spark", tag)
    engine = ["--engine", "spark", "--master", master]
    with contextlib.redirect_stdout(io.StringIO()):
        start, cpu = time.perf_counter(), cpu_seconds(spark)
        assert main(["ingest", *engine, "--raw", raw, path]) == 0
        middle = time.perf_counter()
        assert main(["totals", *engine, "--raw", raw, "--out", out]) == 0
        end = time.perf_counter()
    return {
        "ingest": middle - start,
        "totals": end - middle,
        "cpu": cpu_seconds(spark) - cpu,
    }


def operator_query(spark, path: str) -> tuple[dict[str, float], list]:  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), cpu_seconds(spark)
    spark.read.text(path).createOrReplaceTempView("logs")
    rows = spark.sql(OPERATOR_QUERY).collect()
    took = time.perf_counter() - start
    return {"ingest": took, "totals": 0.0, "cpu": cpu_seconds(spark) - cpu}, rows


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
        # The first run of anything in a JVM pays for compiling Spark's own
        # code (JIT) and the query's generated code: both pay it here, once,
        # on the same small log (every 20th line of the small one: still a
        # complete week, so totals run too), so neither is timed cold below.
        warm = os.path.join(directory, "access-warm.log")
        with open(sizes["small"], "rb") as source, open(warm, "wb") as target:
            target.writelines(line for i, line in enumerate(source) if i % 20 == 0)
        first = {
            "operator SQL": operator_query(spark, warm)[0],
            "spark engine": spark_engine(spark, warm, directory, "warm", args.master),
        }
        print(
            f"first runs in this JVM ({os.path.getsize(warm) / 1e6:.0f} MB log): "
            + ", ".join(
                f"{name} {t['ingest'] + t['totals']:.1f} s, {t['cpu']:.1f} CPU s"
                for name, t in first.items()
            )
        )
        header = (
            f"{'':28}{'MB':>6}{'ingest s':>10}{'totals s':>10}{'MB/s':>8}"
            f"{'CPU s':>8}{'MB/CPU s':>10}"
        )
        print(header)
        seconds: dict[tuple[str, str], dict[str, float]] = {}
        megabytes = {tag: os.path.getsize(path) / 1e6 for tag, path in sizes.items()}
        for tag, path in sizes.items():
            size = megabytes[tag]
            for name, run in (
                ("local engine", lambda p=path, t=tag: local_engine(p, directory, t)),
                (
                    "spark engine",
                    lambda p=path, t=tag: spark_engine(
                        spark, p, directory, t, args.master
                    ),
                ),
                ("operator SQL", lambda p=path: operator_query(spark, p)),
            ):
                times = run()
                note = ""
                if name == "operator SQL":
                    times, rows = times  # type: ignore[misc]
                    clients = max(r.clients for r in rows)
                    note = f"   ({len(rows)} week(s), {clients:,} clients)"
                seconds[name, tag] = times
                wall = times["ingest"] + times["totals"]
                totals = f"{times['totals']:10.1f}" if times["totals"] else f"{'-':>10}"
                print(
                    f"{name + ' (' + tag + ')':28}{size:6.0f}{times['ingest']:10.1f}"
                    f"{totals}{size / wall:8.1f}{times['cpu']:8.1f}"
                    f"{size / times['cpu']:10.1f}{note}"
                )
        # the cost of each MB more, without the fixed costs (JVM warm-up,
        # code generation, scheduling): flat when this matches the MB/s above
        extra = megabytes["big"] - megabytes["small"]
        print(f"{'each MB more (big - small)':28}{'MB':>6}{'MB/s':>28}{'MB/CPU s':>18}")
        for name in ("local engine", "spark engine", "operator SQL"):
            big, small = seconds[name, "big"], seconds[name, "small"]
            more = big["ingest"] + big["totals"] - small["ingest"] - small["totals"]
            cpu = big["cpu"] - small["cpu"]
            rate = f"{extra / more:28.1f}" if more > 0 else f"{'n/a':>28}"
            per_cpu = f"{extra / cpu:18.1f}" if cpu > 0 else f"{'n/a':>18}"
            print(f"{name:28}{extra:6.0f}{rate}{per_cpu}")
        # the headline: the engine's ingest + totals against the query
        for tag in sizes:
            engine, query = seconds["spark engine", tag], seconds["operator SQL", tag]
            wall = (engine["ingest"] + engine["totals"]) / query["ingest"]
            print(
                f"spark engine / operator SQL ({tag}): {wall:.1f}x the wall time, "
                f"{engine['cpu'] / query['cpu']:.1f}x the CPU time"
            )
        spark.stop()
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
