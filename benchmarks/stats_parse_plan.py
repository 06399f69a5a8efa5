"""Would one lazy polars plan, or another way to hash, make ``ingest`` faster?

Usage: python benchmarks/stats_parse_plan.py (--log FILE | --mb 300) [--runs 2]

Measures in the same run, on the same log, wall and CPU time (all threads):

1. the parse stage as ``ingest`` runs it: blocks of 16 MiB, two at a time in
   threads, each cut into lines, split on its quotes (``frames._fields``),
   each run of equal times parsed once (``frames._timestamps``), conda rows
   kept;
2. the same as ONE lazy polars plan over the file (``scan_csv``, the same
   fast path as expressions, a timestamp worked out on every line, the
   line counts, first and last time and hours beside the conda rows),
   collected with the streaming engine: no Python between steps. It checks
   a time's shape (``lf.TIME``) but not the day of the month nor the ranges
   of the clock and offset, and has no slow path for odd lines: its cost is
   a lower bound of a real one;
3. ways to compute ``dataset.keyed_hash`` of the log's distinct tokens:
   ``ingest``'s own (hashlib, a copied prefix per value), hashlib on the
   whole string in a list comprehension or ``map``, and, when installed, the
   ``polars-hash`` plugin (sha256 in Rust, no GIL). Each is checked against
   ``dataset.keyed_hash``.

Why it is kept: it is the measurement behind keeping the parse as it is
(per block, each distinct time, user-agent and request once) rather than
one streaming plan; run it again when polars or the grammar changes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl

from anaconda_anon_usage.stats import frames
from anaconda_anon_usage.stats import lineformat as lf
from anaconda_anon_usage.stats.dataset import keyed_hash
from anaconda_anon_usage.stats.ingest import _CountingReader, _Tokens, blocks

KEY = "00" * 32
LINE = pl.col("line")


def measure(label: str, size: float, work: Callable[[], Any]) -> Any:
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"{label:44s} wall {wall:6.2f} s ({size / wall:5.0f} MB/s)"
        f" | CPU {cpu:6.2f} s ({cpu * 1000 / size:5.2f} ms/MB,"
        f" {cpu / wall:.2f} cores) | load {load:.1f}",
        flush=True,
    )
    return result


def current_stage(path: str) -> int:
    """Conda rows of the log, the way ``frames.parse_chunk`` gets them."""

    def one(block: bytes) -> int:
        fields = frames._fields(frames._split_lines(block))
        fields = fields.with_columns(frames._timestamps(fields.get_column("time")))
        valid = fields.filter(pl.col("timestamp").is_not_null())
        valid.select(
            pl.col("timestamp").min().alias("first"),
            pl.col("timestamp").max().alias("last"),
            (pl.col("timestamp") // 3600).unique().len().alias("hours"),
        )
        return len(valid.filter(pl.col("agent").str.starts_with("conda/")))

    with open(path, "rb") as raw, ThreadPoolExecutor(2) as pool:
        reader = _CountingReader(raw, lambda size: None)
        return sum(pool.map(one, blocks(reader)))


def _timestamp(time_text: pl.Expr) -> pl.Expr:
    """Seconds since the epoch of a ``lf.TIME`` text, on every line."""

    def number(start: int, length: int) -> pl.Expr:
        return time_text.str.slice(start, length).cast(pl.Int64, strict=False)

    months = {name: n for n, name in enumerate(lf.MONTHS, 1)}
    day, year, month = number(0, 2), number(7, 4), time_text.str.slice(3, 3)
    month = month.replace_strict(months, default=None, return_dtype=pl.Int64)
    y = year - (month <= 2).cast(pl.Int64)
    era = y // 400
    yoe = y - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + day_of_year - 719468
    sign = pl.when(time_text.str.slice(21, 1) == "-").then(-1).otherwise(1)
    offset = sign * (number(22, 2) * 3600 + number(24, 2) * 60)
    clock = number(12, 2) * 3600 + number(15, 2) * 60 + number(18, 2)
    stamp = days * 86400 + clock - offset
    return pl.when(time_text.str.contains(lf.TIME)).then(stamp)


def one_plan(path: str) -> int:
    """The same as one lazy plan, collected by the streaming engine."""
    lines = pl.scan_csv(
        path,
        has_header=False,
        separator=lf.SEPARATOR,
        quote_char=None,
        schema={"line": pl.String},
        encoding="utf8-lossy",
        truncate_ragged_lines=True,
    )
    masked = (
        pl.when(LINE.str.contains("\\", literal=True))
        .then(frames._mask(LINE))  # type: ignore[arg-type]
        .otherwise(LINE)
    )
    names = ["head", "request", "middle", "referer", "between", "agent", "rest"]
    split = lines.with_columns(
        masked.str.splitn('"', frames.QUOTES).struct.rename_fields(names).alias("p")
    ).unnest("p")
    head, middle, rest = pl.col("head"), pl.col("middle"), pl.col("rest")
    fast = (
        rest.is_not_null()
        & (pl.col("between") == " ")
        & ((rest == "") | rest.str.starts_with(" "))
        & middle.str.contains(frames.MIDDLE)
        & head.str.contains(frames.HEAD)
    ).fill_null(False)
    stamp = pl.col("timestamp")
    parsed = split.select(
        "request",
        "agent",
        middle.str.slice(1, 3).alias("status"),
        pl.when(fast).then(_timestamp(head.str.slice(-28, 26))).alias("timestamp"),
    )
    stats = parsed.select(
        pl.len().alias("lines"),
        stamp.null_count().alias("malformed"),
        stamp.min().alias("first"),
        stamp.max().alias("last"),
        (stamp // 3600).unique().len().alias("hours"),
    )
    conda = parsed.filter(
        stamp.is_not_null() & pl.col("agent").str.starts_with("conda/")
    ).select(pl.len())
    _, rows = pl.collect_all([stats, conda], engine="streaming")
    return int(rows.item())


def distinct_tokens(path: str) -> list[str]:
    with open(path, "rb") as raw:
        reader = _CountingReader(raw, lambda size: None)
        agents = pl.concat(
            frames.parse_chunk(block).conda.select("client", "session", "environment")
            for block in blocks(reader)
        )
    return (
        pl.concat([agents.get_column(name) for name in agents.columns])
        .drop_nulls()
        .unique()
        .to_list()
    )


def hash_ways(values: list[str]) -> dict[str, Callable[[], pl.Series]]:
    prefix = KEY + "c/"

    def to_series(digests: list[bytes]) -> pl.Series:
        return (
            pl.Series(digests, dtype=pl.Binary)
            .bin.reinterpret(dtype=pl.Int64, endianness="big")
            .replace(0, 1)
        )

    class Fake:
        key_hex = KEY

    tokens = _Tokens(Fake())  # type: ignore[arg-type]
    sha256 = hashlib.sha256
    ways = {
        "ingest's own (copied prefix per value)": lambda: tokens._hash(
            "c", pl.Series(values, dtype=pl.String)
        ),
        "hashlib, list comprehension": lambda: to_series(
            [sha256((prefix + v).encode()).digest()[:8] for v in values]
        ),
        "hashlib, map": lambda: to_series(
            list(map(lambda v: sha256((prefix + v).encode()).digest()[:8], values))
        ),
    }
    try:
        import polars_hash  # noqa: F401  (registers the .chash namespace)
    except ImportError:
        print("polars-hash not installed: its line is left out")
        return ways
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    digest = (pl.lit(prefix) + pl.col("v")).chash.sha2_256()  # type: ignore[attr-defined]
    signed = (
        digest.str.slice(0, 16)
        .str.to_integer(base=16, dtype=pl.UInt64)
        .reinterpret(signed=True)
    )
    ways["polars-hash sha2_256 (Rust, no GIL)"] = lambda: frame.select(
        pl.when(signed == 0).then(1).otherwise(signed)
    ).to_series()
    return ways


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--log", help="a plain access log")
    source.add_argument("--mb", type=int, help="generate a log of about this size")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if args.log is not None:
        compare(args.log, args.runs)
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from stats_ingest import make_log

    with tempfile.TemporaryDirectory(prefix="aau-parse-plan-") as directory:
        compare(make_log(directory, args.mb), args.runs)


def compare(path: str, runs: int) -> None:
    size = os.path.getsize(path) / 1e6
    print(
        f"log: {path}, {size:.0f} MB; polars {pl.__version__}, {os.cpu_count()} cores"
    )
    for run in range(1, runs + 1):
        print(f"run {run}:")
        a = measure("parse stage as ingest runs it", size, lambda: current_stage(path))
        b = measure(
            "one lazy plan, streaming (lower bound)", size, lambda: one_plan(path)
        )
        print(f"  conda rows: {a:,} and {b:,}")
    values = distinct_tokens(path)
    print(f"distinct tokens: {len(values):,} (hashed as kind c)")
    expected = [keyed_hash(KEY, "c", value) for value in values[:1000]]
    for run in range(1, runs + 1):
        for label, way in hash_ways(values).items():
            start = time.process_time()
            hashes = measure(f"{label} (run {run})", size, way)
            per_value = (time.process_time() - start) / len(values) * 1e9
            print(f"  {per_value:.0f} ns of CPU per value")
            assert hashes.head(1000).to_list() == expected, label


if __name__ == "__main__":
    main()
