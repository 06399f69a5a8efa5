"""Where the Spark engine's time goes, step by step, beside the operator query.

Usage: python benchmarks/stats_spark_steps.py [--mb 120] [--runs 3] [--master local[2]]
       [--keep DIR]

Needs the spark extra and Java. Generates one log as ``stats_spark.py`` does
(its "big" log for the same ``--mb``), starts one Spark session, runs every
step once untimed (the JVM compiles Spark's code and each plan's generated
code on a first run), then ``--runs`` rounds of every step, one after another,
on the same log, in the same warm session:

  query     the one-off Spark SQL query of ``stats_spark.py`` (collected)
  read      the lines read and made valid UTF-8 (no grammar): the floor of
            reading
  classify  + ``parse.classify`` on every line and ingest's observed counts
  grammar   + the conda requests' fields (``parse.request_fields``): the whole
            line grammar, nothing hashed or written
  hashes    + the keyed hashes and the stored columns (``ingest.stored``)
  write     + the Parquet dataset written as ingest writes it (the Spark job
            of ``ingest``, without the driver's planning and commit)
  ingest    ``aau-stats ingest --engine spark`` (a fresh raw dataset each run)
  totals    ``aau-stats totals --engine spark`` (exact)
  approx    ``aau-stats totals --engine spark --approximate 0.05``

Steps ``read`` to ``hashes`` end in Spark's ``noop`` sink: every column is
computed (a ``count()`` would let Spark prune the unused columns away) and
nothing is written. For each step it prints the wall time, the CPU time (this
process and the JVM) and the JVM's CPU split by thread: Spark's tasks, the JIT
compilers, garbage collection, the rest (the driver's planning, I/O threads).
The lowest of the runs and the median are given.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stats_spark import OPERATOR_QUERY, make_log


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of each group of the JVM's threads (by name)."""
    ticks = os.sysconf("SC_CLK_TCK")
    groups: dict[str, float] = defaultdict(float)
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                text = stat.read()
        except OSError:  # the thread ended meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        if name.startswith("Executor task"):
            group = "tasks"
        elif "Compiler" in name or name.startswith(("C1 ", "C2 ")):
            group = "jit"
        elif name.startswith(("GC ", "G1 ", "VM Thread")):
            group = "gc"
        else:
            group = "other"
        groups[group] += cpu
    # threads that ended are in the process's total only
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / ticks
    groups["other"] += total - sum(groups.values())
    groups["python"] = time.process_time()
    return groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--keep", help="directory to keep the log in (reused)")
    parser.add_argument(
        "--steps", default="", help="comma-separated steps to run (default: all)"
    )
    parser.add_argument(
        "--jfr", help="record the timed runs with Java Flight Recorder into this file"
    )
    args = parser.parse_args()
    directory = args.keep or tempfile.mkdtemp(prefix="aau-spark-steps-")
    os.makedirs(directory, exist_ok=True)
    try:
        path = os.path.join(directory, f"access-{args.mb}.log")
        if not os.path.exists(path):
            made = make_log(directory, args.mb, "big")
            os.replace(made, path)
        megabytes = os.path.getsize(path) / 1e6
        print(f"log: {megabytes:.0f} MB; load average {os.getloadavg()}")
        return run(args, directory, path, megabytes)
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


