"""Ingest throughput of ``aau-stats`` on a realistic log, against a plain loop.

Usage: python benchmarks/stats_ingest.py [--mb 300] [--keep DIR]

Generates a log of about ``--mb`` MB: conda requests with tokens (and some
without), pip, browsers, bots, IPv6 clients, escaped quotes, bytes that are
not UTF-8 and garbage. In the same run it measures:

1. a plain Python loop that only reads the file's lines (the baseline);
2. ``ingest`` of the whole file into a fresh raw dataset, in its own
   process, with its peak memory;
3. the same for the first third of the file, to show whether peak memory
   grows with the size of the log.

Target (issue 5): at least 250 MB/s on plain files on a 2-core machine, peak
memory flat in the size of the log.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

INGEST = r"""
import json, os, resource, sys, time
from anaconda_anon_usage.stats.ingest import ingest_path
from anaconda_anon_usage.stats.dataset import RawDataset
db = RawDataset(sys.argv[2], write=True)
start = time.perf_counter()
result = ingest_path(db, sys.argv[1])
elapsed = time.perf_counter() - start
assert result.status == "ingested", result.status
print(json.dumps({
    "seconds": elapsed, "lines": result.lines, "conda": result.conda_requests,
    "malformed": result.malformed,
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


def plain_loop(path: str) -> tuple[float, int]:
    start = time.perf_counter()
    count = 0
    with open(path, "rb") as stream:
        for _ in stream:
            count += 1
    return time.perf_counter() - start, count


def ingest(path: str, directory: str) -> dict[str, float]:
    database = os.path.join(directory, f"raw-{os.path.basename(path)}")
    out = subprocess.run(
        [sys.executable, "-c", INGEST, path, database],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mb", type=int, default=300, help="size of the log to generate"
    )
    parser.add_argument("--keep", help="directory to keep the log and databases in")
    args = parser.parse_args()
    directory = args.keep or tempfile.mkdtemp(prefix="aau-stats-bench-")
    os.makedirs(directory, exist_ok=True)
    try:
        started = time.perf_counter()
        path = make_log(directory, args.mb)
        size = os.path.getsize(path) / 1e6
        print(
            f"generated {size:.0f} MB in {time.perf_counter() - started:.1f} s: {path}"
        )
        seconds, lines = plain_loop(path)
        print(
            f"plain Python loop reading lines: {size / seconds:8.0f} MB/s "
            f"{lines / seconds:12,.0f} lines/s"
        )
        whole = ingest(path, directory)
        print(
            f"aau-stats ingest:                {size / whole['seconds']:8.0f} MB/s "
            f"{whole['lines'] / whole['seconds']:12,.0f} lines/s  "
            f"({whole['conda']:,} conda requests, {whole['malformed']:,} malformed)"
        )
        part = first_part(path, 1 / 3)
        third = ingest(part, directory)
        print(
            f"peak memory: {whole['peak_mb']:.0f} MB for {size:.0f} MB of log, "
            f"{third['peak_mb']:.0f} MB for {os.path.getsize(part) / 1e6:.0f} MB"
        )
        rate = size / whole["seconds"]
        flat = whole["peak_mb"] <= third["peak_mb"] * 1.25
        print(f"target >= 250 MB/s met: {rate >= 250}; peak memory flat: {flat}")
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
