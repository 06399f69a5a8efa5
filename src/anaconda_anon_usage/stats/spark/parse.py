"""``lineformat.parse_line`` on Spark's own columnar functions.

No Python runs per line: every step is a Spark SQL expression (regular
expressions, string and array functions, integer arithmetic), so it runs in
the JVM on every executor. The tests hold it to ``parse_line`` line for line.

Where a regular expression has several groups, it is applied once with
``regexp_replace`` into the groups joined by ``\\x1f`` (a line holding that
byte is malformed anyway) and split, instead of once per group.
"""

from __future__ import annotations

import re
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from .. import lineformat as lf
from . import regex

SEP = lf.SEPARATOR
# the fields of lf.Request after its timestamp, in order
REQUEST_FIELDS = lf.Request._fields[1:]

LINE = regex.java(lf.LINE)
TIME = regex.java(lf.TIME)
REQUEST = regex.java(lf.REQUEST)
PATH = regex.java(lf.PATH)
PACKAGE = regex.java(lf.PACKAGE)
REPODATA = regex.java(lf.REPODATA)
# LINE's groups by number, not name: Java looks a name up in a map on every
# replacement (measured: numbers cost less); the translation keeps the numbers
LINE_GROUPS = [
    f"${re.compile(lf.LINE).groupindex[name]}"
    for name in ("time", "request", "status", "agent")
]


# lf.TOKEN_VALUE's class, and the same class for Java: without the U flag
# Java's ``\\w`` is exactly ``[a-zA-Z_0-9]``, one table lookup per character
# where the spelled-out class tries five ranges (measured: the three tokens'
# patterns cost a sixth less)
TOKEN_CLASS = "[A-Za-z0-9_-]"
JAVA_TOKEN_CLASS = r"[\w-]"


