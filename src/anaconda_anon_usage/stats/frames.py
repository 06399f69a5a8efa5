"""``parse_line`` applied to a whole chunk of a log at once, with polars.

Every step mirrors ``lineformat.parse_line`` with the same regular
expressions (polars runs them in Rust, on all cores); the tests hold the two
to identical results. This is where the ingest speed comes from.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import polars as pl

from . import lineformat as lf

REQUEST_COLUMNS = list(lf.Request._fields)


class Chunk(NamedTuple):
    lines: int  # every line, blank ones included
    malformed: int
    malformed_examples: list[str]
    first_timestamp: int | None
    last_timestamp: int | None
    conda: pl.DataFrame  # one row per conda request, columns REQUEST_COLUMNS


def _split_lines(data: bytes) -> pl.Series:
    frame = pl.read_csv(
        io.BytesIO(data),
        separator=lf.SEPARATOR,
        quote_char=None,
        has_header=False,
        new_columns=["line"],
        schema={"line": pl.String},
        encoding="utf8-lossy",
        truncate_ragged_lines=True,
    )
    return frame.get_column("line")


def _value_of_first(parts: pl.Expr, pattern: str) -> pl.Expr:
    found = parts.list.eval(pl.element().filter(pl.element().str.contains(pattern)))
    return found.list.first().str.replace(r"^[^/]*/", "")


def _positional(parts: pl.Expr, index: int) -> pl.Expr:
    part = parts.list.get(index, null_on_oob=True)
    return pl.when(part.str.contains("/", literal=True)).then(part)


def _unescape(column: pl.Expr) -> pl.Expr:
    return column.str.replace_all('\\"', '"', literal=True).str.replace_all(
        "\\\\", "\\", literal=True
    )


def parse_chunk(data: bytes, examples: int = 5) -> Chunk:
    """Parse whole lines (``data`` ends at a line boundary)."""
    separator_lines: list[str] = []
    if lf.SEPARATOR.encode() in data:  # rare: such lines are malformed
        kept = []
        for raw in data.split(b"\n"):
            if lf.SEPARATOR.encode() in raw:
                separator_lines.append(raw.decode("utf-8", "replace"))
            else:
                kept.append(raw)
        data = b"\n".join(kept)
    lines = _split_lines(data) if data else pl.Series("line", [], pl.String)
    total = len(lines) + len(separator_lines)
    # read_csv gives no row for a final empty line after the last newline
    frame = pl.DataFrame({"line": lines}).with_columns(
        pl.col("line").str.strip_suffix("\r")
    )
    fields = frame.select(
        pl.col("line"),
        pl.col("line").str.extract_groups(lf.LINE).alias("m"),
    ).unnest("m")
    fields = fields.with_columns(
        pl.col("time")
        .str.strptime(pl.Datetime("us", "UTC"), lf.TIME_FORMAT, strict=False)
        .dt.epoch("s")
        .alias("timestamp")
    )
    blank = pl.col("line").is_null() | (pl.col("line") == "")
    valid = pl.col("timestamp").is_not_null()
    malformed = fields.filter(~blank & ~valid)
    parsed = fields.filter(valid)
    stamps = parsed.select(
        pl.col("timestamp").min().alias("first"), pl.col("timestamp").max().alias("last")
    ).row(0)
    conda = _conda_requests(parsed)
    example_lines = (separator_lines + malformed.get_column("line").head(examples).to_list())[
        :examples
    ]
    return Chunk(
        lines=total,
        malformed=len(malformed) + len(separator_lines),
        malformed_examples=example_lines,
        first_timestamp=stamps[0],
        last_timestamp=stamps[1],
        conda=conda,
    )


def _conda_requests(parsed: pl.DataFrame) -> pl.DataFrame:
    agents = parsed.with_columns(_unescape(pl.col("agent")).alias("agent")).filter(
        pl.col("agent").str.starts_with("conda/")
    )
    parts = pl.col("parts")
    target = (
        _unescape(pl.col("request"))
        .str.extract(lf.REQUEST, 1)
        .fill_null("")
        .str.replace(r"\?.*$", "")
    )
    step = agents.with_columns(
        pl.col("agent").str.split(" ").alias("parts"),
        target.str.extract_groups(lf.PATH).alias("where"),
    ).unnest("where", separator="_")
    filename = pl.col("where_3")
    package = filename.str.extract_groups(lf.PACKAGE)
    step = step.with_columns(package.alias("pkg")).unnest("pkg", separator="_")
    is_package = pl.col("pkg_1").is_not_null()
    is_repodata = filename.str.contains(lf.REPODATA)
    return step.select(
        pl.col("timestamp"),
        pl.col("status").cast(pl.Int64),
        pl.col("where_1").alias("channel"),
        pl.col("where_2").alias("subdir"),
        pl.when(is_package)
        .then(pl.lit("package"))
        .when(is_repodata)
        .then(pl.lit("repodata"))
        .otherwise(pl.lit("other"))
        .alias("kind"),
        pl.col("pkg_1").alias("package"),
        pl.col("pkg_2").alias("version"),
        parts.list.first().str.slice(len("conda/")).alias("conda_version"),
        _positional(parts, 2).alias("python"),
        _positional(parts, 3).alias("os"),
        _positional(parts, 4).alias("distribution"),
        *(
            _value_of_first(parts, pattern).alias(name)
            for name, pattern in lf.PART_PATTERNS.items()
        ),
        parts.list.eval(
            pl.element().filter(pl.element().str.contains(lf.ADMIN_PART))
        ).alias("admin"),
    ).select(REQUEST_COLUMNS)
