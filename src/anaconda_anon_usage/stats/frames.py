"""``parse_line`` applied to a whole chunk of a log at once, with polars.

Every step mirrors ``lineformat.parse_line`` with the same regular
expressions (polars runs them in Rust, without the GIL), except that most
lines are first split on their quotes, a shortcut exact for them (see
``_fields``); the tests, a differential fuzz test among them, hold the two to
identical results. Each distinct time, user-agent and request is parsed once
per chunk. This is where the ingest speed comes from.
"""

from __future__ import annotations

import io
from collections.abc import Callable
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


POSITIONAL = ((2, "python"), (3, "os"), (4, "distribution"))


def _positional(parts: pl.Expr, index: int) -> pl.Expr:
    """Part ``index`` of ``agent.split(" ")`` when it contains a ``/``."""
    part = parts.list.get(index, null_on_oob=True)
    return pl.when(part.str.contains("/", literal=True)).then(part)


def _unescape(column: pl.Expr) -> pl.Expr:
    return column.str.replace_all('\\"', '"', literal=True).str.replace_all(
        "\\\\", "\\", literal=True
    )


def _days(dates: list[str]) -> dict[str, int]:
    """Days since the epoch of each distinct ``dd/Mon/yyyy`` (as matched by
    ``lf.TIME``) that exists, by the calendar ``parse_time`` uses. A chunk
    holds one or two: a polars plan for them cost more than the work."""
    days = {}
    for text in dates:
        day = lf.epoch_day(text[:2], text[3:6], text[7:11])
        if day is not None:
            days[text] = day
    return days


def _offsets(zones: list[str]) -> dict[str, int]:
    """Seconds east of UTC of each distinct ``+hhmm`` (as matched by
    ``lf.TIME``) under 24 hours."""
    offsets = {}
    for zone in zones:
        offset = lf.utc_offset(zone[0], zone[1:3], zone[3:5])
        if offset is not None:
            offsets[zone] = offset
    return offsets


def _parse_times(times: pl.Series) -> pl.Series:
    """``lineformat.parse_time`` of each time (null when it is none), in
    integer arithmetic (no lenient parser). A chunk holds few distinct dates
    and offsets: each is worked out once, and only the clock (``HH:MM:SS``)
    is read on every time."""
    valid = times.str.contains(lf.TIME).fill_null(False).arg_true()
    time = pl.col("time")
    frame = pl.DataFrame({"time": times.gather(valid)}).with_columns(
        time.str.slice(0, 11).alias("date"),  # ASCII, fixed width
        time.str.slice(21, 5).alias("zone"),
        time.str.slice(12, 8)
        .str.replace_all(":", "", literal=True)
        .cast(pl.Int64)
        .alias("clock"),  # HHMMSS
    )
    days = _days(frame.get_column("date").unique().to_list())
    offsets = _offsets(frame.get_column("zone").unique().to_list())
    clock = pl.col("clock")
    hour, minute, second = clock // 10000, clock // 100 % 100, clock % 100
    stamp = (
        pl.col("date").replace_strict(days, default=None, return_dtype=pl.Int64) * 86400
        + hour * 3600
        + minute * 60
        + second
        - pl.col("zone").replace_strict(offsets, default=None, return_dtype=pl.Int64)
    )
    parsed = frame.select(
        pl.when((hour <= 23) & (minute <= 59) & (second <= 59)).then(stamp)
    ).to_series()
    nulls = pl.repeat(None, len(times), dtype=pl.Int64, eager=True)
    return nulls.alias("timestamp").scatter(valid, parsed)


def _timestamps(times: pl.Series) -> pl.Series:
    """``lineformat.parse_time`` of each line's time (null when it is none),
    worked out once per run of equal times: a log is written in time order,
    so neighbours share their time (76,542 lines of the benchmark log's
    first 16 MiB hold 30,724 runs). Cheaper than once per distinct time,
    which needs a hash table to find them and a join to bring them back."""
    runs = times.rle_id()
    starts = (runs.diff().fill_null(1) != 0).arg_true()
    return _parse_times(times.gather(starts)).gather(runs)


