"""Weekly totals that are safe to publish.

* Weeks start Monday 00:00 UTC. A week is published only when every hour
  of it is covered: an hour is covered when some well-formed line of an
  ingested log has its time in it (the ledger's ``hours``), or when it lies
  in a run of at most ``tolerance_hours`` uncovered hours between covered
  ones. Weeks left out are reported with the hours missing.
* Distinct clients, environments and sessions, and raw hits, are separate
  columns; no number mixes them.
* Broken down by conda version, OS, platform (subdir), Python version,
  channel and package; and clients that are new (first seen that week)
  versus returning; and clients seen in a single session that week (CI
  jobs look like this) apart from those seen in several.
* A cell backed by fewer than ``k`` distinct clients is not published.
"""

from __future__ import annotations

import csv
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple, TypeVar

import polars as pl

from . import outputs
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
    "single_session_clients",
    "multi_session_clients",
)
CLASSES = COLUMNS[-2:]
# An approximate table (metadata approximate=true, Spark's HyperLogLog) is
# never published under the exact table's name.
CSV_NAMES = {False: "weekly.csv", True: "weekly-approximate.csv"}
DIMENSIONS = ("conda_version", "os", "platform", "python_version", "channel", "package")


Day = TypeVar("Day", int, pl.Expr)


def monday_of(day: Day) -> Day:
    """The Monday on or before ``day`` (days since 1970-01-01, a Thursday);
    the same arithmetic on a number or a polars column of days."""
    return day - (day + 3) % 7


HOURS_PER_WEEK = 7 * 24
DEFAULT_TOLERANCE_HOURS = 3


class WeekCoverage(NamedTuple):
    """One week (Monday as a day number) and the hours its logs do not cover.

    ``gaps`` are half-open ranges ``(first_hour, end_hour)`` of hour numbers
    (unix seconds // 3600), clipped to the week; the week is complete when
    there are none."""

    monday: int
    gaps: tuple[tuple[int, int], ...]

    @property
    def complete(self) -> bool:
        return not self.gaps


