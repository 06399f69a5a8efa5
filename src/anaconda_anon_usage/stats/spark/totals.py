"""``aau-stats totals --engine spark``: the local totals' twin on Spark.

The same semantics as ``stats.totals`` (the tests hold the two to the same
table, cell for cell): complete weeks are decided by the same Python function
on the ledger; Spark reads the committed Parquet files, counts every cell in
one aggregation (each request row is expanded into one row per dimension),
and only the small final table is collected to the driver and written by the
shared writer.

Distinct counts are exact by default. ``rsd`` (relative standard deviation,
e.g. 0.01) switches the distinct counts of the cells to Spark's HyperLogLog++
(``approx_count_distinct``): for sites where exact distinct counts cost too
much. The output then says so (metadata ``approximate``/``relative_error``).
A client's single/multi-session class and first week are always exact.
"""

from __future__ import annotations

import os

import polars as pl
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .. import totals as local
from ..dataset import TEXT_FIELDS, RawDataset
from . import regex

SCHEMA = T.StructType(
    [
        T.StructField("day", T.IntegerType()),
        T.StructField("status", T.ShortType()),
        *(T.StructField(name, T.StringType()) for name in TEXT_FIELDS),
        T.StructField("client", T.LongType()),
        T.StructField("session", T.LongType()),
        T.StructField("environment", T.LongType()),
        T.StructField("admin", T.StringType()),
    ]
)
# polars' (Rust) regex: "\d" is any Unicode digit, "." anything but "\n".
PYTHON_VERSION = regex.java(r"/(\d+\.\d+)")
OS_SUFFIX = regex.java(r"/.*$")
METRIC_COLUMNS = local.COLUMNS[3:]


def monday(day: Column) -> Column:
    return day - F.pmod(day + 3, F.lit(7))


def requests(spark: SparkSession, dataset: RawDataset) -> DataFrame:
    files = dataset.files()
    if not files:
        return spark.createDataFrame([], SCHEMA)
    return spark.read.schema(SCHEMA).parquet(
        *("file://" + os.path.abspath(f) for f in files)
    )


def _prepared(frame: DataFrame) -> DataFrame:
    """``local.load_requests``' derived columns."""
    day = F.col("day").cast("long")
    return frame.select(
        monday(day).alias("monday"),
        F.col("status").cast("long").alias("status"),
        "kind",
        "client",
        "session",
        "environment",
        F.coalesce(F.regexp_extract("python", PYTHON_VERSION, 1), F.lit("")).alias(
            "python_version"
        ),
        F.coalesce(F.regexp_replace("os", OS_SUFFIX, ""), F.lit("")).alias("os"),
        F.coalesce(
            F.when(F.col("subdir") == "noarch", F.lit("")).otherwise(F.col("subdir")),
            F.lit(""),
        ).alias("platform"),
        *(
            F.coalesce(F.col(c), F.lit("")).alias(c)
            for c in ("conda_version", "channel", "package")
        ),
    )


def _distinct(column: Column, rsd: float | None) -> Column:
    if rsd is None:
        return F.count_distinct(column)
    return F.approx_count_distinct(column, rsd)


def _pairs() -> Column:
    """Each request's (dimension, value) cells."""
    return F.array(
        F.struct(F.lit("all").alias("d"), F.lit("").alias("v")),
        *(
            F.struct(F.lit(d).alias("d"), F.col(d).alias("v"))
            for d in local.DIMENSIONS
            if d != "package"
        ),
        F.struct(
            F.lit("package").alias("d"),
            F.when(F.col("kind") == "package", F.col("package"))
            .otherwise(F.lit(""))
            .alias("v"),
        ),
    )


def _cells(frame: DataFrame, rsd: float | None) -> DataFrame:
    """Every (week, dimension, value) cell of requests, in one aggregation."""
    rows = frame.select("*", F.explode(_pairs()).alias("cell")).filter(
        (F.col("cell.d") == "all") | (F.col("cell.v") != "")
    )

    def nonzero(name: str) -> Column:
        return F.when(F.col(name) != 0, F.col(name))

    client = F.col("client")
    one = F.lit(1)
    return rows.groupBy(
        "monday", F.col("cell.d").alias("dimension"), F.col("cell.v").alias("value")
    ).agg(
        _distinct(nonzero("client"), rsd).alias("clients"),
        _distinct(nonzero("environment"), rsd).alias("environments"),
        _distinct(nonzero("session"), rsd).alias("sessions"),
        F.count(one).alias("hits"),
        F.sum(F.when(client == 0, one).otherwise(0)).alias("untokenized_hits"),
        F.sum(
            F.when(
                (F.col("kind") == "package") & (F.col("status") == 200), one
            ).otherwise(0)
        ).alias("downloads"),
        _distinct(F.when((client != 0) & F.col("single"), client), rsd).alias(
            local.CLASSES[0]
        ),
        _distinct(F.when((client != 0) & ~F.col("single"), client), rsd).alias(
            local.CLASSES[1]
        ),
    )