def run(args: argparse.Namespace, directory: str, path: str, megabytes: float) -> int:
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from anaconda_anon_usage.stats.cli import main as cli
    from anaconda_anon_usage.stats.dataset import RawDataset
    from anaconda_anon_usage.stats.spark import ingest as sparkingest
    from anaconda_anon_usage.stats.spark.parse import (
        classify,
        request_fields,
    )
    from anaconda_anon_usage.stats.spark.session import get_session

    start = time.perf_counter()
    spark = get_session(args.master, {"spark.ui.enabled": "false"})
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1).count()
    print(f"Spark start-up ({args.master}): {time.perf_counter() - start:.1f} s")
    pid = spark.sparkContext._gateway.proc.pid  # type: ignore[union-attr]
    engine = ["--engine", "spark", "--master", args.master]
    key = RawDataset(os.path.join(directory, "keyed"), write=True)
    key_hex = key.key_hex
    key.close()
    counter = iter(range(1 << 30))

    def lines():  # type: ignore[no-untyped-def]
        return sparkingest._read(spark, [sparkingest.Source(path, path)])

    def classified():  # type: ignore[no-untyped-def]
        frame = classify(lines(), keep=("source",))
        return frame.observe(Observation("steps"), *sparkingest._metrics(1))

    def grammar():  # type: ignore[no-untyped-def]
        conda = classified().filter(F.col("line_kind") == "conda")
        return request_fields(conda, ("source",))

    def hashes():  # type: ignore[no-untyped-def]
        return sparkingest.stored(grammar(), key_hex)

    def noop(frame) -> None:  # type: ignore[no-untyped-def]
        frame.write.format("noop").mode("overwrite").save()

    def write() -> None:
        out = os.path.join(directory, "write")
        hashes().write.partitionBy("source", "date").option("compression", "zstd").mode(
            "overwrite"
        ).parquet("file://" + out)

    def query() -> None:
        spark.read.text(path).createOrReplaceTempView("logs")
        spark.sql(OPERATOR_QUERY).collect()

    raw = os.path.join(directory, "raw")

    def ingest() -> None:
        shutil.rmtree(raw, ignore_errors=True)
        assert cli(["ingest", *engine, "--raw", raw, path]) == 0

    def totals(*extra: str) -> Callable[[], None]:
        def step() -> None:
            out = os.path.join(directory, f"out-{next(counter)}")
            assert cli(["totals", *engine, "--raw", raw, "--out", out, *extra]) == 0
            shutil.rmtree(out)

        return step

    steps: dict[str, Callable[[], None]] = {
        "query": query,
        "read": lambda: noop(lines()),
        "classify": lambda: noop(classified()),
        "grammar": lambda: noop(grammar()),
        "hashes": lambda: noop(hashes()),
        "write": write,
        "ingest": ingest,
        "totals": totals(),
        "approx": totals("--approximate", "0.05"),
    }
    if args.steps:
        chosen = args.steps.split(",")
        steps = {name: steps[name] for name in chosen}
        if "ingest" not in chosen and any(n in chosen for n in ("totals", "approx")):
            with contextlib.redirect_stdout(io.StringIO()):
                ingest()  # what they count (untimed)

    def timed(step: Callable[[], None]) -> dict[str, float]:
        before, start = thread_cpu(pid), time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            step()
        wall = time.perf_counter() - start
        after = thread_cpu(pid)
        result = {name: after[name] - before.get(name, 0.0) for name in after}
        result["cpu"] = sum(result.values())
        result["wall"] = wall
        return result

    for step in steps.values():  # first runs: the JVM compiles, untimed
        timed(step)
    if args.jfr:
        jcmd = ["jcmd", str(pid), "JFR.start", "name=steps", "settings=profile"]
        subprocess.run(jcmd, check=True, capture_output=True)
    seen: dict[str, list[dict[str, float]]] = defaultdict(list)
    loads = []
    for _ in range(args.runs):
        loads.append(os.getloadavg()[0])
        for name, step in steps.items():
            seen[name].append(timed(step))
    loads.append(os.getloadavg()[0])
    if args.jfr:
        jcmd = ["jcmd", str(pid), "JFR.stop", "name=steps", f"filename={args.jfr}"]
        subprocess.run(jcmd, check=True, capture_output=True)
    print(
        f"{args.runs} runs of each step, load average (1 min) {min(loads):.1f}-{max(loads):.1f}"
    )
    columns = ("wall", "cpu", "tasks", "jit", "gc", "other", "python")
    print(
        f"{'step (lowest; median)':24}"
        + "".join(f"{c:>14}" for c in columns)
        + f"{'MB/CPU s':>10}"
    )
    query_cpu = (
        statistics.median(r["cpu"] for r in seen["query"]) if "query" in seen else None
    )
    for name, runs in seen.items():
        cells = []
        for column in columns:
            values = [r[column] for r in runs]
            cells.append(
                f"{min(values):6.1f};{statistics.median(values):6.1f}".rjust(14)
            )
        cpu = statistics.median(r["cpu"] for r in runs)
        ratio = f"  {cpu / query_cpu:.1f}x query CPU" if query_cpu else ""
        print(f"{name:24}" + "".join(cells) + f"{megabytes / cpu:10.1f}" + ratio)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