def _merged(ranges: Iterable[Sequence[int]]) -> list[list[int]]:
    """Inclusive hour ranges, sorted and joined where they touch or overlap."""
    merged: list[list[int]] = []
    for first, last in sorted((int(r[0]), int(r[1])) for r in ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return merged


def week_coverage(
    hours: Iterable[Sequence[int]], tolerance_hours: int = DEFAULT_TOLERANCE_HOURS
) -> list[WeekCoverage]:
    """Every week from the first to the last covered hour, with its gaps.

    Pure and engine-neutral (both engines call it). ``hours`` is the union
    over all ledger entries of their ``hours``: inclusive ``[first_hour,
    last_hour]`` ranges of hours in which at least one well-formed line
    (conda or not) has its time. A run of at most ``tolerance_hours``
    uncovered hours *between* covered hours still counts as covered (a quiet
    server may see no request in an hour at night); before the first and
    after the last covered hour nothing is covered. A stray line (a TLS
    probe, a clock step) covers only its own hour, never the span around it.
    """
    if tolerance_hours < 0:
        raise ValueError("tolerance_hours must be >= 0")
    bridged: list[list[int]] = []
    for first, last in _merged(hours):
        if bridged and first - bridged[-1][1] - 1 <= tolerance_hours:
            bridged[-1][1] = last
        else:
            bridged.append([first, last])
    if not bridged:
        return []
    weeks = []
    monday = monday_of(bridged[0][0] // 24)
    final = monday_of(bridged[-1][1] // 24)
    index = 0
    while monday <= final:
        start = monday * 24
        end = start + HOURS_PER_WEEK
        gaps = []
        cursor = start
        while index < len(bridged) and bridged[index][1] < start:
            index += 1
        position = index
        while position < len(bridged) and bridged[position][0] < end:
            first, last = bridged[position]
            if first > cursor:
                gaps.append((cursor, first))
            cursor = max(cursor, last + 1)
            position += 1
        if cursor < end:
            gaps.append((cursor, end))
        weeks.append(WeekCoverage(monday, tuple(gaps)))
        monday += 7
    return weeks


def complete_weeks(
    hours: Iterable[Sequence[int]], tolerance_hours: int = DEFAULT_TOLERANCE_HOURS
) -> list[int]:
    """Mondays (day numbers) of the weeks the logs cover completely."""
    return [w.monday for w in week_coverage(hours, tolerance_hours) if w.complete]


def day_text(day: int) -> str:
    return (EPOCH + timedelta(days=day)).isoformat()


def hour_text(hour: int) -> str:
    moment = datetime(1970, 1, 1) + timedelta(hours=hour)
    return moment.strftime("%Y-%m-%d %H:%M")


def left_out(weeks: Sequence[WeekCoverage]) -> list[str]:
    """One line per week left out, saying which hours have no log lines;
    a run of weeks without any line at all is one line."""
    lines: list[str] = []
    empty: list[int] = []

    def flush() -> None:
        if empty:
            first, last = day_text(empty[0]), day_text(empty[-1])
            span = first if len(empty) == 1 else f"{first} to {last}"
            lines.append(f"{span}: no log lines at all ({len(empty)} week(s))")
            empty.clear()

    for week in weeks:
        if week.complete:
            continue
        if week.gaps == ((week.monday * 24, week.monday * 24 + HOURS_PER_WEEK),):
            empty.append(week.monday)
            continue
        flush()
        holes = "; ".join(
            f"from {hour_text(a)} to {hour_text(b)}" for a, b in week.gaps
        )
        lines.append(f"{day_text(week.monday)}: no log lines {holes}")
    flush()
    return lines


def _per_distinct(frame: pl.DataFrame, column: str, derive: pl.Expr) -> pl.Expr:
    """``derive`` (an expression on ``column``) worked out once per distinct
    value and mapped back: a regular expression over a handful of values
    rather than over every request. Null stays null."""
    values = frame.get_column(column).drop_nulls().unique()
    derived = pl.DataFrame({column: values}).select(derive).to_series()
    return pl.col(column).replace_strict(
        values, derived, default=None, return_dtype=pl.String
    )


# The stored columns the totals count: the others are not read.
READ = [
    "day",
    "status",
    "channel",
    "subdir",
    "kind",
    "package",
    "conda_version",
    "python",
    "os",
    "client",
    "session",
    "environment",
]


def with_breakdowns(frame: pl.DataFrame) -> pl.DataFrame:
    """Stored requests with what the totals count them by: ``monday``,
    ``hits``, the breakdowns' values ("" for none)."""
    return frame.with_columns(
        pl.col("day").cast(pl.Int64),
        pl.col("status").cast(pl.Int64),
        pl.lit(1, pl.Int64).alias("hits"),
        monday_of(pl.col("day").cast(pl.Int64)).alias("monday"),
        _per_distinct(frame, "python", pl.col("python").str.extract(r"/(\d+\.\d+)", 1))
        .fill_null("")
        .alias("python_version"),
        _per_distinct(frame, "os", pl.col("os").str.replace(r"/.*$", ""))
        .fill_null("")
        .alias("os"),
        pl.when(pl.col("subdir") == "noarch")
        .then(pl.lit(""))
        .otherwise(pl.col("subdir"))
        .fill_null("")
        .alias("platform"),
        pl.col("conda_version", "channel", "package").fill_null(""),
    )


def _distinct(column: str, name: str) -> pl.Expr:
    """Distinct non-null values (``n_unique`` counts null as one value)."""
    return pl.col(column).drop_nulls().n_unique().cast(pl.Int64).alias(name)


def _counted(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The columns ``METRICS`` count: a token that was not sent (0), or a
    client that is not single-session, is null so that it is not counted."""
    client, single = pl.col("client"), pl.col("single")
    return frame.with_columns(
        *(
            pl.when(pl.col(column) != 0).then(pl.col(column)).alias(f"{column}_sent")
            for column in ("client", "environment", "session")
        ),
        pl.when((client != 0) & single).then(client).alias("single_client"),
        (client == 0).cast(pl.Int64).alias("untokenized"),
        ((pl.col("kind") == "package") & (pl.col("status") == 200))
        .cast(pl.Int64)
        .alias("download"),
    )


METRICS = [
    _distinct("client_sent", "clients"),
    _distinct("environment_sent", "environments"),
    _distinct("session_sent", "sessions"),
    pl.len().cast(pl.Int64).alias("hits"),
    pl.col("untokenized").sum().alias("untokenized_hits"),
    pl.col("download").sum().alias("downloads"),
    _distinct("single_client", CLASSES[0]),
]


def _with_multi(counts: pl.LazyFrame) -> pl.LazyFrame:
    """Multi-session clients: the cell's clients that are not single-session
    (each client is one or the other in a week), one distinct count fewer
    per cell than counting them apart."""
    return counts.with_columns(
        (pl.col("clients") - pl.col(CLASSES[0])).alias(CLASSES[1])
    )


def session_classes(frame: pl.DataFrame) -> pl.DataFrame:
    """``monday, client, single``: a client is single-session in a week when
    all its requests of that week carry at most one distinct non-zero
    session hash (a CI job: fresh home, one conda run, never back)."""
    return (
        frame.lazy()
        .filter(pl.col("client") != 0)
        .with_columns(
            pl.when(pl.col("session") != 0).then(pl.col("session")).alias("sent")
        )
        .group_by("monday", "client")
        .agg((_distinct("sent", "sessions") <= 1).alias("single"))
        .collect()
    )


def weekly_rows(frame: pl.DataFrame, first_seen: pl.DataFrame, k: int) -> pl.DataFrame:
    """The published table (``COLUMNS``) from the requests of complete weeks
    (``with_breakdowns``' columns) and each client's first Monday
    (``first_mondays``)."""
    classes = session_classes(frame)
    counted = _counted(
        frame.lazy()
        .join(classes.lazy(), on=["monday", "client"], how="left")
        .with_columns(pl.col("single").fill_null(True))
    )
    parts = [
        _with_multi(counted.group_by("monday").agg(METRICS)).with_columns(
            pl.lit("all").alias("dimension"), pl.lit("").alias("value")
        )
    ]
    for dimension in DIMENSIONS:
        subset = counted.filter(pl.col(dimension) != "")
        if dimension == "package":
            subset = subset.filter(pl.col("kind") == "package")
        parts.append(
            _with_multi(subset.group_by("monday", dimension).agg(METRICS))
            .rename({dimension: "value"})
            .with_columns(pl.lit(dimension).alias("dimension"))
        )
    clients = (
        classes.lazy()
        .join(first_seen.lazy(), on="client", how="left")
        .with_columns(
            pl.when(pl.col("first") == pl.col("monday"))
            .then(pl.lit("new"))
            .otherwise(pl.lit("returning"))
            .alias("value"),
            pl.when(pl.col("single")).then(pl.col("client")).alias("single_client"),
        )
        .group_by("monday", "value")
        .agg(
            pl.col("client").n_unique().cast(pl.Int64).alias("clients"),
            _distinct("single_client", CLASSES[0]),
        )
        .pipe(_with_multi)
        .with_columns(
            pl.lit("client_status").alias("dimension"),
            *(pl.lit(None, pl.Int64).alias(c) for c in COLUMNS[4:9]),
        )
    )
    parts.append(clients)
    columns = ["monday", *COLUMNS[1:]]
    # one plan: the breakdowns share the join and run in parallel
    table = pl.concat(
        [part.select(columns) for part in parts], how="vertical_relaxed"
    ).with_columns(pl.col(COLUMNS[3:]).cast(pl.Int64))
    published = table.filter(pl.col("clients") >= k).collect()
    return ordered(published)


def ordered(published: pl.DataFrame) -> pl.DataFrame:
    """The published rows (with ``monday``) as every engine writes them:
    ``COLUMNS``, by week, dimension, then most clients first."""
    return (
        published.with_columns(
            pl.col("monday")
            .map_elements(day_text, return_dtype=pl.String)
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


def first_mondays(requests: pl.DataFrame) -> pl.DataFrame:
    """``client, first``: the Monday of each client's first day in
    ``requests`` (``day`` and ``client`` of every stored request)."""
    return (
        requests.lazy()
        .filter(pl.col("client") != 0)
        .group_by("client")
        .agg(monday_of(pl.col("day").cast(pl.Int64).min()).alias("first"))
        .collect()
    )


def ledger_hours(db: RawDataset) -> list[Sequence[int]]:
    """The covered hour ranges of every ledger entry, together."""
    return [hours for entry in db.ledger() for hours in entry.hours]


def empty_table() -> pl.DataFrame:
    return pl.DataFrame(
        schema={c: (pl.String if c in COLUMNS[:3] else pl.Int64) for c in COLUMNS}
    )


def compute(
    db: RawDataset,
    *,
    k: int = 5,
    tolerance_hours: int = DEFAULT_TOLERANCE_HOURS,
) -> pl.DataFrame:
    """The published weekly table of the complete weeks of ``db``."""
    weeks = complete_weeks(ledger_hours(db), tolerance_hours)
    if not weeks:
        return empty_table()
    # Read once: first seen is over the whole dataset, the counts over the
    # complete weeks (the others are at most the partial weeks at either end).
    everything = db.requests(-(2**31), 2**31, READ)
    first_seen = first_mondays(everything)
    frame = with_breakdowns(
        everything.filter(pl.col("day").is_between(min(weeks), max(weeks) + 6))
    ).filter(pl.col("monday").is_in(weeks))
    return weekly_rows(frame, first_seen, k)


def write(
    table: pl.DataFrame, directory: str, metadata: Mapping[str, str]
) -> tuple[str, str]:
    """Publish ``table`` (``COLUMNS``, as ``weekly_rows`` makes it) into
    ``directory`` as ``totals.db`` (tables ``weekly`` and ``meta``: name ->
    value, from ``metadata``) and ``weekly.csv``. The report reads these
    metadata names: ``k``, ``tolerance_hours`` and ``left_out`` (the lines
    of ``left_out()``, joined by newlines); an engine may add others.

    Engine-neutral: the Spark engine collects its final table and calls
    this. Both files appear whole and together, or not at all (see
    ``outputs``); raises ``outputs.OutputError`` for an unusable directory.
    Returns the two paths."""
    table = table.select(
        pl.col(c).cast(pl.String if c in COLUMNS[:3] else pl.Int64) for c in COLUMNS
    )
    with outputs.generation(directory, "totals") as staging:
        connection = sqlite3.connect(os.path.join(staging, "totals.db"))
        try:
            with connection:
                connection.execute(
                    "CREATE TABLE weekly ("
                    + ", ".join(
                        f"{c} {'TEXT' if c in COLUMNS[:3] else 'INTEGER'}"
                        for c in COLUMNS
                    )
                    + ")"
                )
                connection.executemany(
                    f"INSERT INTO weekly VALUES ({', '.join('?' * len(COLUMNS))})",
                    table.iter_rows(),
                )
                connection.execute(
                    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)"
                )
                connection.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    sorted((str(n), str(v)) for n, v in metadata.items()),
                )
        finally:
            connection.close()
        csv_name = CSV_NAMES[metadata.get("approximate") == "true"]
        with open(os.path.join(staging, csv_name), "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(COLUMNS)
            writer.writerows(table.iter_rows())
    return os.path.join(directory, "totals.db"), os.path.join(directory, csv_name)