def _any_part(pattern: str, *, value: bool = False) -> str:
    """A Java pattern finding, in the user-agent padded with one space on
    each side (``_padded``), each space-separated part that the Python
    pattern ``^...$`` matches whole: the part follows a space and precedes
    one (no part contains a space, so the leftmost match is the first such
    part). Group 1 is the part, or with ``value`` what follows its first
    ``/`` (``lf._value_of_first``; the pattern must then start with a
    literal ``name/``): no string functions after the match. One regular
    expression on the text instead of one per part (Spark's higher-order
    array functions run interpreted); it starts with a literal (`` c/``...),
    so Java tries a position with one character comparison instead of an
    alternation (``^| ``): about twice as fast."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise ValueError(f"not a whole-part pattern: {pattern!r}")
    core = regex.java(pattern[1:-1]).removeprefix("(?d)")
    core = core.replace(TOKEN_CLASS, JAVA_TOKEN_CLASS)
    if "(" in core.replace("(?:", ""):
        raise ValueError(f"a part pattern with groups: {pattern!r}")
    if not value:
        return "(?d) (" + core + ")(?= )"
    name, slash, rest = core.partition("/")
    if not slash or not re.fullmatch("[a-z_]+", name):
        raise ValueError(f"a part pattern not led by a literal name/: {pattern!r}")
    return "(?d) " + name + "/(" + rest + ")(?= )"


def _padded(agent: Column) -> Column:
    """The user-agent between two spaces, as ``_any_part`` patterns read it."""
    return F.concat(F.lit(" "), agent, F.lit(" "))


ADMIN_PART = _any_part(lf.ADMIN_PART)
PART_PATTERNS = {name: _any_part(p, value=True) for name, p in lf.PART_PATTERNS.items()}
# where an admin part can start in the padded user-agent (``_admin_parts``)
ADMIN_STARTS = tuple(f" {kind}/" for kind in "iom")
if not lf.ADMIN_PART.startswith("^[iom]/"):
    raise ValueError("ADMIN_STARTS no longer covers lf.ADMIN_PART")


def _replaced(text: Column, pattern: str, groups: list[str]) -> Column:
    """The groups of a match, each led by ``SEP``; the text itself (which
    does not start with ``SEP``) when there is none. Only for patterns
    anchored at both ends (``^...$``). Give it a column of its own
    (``_add``), then ``_groups`` of that column: used twice in one
    expression, Spark would run the regular expression twice."""
    return F.regexp_replace(text, pattern, "".join(SEP + g for g in groups))


def _groups(replaced: Column) -> Column:
    """The groups of ``_replaced``'s match as an array led by "" (null: no
    match)."""
    return F.when(replaced.startswith(SEP), F.split(replaced, SEP, -1))


def _days_from_civil(y: Column, m: Column, d: Column) -> Column:
    """Days since 1970-01-01 of a proleptic Gregorian date (year >= 1)."""
    y = y - F.when(m <= 2, 1).otherwise(0)
    era = F.floor(y / 400)
    yoe = y - era * 400
    shifted = F.when(m > 2, m - 3).otherwise(m + 9)
    doy = F.floor((153 * shifted + 2) / 5) + d - 1
    doe = yoe * 365 + F.floor(yoe / 4) - F.floor(yoe / 100) + doy
    return (era * 146097 + doe - 719468).cast("long")


def _add(frame: DataFrame, **columns: Column) -> DataFrame:
    """One projection step. Each expensive value is computed once per step
    and referenced by name after it (Spark does not merge a projection into
    the next when that would repeat a costly expression)."""
    return frame.select("*", *(value.alias(name) for name, value in columns.items()))


def with_time(frame: DataFrame, column: str, out: str) -> DataFrame:
    """Adds ``out``: ``lf.parse_time`` of ``column`` (seconds since the
    epoch; null unless a real time in the grammar). Temporary columns start
    with ``_t``."""
    c = F.col
    text = c(column)
    # lf.TIME is fixed-width: once it matches, every field is at its place
    step = _add(frame, _tok=text.rlike(TIME))

    def at(start: int, length: int) -> Column:
        return F.when(c("_tok"), F.substring(text, start, length))

    step = _add(
        step,
        _td=at(1, 2).cast("long"),
        _tm=F.array_position(F.array(*map(F.lit, lf.MONTHS)), at(4, 3)),
        _ty=at(8, 4).cast("long"),
        _th=at(13, 2).cast("long"),
        _tmi=at(16, 2).cast("long"),
        _ts=at(19, 2).cast("long"),
        _tsign=F.when(at(22, 1) == "-", -1).otherwise(1),
        _toh=at(23, 2).cast("long"),
        _tom=at(25, 2).cast("long"),
    )
    year, month, day = c("_ty"), c("_tm"), c("_td")
    hour, minute, second = c("_th"), c("_tmi"), c("_ts")
    off_h, off_m = c("_toh"), c("_tom")
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = (
        F.when(month == 2, F.when(leap, 29).otherwise(28))
        .when(month.isin(4, 6, 9, 11), 30)
        .otherwise(31)
    )
    valid = (
        c("_tok")
        & (year >= 1)
        & (day >= 1)
        & (day <= month_days)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & (off_h <= 23)
        & (off_m <= 59)
    )
    seconds = (
        _days_from_civil(year, month, day) * 86400
        + hour * 3600
        + minute * 60
        + second
        - c("_tsign") * (off_h * 3600 + off_m * 60)
    )
    step = _add(step, **{out: F.when(valid, seconds.cast("long"))})
    return step.drop(*(name for name in step.columns if name.startswith("_t")))


def _unescape(text: Column) -> Column:
    """nginx and Apache escape ``"`` and ``\\`` inside quotes (``lf.unescape``).
    Both replacements only where there is a backslash at all: Spark's
    ``replace`` compares the search text at every byte, a one-byte
    ``contains`` costs much less, and most fields have none."""
    once = F.replace(text, F.lit('\\"'), F.lit('"'))
    twice = F.replace(once, F.lit("\\\\"), F.lit("\\"))
    return F.when(text.contains("\\"), twice).otherwise(text)


def _value_of_first(agent: Column, pattern: str) -> Column:
    """The value of the first part the pattern (``_any_part(..., value=True)``)
    matches; null if none (a value that matches is never empty). One regular
    expression over the user-agent: cheaper than finding the part with
    Spark's string functions (``instr``, ``substring_index``: their
    byte-by-byte search costs more than Java's regular expression,
    measured)."""
    return F.nullif(F.regexp_extract(agent, pattern, 1), F.lit(""))


def _admin_parts(padded: Column) -> Column:
    """Every part ``lf.ADMIN_PART`` matches, in order; the search only runs
    where an ``i/``, ``o/`` or ``m/`` part starts at all (rarely)."""
    some = reduce(lambda a, b: a | b, (padded.contains(s) for s in ADMIN_STARTS))
    found = F.regexp_extract_all(padded, F.lit(ADMIN_PART), 1)
    return F.when(some, found).otherwise(F.array().cast("array<string>"))


def _positional(parts: Column, index: int) -> Column:
    """Part ``index`` when it exists and contains a ``/``."""
    part = F.get(parts, index)
    return F.when(part.contains("/"), part)


def read_lines(frame: DataFrame, column: str = "value") -> DataFrame:
    """A frame of raw lines (``spark.read.text(..., lineSep="\\n")``) as text
    that is valid UTF-8, bad bytes replaced as Python's "replace" does."""
    return frame.select(F.make_valid_utf8(F.col(column)).alias("line"))


