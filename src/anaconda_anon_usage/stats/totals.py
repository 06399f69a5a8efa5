"""Weekly totals that are safe to publish.

* Weeks start Monday 00:00 UTC. A week is published only when the ingested
  files cover it completely: coverage is the union of each ledger file's
  span (its earliest to latest timestamp), joined across gaps no longer than
  ``max_gap``; the overall first and last timestamps say nothing about holes.
* Distinct clients, environments and sessions, and raw hits, are separate
  columns; no number mixes them.
* Broken down by conda version, OS, platform (subdir), Python version,
  channel and package; and clients that are new (first seen that week)
  versus returning.
* A cell backed by fewer than ``k`` distinct clients is not published.
"""

from __future__ import annotations

import csv
import os
import sqlite3
from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl

from .dataset import RawDataset

SECONDS_PER_DAY = 86400
EPOCH = date(1970, 1, 1)
COLUMNS = (
    "week",
    "dimension",
    "value",
    "clients",
    "environments",
    "sessions",
    "hits",
    "untokenized_hits",
    "downloads",
)
DIMENSIONS = ("conda_version", "os", "platform", "python_version", "channel", "package")


def monday_of(day: int) -> int:
    """The Monday on or before ``day`` (days since 1970-01-01, a Thursday)."""
    return day - (day + 3) % 7


def covered_intervals(
    spans: Sequence[tuple[int | None, int | None]], max_gap: int
) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for first, last in sorted(
        (a, b) for a, b in spans if a is not None and b is not None
    ):
        if merged and first - merged[-1][1] <= max_gap:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(a, b) for a, b in merged]


def complete_weeks(
    spans: Sequence[tuple[int | None, int | None]], max_gap: int
) -> list[int]:
    """Mondays (as day numbers) of the weeks the files cover completely."""
    weeks = []
    for first, last in covered_intervals(spans, max_gap):
        monday = monday_of(first // SECONDS_PER_DAY)
        while True:
            start, end = monday * SECONDS_PER_DAY, (monday + 7) * SECONDS_PER_DAY
            if start + max_gap < first:
                monday += 7
                continue
            if end - max_gap > last:
                break
            weeks.append(monday)
            monday += 7
    return weeks


def load_requests(db: RawDataset, first_day: int, end_day: int) -> pl.DataFrame:
    frame = db.requests(first_day, end_day)
    return frame.with_columns(
        pl.col("day").cast(pl.Int64),
        pl.col("status").cast(pl.Int64),
        pl.lit(1, pl.Int64).alias("hits"),
        pl.col("day")
        .cast(pl.Int64)
        .map_batches(lambda d: d - (d + 3) % 7)
        .alias("monday"),
        pl.col("python")
        .str.extract(r"/(\d+\.\d+)", 1)
        .fill_null("")
        .alias("python_version"),
        pl.col("os").str.replace(r"/.*$", "").fill_null("").alias("os"),
        pl.when(pl.col("subdir") == "noarch")
        .then(pl.lit(""))
        .otherwise(pl.col("subdir"))
        .fill_null("")
        .alias("platform"),
        pl.col("conda_version", "channel", "package").fill_null(""),
    )


def _distinct(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .filter(pl.col(column) != 0)
        .n_unique()
        .alias(
            {"client": "clients", "environment": "environments", "session": "sessions"}[
                column
            ]
        )
    )


METRICS = [
    _distinct("client"),
    _distinct("environment"),
    _distinct("session"),
    pl.col("hits").sum().alias("hits"),
    pl.col("hits").filter(pl.col("client") == 0).sum().alias("untokenized_hits"),
    pl.col("hits")
    .filter((pl.col("kind") == "package") & (pl.col("status") == 200))
    .sum()
    .alias("downloads"),
]


def weekly_rows(
    frame: pl.DataFrame, first_seen: dict[int, int], k: int
) -> pl.DataFrame:
    parts = [
        frame.group_by("monday")
        .agg(METRICS)
        .with_columns(pl.lit("all").alias("dimension"), pl.lit("").alias("value"))
    ]
    for dimension in DIMENSIONS:
        subset = frame.filter(pl.col(dimension) != "")
        if dimension == "package":
            subset = subset.filter(pl.col("kind") == "package")
        parts.append(
            subset.group_by("monday", dimension)
            .agg(METRICS)
            .rename({dimension: "value"})
            .with_columns(pl.lit(dimension).alias("dimension"))
        )
    clients = (
        frame.filter(pl.col("client") != 0)
        .select("monday", "client")
        .unique()
        .with_columns(
            pl.col("client")
            .replace_strict(first_seen, return_dtype=pl.Int64)
            .alias("first")
        )
        .with_columns(
            pl.when(pl.col("first") == pl.col("monday"))
            .then(pl.lit("new"))
            .otherwise(pl.lit("returning"))
            .alias("value")
        )
        .group_by("monday", "value")
        .agg(pl.col("client").n_unique().alias("clients"))
        .with_columns(
            pl.lit("client_status").alias("dimension"),
            *(pl.lit(None, pl.Int64).alias(c) for c in COLUMNS[4:]),
        )
    )
    parts.append(clients)
    columns = ["monday", *COLUMNS[1:]]
    table = pl.concat([part.select(columns) for part in parts], how="vertical_relaxed")
    published = table.filter(pl.col("clients") >= k)
    return (
        published.with_columns(
            pl.col("monday")
            .map_elements(
                lambda day: (EPOCH + timedelta(days=day)).isoformat(),
                return_dtype=pl.String,
            )
            .alias("week")
        )
        .select(COLUMNS)
        .sort(
            "week",
            "dimension",
            "clients",
            "value",
            descending=[False, False, True, False],
        )
    )


def first_seen_weeks(db: RawDataset) -> dict[int, int]:
    return {client: monday_of(day) for client, day in db.first_days().items()}


def compute(db: RawDataset, *, k: int = 5, max_gap: int = 6 * 3600) -> pl.DataFrame:
    spans = [(entry.first_ts, entry.last_ts) for entry in db.ledger()]
    weeks = complete_weeks(spans, max_gap)
    if not weeks:
        return pl.DataFrame(
            schema={c: (pl.String if c in COLUMNS[:3] else pl.Int64) for c in COLUMNS}
        )
    frame = load_requests(db, min(weeks), max(weeks) + 7).filter(
        pl.col("monday").is_in(weeks)
    )
    return weekly_rows(frame, first_seen_weeks(db), k)


def write(table: pl.DataFrame, directory: str, k: int) -> tuple[str, str]:
    """totals.db (table ``weekly``) and weekly.csv, replaced as a whole."""
    os.makedirs(directory, exist_ok=True)
    database = os.path.join(directory, "totals.db")
    temporary = database + ".tmp"
    if os.path.exists(temporary):
        os.unlink(temporary)
    connection = sqlite3.connect(temporary)
    with connection:
        connection.execute(
            "CREATE TABLE weekly (week TEXT, dimension TEXT, value TEXT, clients INTEGER, "
            "environments INTEGER, sessions INTEGER, hits INTEGER, "
            "untokenized_hits INTEGER, downloads INTEGER)"
        )
        connection.executemany(
            "INSERT INTO weekly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", table.iter_rows()
        )
        connection.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
        connection.execute("INSERT INTO meta VALUES ('k', ?)", (str(k),))
    connection.close()
    os.replace(temporary, database)
    path = os.path.join(directory, "weekly.csv")
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        writer.writerows(table.iter_rows())
    return database, path
