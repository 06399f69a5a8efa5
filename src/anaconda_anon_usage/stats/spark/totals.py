"""``aau-stats totals --engine spark``: the local totals' twin on Spark.

The same semantics as ``stats.totals`` (the tests hold the two to the same
table, cell for cell): complete weeks are decided by the same Python function
on the ledger; Spark reads the committed Parquet files, finds each client's
weeks, class and first week in one aggregation, counts every cell in two
(each request row is expanded into one row per dimension and token), and
only the small final table is collected to the driver and written by the
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
from pyspark.sql.window import Window

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
    """``local.with_breakdowns``' derived columns."""
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


# the dimensions of ``_pairs``' cells, "all" first
CELL_DIMENSIONS = ("all", *local.DIMENSIONS)


def _pairs(numbered: bool = False) -> Column:
    """Each request's (dimension, value) cells; ``numbered``: the dimension
    as its index in ``CELL_DIMENSIONS`` (a smaller key to hash and shuffle;
    ``_dimension_names`` turns it back)."""

    def dimension(name: str) -> Column:
        return F.lit(CELL_DIMENSIONS.index(name) if numbered else name).alias("d")

    return F.array(
        F.struct(dimension("all"), F.lit("").alias("v")),
        *(
            F.struct(dimension(d), F.col(d).alias("v"))
            for d in local.DIMENSIONS
            if d != "package"
        ),
        F.struct(
            dimension("package"),
            F.when(F.col("kind") == "package", F.col("package"))
            .otherwise(F.lit(""))
            .alias("v"),
        ),
    )


def _dimension_names(number: Column) -> Column:
    """``_pairs(numbered=True)``'s dimension numbers as names."""
    return F.element_at(F.array(*map(F.lit, CELL_DIMENSIONS)), number + 1)


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


def _client_weeks(everything: DataFrame) -> DataFrame:
    """``monday, client, single, first``: each tokenized client's weeks,
    whether it sent at most one distinct non-zero session that week
    (``local.session_classes``: the smallest and the largest such session
    are equal, or there is none) and its first Monday over the whole dataset.
    One aggregation and one window over the (small) client-weeks, instead of
    a distinct count and a join."""
    session = F.when(F.col("session") != 0, F.col("session"))
    weeks = (
        everything.filter(F.col("client") != 0)
        .groupBy("monday", "client")
        .agg(F.min(session).alias("_low"), F.max(session).alias("_high"))
    )
    single = F.col("_low").isNull() | (F.col("_low") == F.col("_high"))
    first = F.min("monday").over(Window.partitionBy("client"))
    return weeks.select(
        "monday", "client", single.alias("single"), first.alias("first")
    )


def _cells_exact(frame: DataFrame) -> DataFrame:
    """Every (week, dimension, value) cell of requests with exact counts, in
    two aggregations: each request row gives, per cell, one row per token it
    carries (client with its class, environment, session), the client's
    (or, without one, a row of tag 0) carrying its hits; the first
    aggregation makes the token rows distinct (summing the hits), the second
    counts them. Spark does not expand every row once per distinct count
    (five of them), and no join is needed."""
    cells = ["monday", "dimension", "value"]
    rows = frame.select(
        "monday",
        F.explode(_pairs(numbered=True)).alias("cell"),
        "client",
        "environment",
        "session",
        "single",
        "kind",
        "status",
    ).filter((F.col("cell.d") == 0) | (F.col("cell.v") != ""))
    one, none = F.lit(1).cast("long"), F.lit(0).cast("long")
    client = F.col("client")

    def token(tag: Column, value: Column, hits: Column = none) -> Column:
        untokenized = F.when(client == 0, hits).otherwise(none)
        downloads = F.when(
            (F.col("kind") == "package") & (F.col("status") == 200), hits
        ).otherwise(none)
        return F.struct(
            tag.alias("t"),
            value.alias("h"),
            hits.alias("hits"),
            untokenized.alias("untokenized"),
            downloads.alias("downloads"),
        )

    # the client's row (tag 0 and hash 0 for no client) carries the hits
    tag = F.when(client == 0, 0).when(F.col("single"), 1).otherwise(2)
    tokens = F.array(
        token(tag, client, one),
        token(F.when(F.col("environment") != 0, 3), F.col("environment")),
        token(F.when(F.col("session") != 0, 4), F.col("session")),
    )
    exploded = rows.select(
        "monday",
        F.col("cell.d").alias("dimension"),
        F.col("cell.v").alias("value"),
        F.explode(tokens).alias("tok"),
    ).filter(F.col("tok.t").isNotNull())
    distinct = exploded.groupBy(
        *cells, F.col("tok.t").alias("t"), F.col("tok.h").alias("h")
    ).agg(
        F.sum("tok.hits").alias("hits"),
        F.sum("tok.untokenized").alias("untokenized_hits"),
        F.sum("tok.downloads").alias("downloads"),
    )
    t = F.col("t")
    counted = distinct.groupBy(*cells).agg(
        F.count_if(t.isin(1, 2)).alias("clients"),
        F.count_if(t == 3).alias("environments"),
        F.count_if(t == 4).alias("sessions"),
        F.sum("hits").alias("hits"),
        F.sum("untokenized_hits").alias("untokenized_hits"),
        F.sum("downloads").alias("downloads"),
        F.count_if(t == 1).alias(local.CLASSES[0]),
        F.count_if(t == 2).alias(local.CLASSES[1]),
    )
    return counted.withColumn("dimension", _dimension_names(F.col("dimension")))