# The fast path: most lines are cut on their double quotes, which gives
# their quoted fields without running the whole-line regular expression
# (with its capture groups, the slowest step). Inside a quoted field ``\\``
# and ``\"`` are escapes; so that cutting on ``"`` finds only the quotes that
# delimit fields, a line with a backslash is first *masked*: each ``\\`` (left
# to right, as the grammar pairs them) becomes ``MASKED_BACKSLASH``, then each
# ``\"`` becomes ``MASKED_QUOTE``, two characters no line holds (lines are cut
# on newlines, and lines holding the separator are set aside first). A line
# is taken on the fast path only when its parts show the grammar of
# ``lf.LINE`` exactly; every other line (quotes where no field has them,
# garbage) goes through ``lf.LINE`` as it is. See ``_fields``.
QUOTES = 7  # parts around the first six double quotes, and the rest
MASKED_QUOTE = "\n"
MASKED_BACKSLASH = lf.SEPARATOR
# ``lf.LINE`` up to the first quote, for a time of 26 characters (as a valid
# one is): the time is then the 26 characters before the final "] "
HEAD = r"^[^ \n\x1f]+ [^ \n\x1f]+ [^ \n\x1f]+ \[[^\]\n\x1f]{26}\] $"
# status and size, between the 2nd and 3rd quotes
MIDDLE = r"^ [0-9]{3} [^ \n\x1f]+ $"


def _mask(lines: pl.Series) -> pl.Series:
    return lines.str.replace_all(
        "\\\\", MASKED_BACKSLASH, literal=True
    ).str.replace_all('\\"', MASKED_QUOTE, literal=True)


MASKED = ("request", "agent")  # the fields ``_fields`` gives masked


def _logged(column: pl.Expr) -> pl.Expr:
    """A masked field as logged."""
    return column.str.replace_all(
        MASKED_BACKSLASH, "\\\\", literal=True
    ).str.replace_all(MASKED_QUOTE, '\\"', literal=True)


def _fields(lines: pl.Series) -> pl.DataFrame:
    """``line, time, request, status, agent`` of each line (nulls when it
    does not match ``lf.LINE``), as ``lf.LINE_RE`` would capture them, but
    with ``request`` and ``agent`` masked: they are unmasked only once per
    distinct value (``_logged``).

    The fast path: cut the (masked) line into ``head "request" middle
    "referer" " " "agent" rest``. ``lf.LINE`` matches when ``head`` matches
    ``HEAD``, ``middle`` matches ``MIDDLE`` and ``rest`` is empty or starts
    with a space, and its groups are these parts, unmasked. Why: ``head``
    and ``middle`` hold no quote and no masked pair, so they are the same in
    the line as masked, and the regular expression cannot place its quotes
    elsewhere (host, ident and user hold no space, the time no ``]``); a
    quoted field ``(?:[^"\\]|\\.)*`` is read left to right from its opening
    quote, pairing each backslash with the next character, which is how the
    masking paired them (no backslash run crosses ``head``, ``middle`` or
    the single space between the last two fields), so the field ends at the
    first quote left in the masked line. Every other line goes through
    ``lf.LINE`` itself."""
    line = pl.col("line")
    head, middle, rest = pl.col("head"), pl.col("middle"), pl.col("rest")
    escaped = lines.str.contains("\\", literal=True).arg_true()
    masked = (
        lines.clone().scatter(escaped, _mask(lines.gather(escaped)))
        if len(escaped)
        else lines
    )
    split = (
        pl.DataFrame({"line": lines, "masked": masked})
        .with_columns(
            pl.col("masked")
            .str.splitn('"', QUOTES)
            .struct.rename_fields(
                ["head", "request", "middle", "referer", "between", "agent", "rest"]
            )
            .alias("parts")
        )
        .unnest("parts")
    )
    fast = (
        rest.is_not_null()
        & (pl.col("between") == " ")
        & ((rest == "") | rest.str.starts_with(" "))
        & middle.str.contains(MIDDLE)
        & head.str.contains(HEAD)
    ).fill_null(False)
    frame = split.select(
        line,
        fast.alias("fast"),
        head.str.slice(-28, 26).alias("time"),
        "request",
        middle.str.slice(1, 3).alias("status"),
        "agent",
    )
    slow = frame.get_column("fast").not_().arg_true()
    if len(slow):
        groups = lines.gather(slow).str.extract_groups(lf.LINE).struct.unnest()
        groups = groups.with_columns(_mask(groups.get_column(name)) for name in MASKED)
        frame = frame.with_columns(
            frame.get_column(name).scatter(slow, groups.get_column(name))
            for name in ("time", "request", "status", "agent")
        )
    return frame.drop("fast")


