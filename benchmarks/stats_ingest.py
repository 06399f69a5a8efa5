"""``aau-stats`` ingest and totals on a realistic log, against a one-off DuckDB query.

Usage: python benchmarks/stats_ingest.py [--mb 300] [--runs 3] [--keep DIR]

Generates a one-week log of about ``--mb`` MB: conda requests with tokens
(and some without), pip, browsers, bots, IPv6 clients, escaped quotes, bytes
that are not UTF-8 and garbage. Then, ``--runs`` times, each in its own
process (so peak memory is its own):

1. the query an operator would write instead: DuckDB reads the log's lines,
   a regular expression takes each line's time and user-agent, and it counts
   distinct ``c/``, ``e/``, ``s/`` tokens and conda requests per week;
2. ``aau-stats ingest`` of the whole file into a fresh raw dataset;
3. ``aau-stats totals -k 1`` on it (end to end = 2 + 3);
4. ``ingest`` of the first third of the file, to show whether peak memory
   grows with the size of the log.

It checks that the weekly clients, environments, sessions and hits of the
query and of ``totals`` agree, and prints every run (wall time, CPU time of
all threads, peak memory) and the best and median. Library imports (polars,
duckdb) are outside the timings of all three.
Targets (issue 10): ingest >= 250 MB/s on plain files on a 2-core machine;
end to end >= 1.5x as fast as the DuckDB query; peak memory flat in the size
of the log. On a shared machine the figures move from run to run: compare
within a run, and look at the best.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

INGEST = r"""
import json, resource, sys, time
from anaconda_anon_usage.stats.dataset import RawDataset
from anaconda_anon_usage.stats.ingest import ingest_path
start, cpu = time.perf_counter(), time.process_time()
db = RawDataset(sys.argv[2], write=True)
result = ingest_path(db, sys.argv[1])
elapsed = time.perf_counter() - start
cpu = time.process_time() - cpu
assert result.status == "ingested", result.status
print(json.dumps({
    "seconds": elapsed, "cpu": cpu, "lines": result.lines, "conda": result.conda_requests,
    "malformed": result.malformed,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""

TOTALS = r"""
import json, resource, sys, time
from anaconda_anon_usage.stats import totals  # imported before timing, as in the others
from anaconda_anon_usage.stats.cli import main
start, cpu = time.perf_counter(), time.process_time()
code = main(["totals", "--raw", sys.argv[1], "--out", sys.argv[2], "-k", "1"])
elapsed = time.perf_counter() - start
cpu = time.process_time() - cpu
assert code == 0
print(json.dumps({
    "seconds": elapsed, "cpu": cpu,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""

# The one-off query: same line grammar (time and user-agent of a well-formed
# line), conda's user-agent, the first whole c/ e/ s/ part, weeks from Monday.
QUERY = r"""
import json, resource, sys, time
import duckdb
start, cpu = time.perf_counter(), time.process_time()
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
quoted = r'"((?:[^"\\]|\\.)*)"'
line_re = (r'^[^ ]+ [^ ]+ [^ ]+ \[([^\]]+)\] ' + quoted + r' [0-9]{3} [^ ]+ '
           + quoted + ' ' + quoted + r'(?: .*)?$')
token = r"(?:^| )X/([A-Za-z0-9_-]{1,64})(?: |$)"
rows = con.execute(f'''
    WITH lines AS (
        SELECT regexp_extract(line, $line_re, ['time', 'request', 'referer', 'agent'])
            AS m
        FROM read_csv($path, columns = {{'line': 'VARCHAR'}}, delim = chr(31),
                      quote = '', escape = '', header = false, auto_detect = false,
                      encoding = 'latin-1')
    ), conda AS (
        SELECT strptime(m.time, '%d/%b/%Y:%H:%M:%S %z') AS ts,
               replace(replace(m.agent, '\\"', '"'), '\\\\', '\\') AS agent
        FROM lines WHERE starts_with(m.agent, 'conda/')
    )
    SELECT strftime(date_trunc('week', ts), '%Y-%m-%d') AS week,
        count(DISTINCT nullif(regexp_extract(agent, $c, 1), '')) AS clients,
        count(DISTINCT nullif(regexp_extract(agent, $e, 1), '')) AS environments,
        count(DISTINCT nullif(regexp_extract(agent, $s, 1), '')) AS sessions,
        count(*) AS hits
    FROM conda GROUP BY week ORDER BY week
''', {"path": sys.argv[1], "line_re": line_re, "c": token.replace("X", "c"),
      "e": token.replace("X", "e"), "s": token.replace("X", "s")}).fetchall()
elapsed = time.perf_counter() - start
cpu = time.process_time() - cpu
print(json.dumps({
    "seconds": elapsed, "cpu": cpu, "weeks": {w: list(r) for w, *r in rows},
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def make_log(directory: str, megabytes: int) -> str:
    from anaconda_anon_usage.stats.synthetic import generate

    clients = max(1000, megabytes * 300)  # about 1 MB of log per 300 clients and week
    logs = os.path.join(directory, "days")
    generate(logs, weeks=1, clients=clients, seed=11, noise_per_day=(clients, clients))
    path = os.path.join(directory, "access.log")
    with open(path, "wb") as out:
        for name in sorted(os.listdir(logs)):
            if name.endswith(".log"):
                with open(os.path.join(logs, name), "rb") as day:
                    shutil.copyfileobj(day, out)
    shutil.rmtree(logs)
    return path


def first_part(path: str, fraction: float) -> str:
    part = path + ".part"
    size = int(os.path.getsize(path) * fraction)
    with open(path, "rb") as source, open(part, "wb") as out:
        out.write(source.read(size))
        out.write(source.readline())  # end on a line boundary
    return part


def run(code: str, *args: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True
    )
    if out.returncode != 0:
        sys.exit(f"benchmark step failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def weekly_from_totals(directory: str) -> dict[str, list[int]]:
    with open(os.path.join(directory, "weekly.csv")) as stream:
        return {
            row["week"]: [
                int(row[c]) for c in ("clients", "environments", "sessions", "hits")
            ]
            for row in csv.DictReader(stream)
            if row["dimension"] == "all"
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300, help="size of the log")
    parser.add_argument("--runs", type=int, default=3, help="repetitions")
    parser.add_argument("--keep", help="directory to keep the log and datasets in")
    args = parser.parse_args()
    directory = args.keep or tempfile.mkdtemp(prefix="aau-stats-bench-")
    os.makedirs(directory, exist_ok=True)
    try:
        path = os.path.join(directory, "access.log")
        if not os.path.exists(path):
            started = time.perf_counter()
            make_log(directory, args.mb)
            print(f"generated the log in {time.perf_counter() - started:.1f} s")
        size = os.path.getsize(path) / 1e6
        part = first_part(path, 1 / 3)
        part_size = os.path.getsize(part) / 1e6
        print(f"log: {path}, {size:.0f} MB; first third {part_size:.0f} MB")
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        results: dict[str, list[float]] = {
            k: []
            for k in (
                *("query", "ingest", "totals", "e2e", "peak", "peak3"),
                *("query_cpu", "e2e_cpu", "load"),
            )
        }
        agree = True
        for n in range(1, args.runs + 1):
            raw = os.path.join(directory, "raw")
            out = os.path.join(directory, "out")
            for place in (raw, out, raw + "3"):
                shutil.rmtree(place, ignore_errors=True)
            load = os.getloadavg()[0]
            query = run(QUERY, path)
            ingest = run(INGEST, path, raw)
            totals = run(TOTALS, raw, out)
            third = run(INGEST, part, raw + "3")
            ours = weekly_from_totals(out)
            theirs = {w: v for w, v in query["weeks"].items() if w in ours}
            same = bool(ours) and ours == theirs
            agree = agree and same
            e2e = ingest["seconds"] + totals["seconds"]
            for key, value in (
                ("query", query["seconds"]),
                ("ingest", ingest["seconds"]),
                ("totals", totals["seconds"]),
                ("e2e", e2e),
                ("peak", ingest["peak_mb"]),
                ("peak3", third["peak_mb"]),
                ("query_cpu", query["cpu"]),
                ("e2e_cpu", ingest["cpu"] + totals["cpu"]),
                ("load", load),
            ):
                results[key].append(value)
            print(
                f"run {n}: DuckDB query {query['seconds']:5.2f} s "
                f"({size / query['seconds']:4.0f} MB/s) | ingest "
                f"{ingest['seconds']:5.2f} s ({size / ingest['seconds']:4.0f} MB/s, "
                f"{ingest['lines'] / ingest['seconds']:,.0f} lines/s) + totals "
                f"{totals['seconds']:4.2f} s = {e2e:5.2f} s "
                f"({size / e2e:4.0f} MB/s, {query['seconds'] / e2e:.2f}x the query) | "
                f"peak {ingest['peak_mb']:.0f} MB ({third['peak_mb']:.0f} MB for the "
                f"third) | weekly numbers agree: {same}\n"
                f"       CPU time (all threads): DuckDB {query['cpu']:.2f} s, ingest "
                f"{ingest['cpu']:.2f} s + totals {totals['cpu']:.2f} s "
                f"(the query takes {query['cpu'] / (ingest['cpu'] + totals['cpu']):.2f}x"
                f" ours); load average before the run {load:.1f}"
            )
            if not same:
                print(f"  aau-stats: {ours}\n  DuckDB:    {query['weeks']}")
        best = {k: min(v) for k, v in results.items()}
        median = {k: statistics.median(v) for k, v in results.items()}
        ratio = [q / e for q, e in zip(results["query"], results["e2e"], strict=True)]
        print(
            f"best:   ingest {size / best['ingest']:.0f} MB/s, end to end "
            f"{size / best['e2e']:.0f} MB/s, DuckDB {size / best['query']:.0f} MB/s"
        )
        print(
            f"median: ingest {size / median['ingest']:.0f} MB/s, end to end "
            f"{size / median['e2e']:.0f} MB/s, DuckDB {size / median['query']:.0f} "
            f"MB/s; end to end / query per run: "
            + ", ".join(f"{r:.2f}x" for r in ratio)
        )
        cpu_ratio = [
            q / e for q, e in zip(results["query_cpu"], results["e2e_cpu"], strict=True)
        ]
        print(
            "CPU time, query / end to end per run: "
            + ", ".join(f"{r:.2f}x" for r in cpu_ratio)
            + " (on a shared machine the wall times depend on the others' load;"
            " CPU time much less)"
        )
        flat = max(results["peak"]) <= 1.25 * max(results["peak3"])
        print(
            f"targets: ingest >= 250 MB/s: {size / best['ingest'] >= 250} (best run); "
            f"end to end >= 1.5x the query: {statistics.median(ratio) >= 1.5} "
            f"(median); peak memory flat: {flat} "
            f"({max(results['peak']):.0f} MB vs {max(results['peak3']):.0f} MB); "
            f"numbers agree: {agree}"
        )
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