def _new_or_returning() -> Column:
    """A client's status in a week: new in the week it was first seen."""
    return F.when(F.col("first") == F.col("monday"), F.lit("new")).otherwise(
        F.lit("returning")
    )


def _as_status_rows(counted: DataFrame) -> DataFrame:
    """The ``client_status`` rows in the published columns (only clients
    and the two classes are counted for them)."""
    return counted.select(
        "monday",
        F.lit("client_status").alias("dimension"),
        "value",
        "clients",
        *(F.lit(None).cast("long").alias(c) for c in local.COLUMNS[4:9]),
        *local.CLASSES,
    )


def _client_status_exact(client_weeks: DataFrame) -> DataFrame:
    """``_client_status`` from ``_client_weeks`` (one row per client and
    week: counting rows is counting distinct clients)."""
    single = F.col("single")
    return _as_status_rows(
        client_weeks.groupBy("monday", _new_or_returning().alias("value")).agg(
            F.count(F.lit(1)).alias("clients"),
            F.count_if(single).alias(local.CLASSES[0]),
            F.count_if(~single).alias(local.CLASSES[1]),
        )
    )


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
    client = F.col("client")
    return _as_status_rows(
        joined.groupBy("monday", _new_or_returning().alias("value")).agg(
            _distinct(client, rsd).alias("clients"),
            _distinct(F.when(F.col("single"), client), rsd).alias(local.CLASSES[0]),
            _distinct(F.when(~F.col("single"), client), rsd).alias(local.CLASSES[1]),
        )
    )


def weekly_rows(
    frame: DataFrame, weeks: list[int], k: int, rsd: float | None = None
) -> pl.DataFrame:
    """The published table from the dataset's requests (``SCHEMA``)."""
    everything = _prepared(frame)
    prepared = everything.filter(F.col("monday").isin(weeks))
    if rsd is None:
        client_weeks = _client_weeks(everything).filter(F.col("monday").isin(weeks))
        classes = client_weeks.select("monday", "client", "single")
        with_class = prepared.join(classes, on=["monday", "client"], how="left")
        with_class = with_class.fillna({"single": True})
        cells = _cells_exact(with_class).select(
            "monday", "dimension", "value", *METRIC_COLUMNS
        )
        table = cells.unionByName(_client_status_exact(client_weeks))
    else:
        first_seen = (
            everything.filter(F.col("client") != 0)
            .groupBy("client")
            .agg(F.min("monday").alias("first"))
        )
        classes = _classes(prepared)
        with_class = prepared.join(classes, on=["monday", "client"], how="left")
        with_class = with_class.fillna({"single": True})
        cells = _cells(with_class, rsd).select(
            "monday", "dimension", "value", *METRIC_COLUMNS
        )
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
