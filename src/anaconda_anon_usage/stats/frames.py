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
    hours: list[int]  # sorted hour numbers (unix time // 3600) of valid lines
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


def _value_of_first(agent: pl.Expr, pattern: str) -> pl.Expr:
    """The value of the first space-separated part that matches ``^name/value$``:
    the same as splitting and filtering, without building lists."""
    name, value = pattern.removeprefix("^").removesuffix("$").split("/", 1)
    return agent.str.extract(r"(?:^| )" + name + "/(" + value + r")(?: |$)", 1)


def _positional(agent: pl.Expr, index: int) -> pl.Expr:
    """Part ``index`` of ``agent.split(" ")`` when it contains a ``/``."""
    part = agent.str.extract("^" + "[^ ]* " * index + "([^ ]*)", 1)
    return pl.when(part.str.contains("/", literal=True)).then(part)


def _unescape(column: pl.Expr) -> pl.Expr:
    return column.str.replace_all('\\"', '"', literal=True).str.replace_all(
        "\\\\", "\\", literal=True
    )


def _timestamp(time: pl.Expr) -> pl.Expr:
    """``lineformat.parse_time`` in integer arithmetic: no lenient parser."""
    parts = time.str.extract_groups(lf.TIME)
    number = [parts.struct.field(str(n)).cast(pl.Int64) for n in range(1, 10)]
    day, _, year, hour, minute, second, _, off_h, off_m = number
    month = parts.struct.field("2").replace_strict(
        {name: n for n, name in enumerate(lf.MONTHS, 1)}, return_dtype=pl.Int64
    )
    sign = pl.when(parts.struct.field("7") == "-").then(-1).otherwise(1)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = (
        pl.when(month == 2)
        .then(28 + leap.cast(pl.Int64))
        .otherwise(30 + (month + month // 8) % 2)
    )
    valid = (
        (year >= 1)
        & (day >= 1)
        & (day <= month_days)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & (off_h <= 23)
        & (off_m <= 59)
    )
    # days from the civil date (H. Hinnant's algorithm; years from 1 are >= 0)
    y = year - (month <= 2).cast(pl.Int64)
    era = y // 400
    year_of_era = y - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146097 + day_of_era - 719468
    seconds = days * 86400 + hour * 3600 + minute * 60 + second
    return pl.when(valid).then(seconds - sign * (off_h * 3600 + off_m * 60))


def parse_chunk(data: bytes, examples: int = 5) -> Chunk:
    """Parse whole lines (``data`` ends at a line boundary)."""
    separator_lines: list[str] = []
    if data and not data.endswith(b"\n"):  # a last line without its newline
        data += b"\n"
    if lf.SEPARATOR.encode() in data:  # rare: such lines are malformed
        kept = []
        for raw in data.split(b"\n"):
            if lf.SEPARATOR.encode() in raw:
                separator_lines.append(
                    raw.decode("utf-8", "replace").removesuffix("\r")
                )
            else:
                kept.append(raw)
        data = b"\n".join(kept)
    lines = _split_lines(data) if data else pl.Series("line", [], pl.String)
    total = len(lines) + len(separator_lines)
    # read_csv gives no row after the last newline, and drops the one "\r"
    # before each newline, as parse_line does
    frame = pl.DataFrame({"line": lines})
    fields = frame.select(
        pl.col("line"),
        pl.col("line").str.extract_groups(lf.LINE).alias("m"),
    ).unnest("m")
    fields = fields.with_columns(_timestamp(pl.col("time")).alias("timestamp"))
    blank = pl.col("line").is_null() | (pl.col("line") == "")
    valid = pl.col("timestamp").is_not_null()
    malformed = fields.filter(~blank & ~valid)
    parsed = fields.filter(valid)
    stamps = parsed.select(
        pl.col("timestamp").min().alias("first"),
        pl.col("timestamp").max().alias("last"),
    ).row(0)
    hours = (parsed.get_column("timestamp") // 3600).unique().sort()
    conda = _conda_requests(parsed)
    example_lines = (
        separator_lines + malformed.get_column("line").head(examples).to_list()
    )[:examples]
    return Chunk(
        lines=total,
        malformed=len(malformed) + len(separator_lines),
        malformed_examples=example_lines,
        first_timestamp=stamps[0],
        last_timestamp=stamps[1],
        hours=hours.to_list(),
        conda=conda,
    )


def _agent_fields(agents: pl.Series) -> pl.DataFrame:
    """Parse each distinct conda user-agent once."""
    agent = pl.col("agent")
    has_admin = agent.str.contains(r"(?:^| )[iom]/")
    admin = (
        pl.when(has_admin)
        .then(agent)
        .otherwise(pl.lit(""))
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element().str.contains(lf.ADMIN_PART)))
    )
    return pl.DataFrame({"agent": agents}).with_columns(
        agent.str.extract(r"^conda/([^ ]*)", 1).alias("conda_version"),
        _positional(agent, 2).alias("python"),
        _positional(agent, 3).alias("os"),
        _positional(agent, 4).alias("distribution"),
        *(
            _value_of_first(agent, pattern).alias(name)
            for name, pattern in lf.PART_PATTERNS.items()
        ),
        admin.alias("admin"),
    )


def _request_fields(requests: pl.Series) -> pl.DataFrame:
    """Parse each distinct request line once."""
    target = (
        _unescape(pl.col("request"))
        .str.extract(lf.REQUEST, 1)
        .fill_null("")
        .str.replace(r"\?.*$", "")
    )
    step = (
        pl.DataFrame({"request": requests})
        .with_columns(target.str.extract_groups(lf.PATH).alias("where"))
        .unnest("where", separator="_")
    )
    filename = pl.col("where_3")
    step = step.with_columns(
        filename.str.extract_groups(lf.PACKAGE).alias("pkg")
    ).unnest("pkg", separator="_")
    return step.select(
        pl.col("request"),
        pl.col("where_1").alias("channel"),
        pl.col("where_2").alias("subdir"),
        pl.when(pl.col("pkg_1").is_not_null())
        .then(pl.lit("package"))
        .when(filename.str.contains(lf.REPODATA))
        .then(pl.lit("repodata"))
        .otherwise(pl.lit("other"))
        .alias("kind"),
        pl.col("pkg_1").alias("package"),
        pl.col("pkg_2").alias("version"),
    )


def _conda_requests(parsed: pl.DataFrame) -> pl.DataFrame:
    requests = parsed.with_columns(_unescape(pl.col("agent")).alias("agent")).filter(
        pl.col("agent").str.starts_with("conda/")
    )
    agents = _agent_fields(requests.get_column("agent").unique())
    targets = _request_fields(requests.get_column("request").unique())
    return (
        requests.select(
            "timestamp", pl.col("status").cast(pl.Int64), "request", "agent"
        )
        .join(targets, on="request", how="left", maintain_order="left")
        .join(agents, on="agent", how="left", maintain_order="left")
        .select(REQUEST_COLUMNS)
    )