def parse_chunk(
    data: bytes,
    examples: int = 5,
    agents: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> Chunk:
    """Parse whole lines (``data`` ends at a line boundary). ``agents``, if
    given, turns the table of distinct conda user-agents (``client``,
    ``session``, ``environment``, ``admin`` columns as parsed) into the one
    joined to the requests: ingest hashes the tokens there."""
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
    fields = _fields(lines)
    fields = fields.with_columns(_timestamps(fields.get_column("time")))
    blank = pl.col("line").is_null() | (pl.col("line") == "")
    valid = pl.col("timestamp").is_not_null()
    malformed = fields.filter(~blank & ~valid)
    parsed = fields.filter(valid)
    stamps = parsed.select(
        pl.col("timestamp").min().alias("first"),
        pl.col("timestamp").max().alias("last"),
    ).row(0)
    hours = (parsed.get_column("timestamp") // 3600).unique().sort()
    conda = _conda_requests(parsed, agents)
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
    """Parse each distinct conda user-agent (as logged: escaped) once.

    Every agent here starts with ``conda/``, so its first part is never an
    administrator part (``(?:^| )[iom]/`` can be `` [iom]/``, a literal the
    regex engine finds fast) and the conda version is that first part after
    its ``conda/``."""
    agent = pl.col("agent")
    parts = pl.col("parts")
    has_admin = agent.str.contains(r" [iom]/")
    admin = (
        pl.when(has_admin)
        .then(parts)
        .otherwise(pl.lit([], pl.List(pl.String)))
        .list.eval(pl.element().filter(pl.element().str.contains(lf.ADMIN_PART)))
    )
    # Only an agent holding a masked pair or a backslash changes when
    # unescaped (``_logged``, then ``_unescape``): the rest are used as logged.
    escaped = agents.str.contains(
        "[" + MASKED_QUOTE + MASKED_BACKSLASH + "\\\\]"
    ).arg_true()
    unescaped = agents
    if len(escaped):
        changed = pl.DataFrame({"logged": agents.gather(escaped)}).select(
            _unescape(_logged(pl.col("logged")))
        )
        unescaped = agents.clone().scatter(escaped, changed.to_series())
    frame = pl.DataFrame({"logged": agents, "agent": unescaped})
    return frame.with_columns(agent.str.split(" ").alias("parts")).select(
        "logged",
        "agent",
        parts.list.first().str.slice(len("conda/")).alias("conda_version"),
        *(_positional(parts, n).alias(name) for n, name in POSITIONAL),
        *(
            _value_of_first(agent, pattern).alias(name)
            for name, pattern in lf.PART_PATTERNS.items()
        ),
        admin.alias("admin"),
    )


def _request_fields(requests: pl.Series) -> pl.DataFrame:
    """Parse each distinct request line once."""
    target = (
        _unescape(_logged(pl.col("request")))
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


def _conda_requests(
    parsed: pl.DataFrame,
    convert: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> pl.DataFrame:
    # The logged agent starts with "conda/" exactly when the unescaped one does
    # (unescaping changes nothing before the first backslash).
    requests = parsed.filter(pl.col("agent").str.starts_with("conda/"))
    agents = _agent_fields(requests.get_column("agent").unique())
    if convert is not None:
        agents = convert(agents)
    targets = _request_fields(requests.get_column("request").unique())
    return (
        requests.select(
            "timestamp",
            pl.col("status").cast(pl.Int64),
            "request",
            pl.col("agent").alias("logged"),
        )
        .join(targets, on="request", how="left", maintain_order="left")
        .join(agents, on="logged", how="left", maintain_order="left")
        .select(REQUEST_COLUMNS)
    )