def parse_lines(
    frame: DataFrame, column: str = "line", keep: tuple[str, ...] = ()
) -> DataFrame:
    """One row per line: the ``keep`` columns, ``line_kind`` ("blank",
    "malformed", "other", "conda"), ``timestamp`` (other and conda lines),
    the fields of ``lf.Request`` (conda lines), and ``bad``: the text of a
    malformed line. ``request_fields(classify(...))``."""
    return request_fields(classify(frame, column, keep), keep)


# the working columns ``classify`` hands to ``request_fields``
CARRIED = ("_f", "_agent")


def classify(
    frame: DataFrame, column: str = "line", keep: tuple[str, ...] = ()
) -> DataFrame:
    """The first half of ``parse_lines``: the ``keep`` columns,
    ``line_kind``, ``timestamp`` and ``bad`` of each line, and the working
    columns ``CARRIED`` (the line's fields, its unescaped user-agent).
    Enough to count lines and find malformed ones; ``request_fields`` does
    the rest, for conda lines. Two halves also keep each generated method
    small enough for the JVM to compile it (HotSpot leaves a method of more
    than 8000 bytes of bytecode interpreted; the whole grammar in one
    projection is more)."""
    c = F.col
    raw = c(column)
    text = F.when(raw.endswith("\r"), raw.substr(F.lit(1), F.length(raw) - 1))
    step = frame.select(*keep, text.otherwise(raw).alias("_line"))
    fields = _replaced(c("_line"), LINE, LINE_GROUPS)
    step = _add(step, _fr=F.when(~c("_line").contains(SEP), fields))
    step = _add(step, _f=_groups(c("_fr")))
    step = _add(step, _time=c("_f")[1], _agent=_unescape(c("_f")[4]))
    step = with_time(step, "_time", "_stamp")
    kind = (
        F.when(c("_line") == "", F.lit("blank"))
        .when(c("_stamp").isNull(), F.lit("malformed"))
        .when(c("_agent").startswith("conda/"), F.lit("conda"))
        .otherwise(F.lit("other"))
    )
    step = _add(step, line_kind=kind)
    line_kind = c("line_kind")
    return step.select(
        *keep,
        "line_kind",
        F.when(line_kind.isin("conda", "other"), c("_stamp")).alias("timestamp"),
        F.when(line_kind == "malformed", c("_line")).alias("bad"),
        *CARRIED,
    )


def request_fields(classified: DataFrame, keep: tuple[str, ...] = ()) -> DataFrame:
    """The second half of ``parse_lines``: ``classify``'s rows with the
    fields of ``lf.Request`` (null but for conda lines), without ``CARRIED``."""
    c = F.col
    conda = c("line_kind") == "conda"
    # the request's path (lf.parse_path); "" when the request is not "METHOD target"
    target = F.regexp_extract(_unescape(c("_f")[2]), REQUEST, 1)
    step = _add(
        classified,
        _wr=F.when(
            conda,
            _replaced(F.substring_index(target, "?", 1), PATH, ["$1", "$2", "$3"]),
        ),
        _parts=F.when(conda, F.split(c("_agent"), " ", -1)),
        _padded=F.when(conda, _padded(c("_agent"))),
    )
    step = _add(step, _where=_groups(c("_wr")))
    step = _add(step, _pr=_replaced(c("_where")[3], PACKAGE, ["$1", "$2"]))
    step = _add(
        step,
        _package=_groups(c("_pr")),
        _repodata=c("_where")[3].rlike(REPODATA),
        **{
            f"_{name}": _value_of_first(c("_padded"), pattern)
            for name, pattern in PART_PATTERNS.items()
        },
    )
    where, package = c("_where"), c("_package")
    parts = c("_parts")
    named = {
        "status": c("_f")[3].cast("int"),
        "channel": where[1],
        "subdir": where[2],
        "kind": F.when(where.isNull(), F.lit("other"))
        .when(package.isNotNull(), F.lit("package"))
        .when(c("_repodata"), F.lit("repodata"))
        .otherwise(F.lit("other")),
        "package": package[1],
        "version": package[2],
        "conda_version": F.get(parts, 0).substr(
            F.lit(len("conda/") + 1), F.lit(1 << 30)
        ),
        "python": _positional(parts, 2),
        "os": _positional(parts, 3),
        "distribution": _positional(parts, 4),
        **{name: c(f"_{name}") for name in PART_PATTERNS},
        "admin": _admin_parts(c("_padded")),
    }
    return step.select(
        *keep,
        "line_kind",
        "timestamp",
        *(F.when(conda, named[name]).alias(name) for name in REQUEST_FIELDS),
        "bad",
    )