def _cells_exact(frame: DataFrame) -> DataFrame:
    """``_cells`` with exact counts, cheaper: each request row gives one row
    per token it carries (client with its class, environment, session);
    those are made distinct once and counted, instead of Spark expanding
    every row once per distinct count (five of them)."""
    keys = ["monday", "dimension", "value"]
    rows = frame.select(
        "monday",
        F.explode(_pairs()).alias("cell"),
        "client",
        "environment",
        "session",
        "single",
        "kind",
        "status",
    ).filter((F.col("cell.d") == "all") | (F.col("cell.v") != ""))
    rows = rows.select(
        "monday",
        F.col("cell.d").alias("dimension"),
        F.col("cell.v").alias("value"),
        *rows.columns[2:],
    )
    one = F.lit(1)
    plain = rows.groupBy(*keys).agg(
        F.count(one).alias("hits"),
        F.sum(F.when(F.col("client") == 0, one).otherwise(0)).alias("untokenized_hits"),
        F.sum(
            F.when(
                (F.col("kind") == "package") & (F.col("status") == 200), one
            ).otherwise(0)
        ).alias("downloads"),
    )

    def token(name: str, tag: Column) -> Column:
        return F.struct(
            F.when(F.col(name) != 0, tag).alias("t"), F.col(name).alias("h")
        )

    tokens = (
        rows.select(
            *keys,
            F.explode(
                F.array(
                    token("client", F.when(F.col("single"), 1).otherwise(2)),
                    token("environment", F.lit(3)),
                    token("session", F.lit(4)),
                )
            ).alias("tok"),
        )
        .filter(F.col("tok.t").isNotNull())
        .select(*keys, F.col("tok.t").alias("t"), F.col("tok.h").alias("h"))
        .distinct()
    )
    t = F.col("t")
    counted = tokens.groupBy(*keys).agg(
        F.count_if(t <= 2).alias("clients"),
        F.count_if(t == 3).alias("environments"),
        F.count_if(t == 4).alias("sessions"),
        F.count_if(t == 1).alias(local.CLASSES[0]),
        F.count_if(t == 2).alias(local.CLASSES[1]),
    )
    distinct = ["clients", "environments", "sessions", *local.CLASSES]
    return plain.join(counted, keys, "left").fillna(0, subset=distinct)


def _classes(frame: DataFrame) -> DataFrame:
    """``local.session_classes``: monday, client, single (always exact)."""
    sessions = F.count_distinct(F.when(F.col("session") != 0, F.col("session")))
    return (
        frame.filter(F.col("client") != 0)
        .groupBy("monday", "client")
        .agg((sessions <= 1).alias("single"))
    )


def _client_status(
    classes: DataFrame, first_seen: DataFrame, rsd: float | None
) -> DataFrame:
    joined = classes.join(first_seen, on="client", how="left")
    value = F.when(F.col("first") == F.col("monday"), F.lit("new")).otherwise(
        F.lit("returning")
    )
    client = F.col("client")
    return (
        joined.groupBy("monday", value.alias("value"))
        .agg(
            _distinct(client, rsd).alias("clients"),
            _distinct(F.when(F.col("single"), client), rsd).alias(local.CLASSES[0]),
            _distinct(F.when(~F.col("single"), client), rsd).alias(local.CLASSES[1]),
        )
        .select(
            "monday",
            F.lit("client_status").alias("dimension"),
            "value",
            "clients",
            *(F.lit(None).cast("long").alias(c) for c in local.COLUMNS[4:9]),
            *local.CLASSES,
        )
    )


def weekly_rows(
    frame: DataFrame, weeks: list[int], k: int, rsd: float | None = None
) -> pl.DataFrame:
    """The published table from the dataset's requests (``SCHEMA``)."""
    everything = _prepared(frame)
    first_seen = (
        everything.filter(F.col("client") != 0)
        .groupBy("client")
        .agg(F.min("monday").alias("first"))
    )
    prepared = everything.filter(F.col("monday").isin(weeks))
    classes = _classes(prepared)
    with_class = prepared.join(classes, on=["monday", "client"], how="left")
    with_class = with_class.fillna({"single": True})
    counted = _cells_exact(with_class) if rsd is None else _cells(with_class, rsd)
    cells = counted.select("monday", "dimension", "value", *METRIC_COLUMNS)
    table = cells.unionByName(_client_status(classes, first_seen, rsd))
    table = table.filter(F.col("clients") >= k)
    rows = table.collect()
    collected = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "monday": pl.Int64,
            "dimension": pl.String,
            "value": pl.String,
            **dict.fromkeys(METRIC_COLUMNS, pl.Int64),
        },
        orient="row",
    )
    return local.ordered(collected)


def compute(
    spark: SparkSession,
    dataset: RawDataset,
    *,
    k: int = 5,
    tolerance_hours: int = local.DEFAULT_TOLERANCE_HOURS,
    rsd: float | None = None,
) -> pl.DataFrame:
    """``local.compute`` on Spark; ``rsd``: approximate distinct counts."""
    weeks = local.complete_weeks(local.ledger_hours(dataset), tolerance_hours)
    if not weeks:
        return local.empty_table()
    return weekly_rows(requests(spark, dataset), weeks, k, rsd)
