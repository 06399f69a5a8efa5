"""``lineformat.parse_line`` on Spark's own columnar functions.

No Python runs per line: every step is a Spark SQL expression (regular
expressions, string and array functions, integer arithmetic), so it runs in
the JVM on every executor. The tests hold it to ``parse_line`` line for line.

Where a regular expression has several groups, it is applied once with
``regexp_replace`` into the groups joined by ``\\x1f`` (a line holding that
byte is malformed anyway) and split, instead of once per group.
"""

from __future__ import annotations

import unicodedata

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from .. import lineformat as lf
from . import regex

SEP = lf.SEPARATOR
MONTHS = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
]
US = 1_000_000
# the fields of lf.Request after its timestamp, in order
REQUEST_FIELDS = lf.Request._fields[1:]

LINE = regex.java(lf.LINE)
TIME = "^" + regex.java(regex.STRPTIME, ignore_case=True)[len("(?diu)") :]
TIME = "(?diu)" + TIME + "(.*)"  # group 10: what strptime would leave unconverted
REQUEST = regex.java(lf.REQUEST)
PATH = regex.java(lf.PATH)
PACKAGE = regex.java(lf.PACKAGE)
REPODATA = regex.java(lf.REPODATA)
ADMIN_PART = regex.java(lf.ADMIN_PART)
PART_PATTERNS = {name: regex.java(p) for name, p in lf.PART_PATTERNS.items()}


def _ascii_digits() -> tuple[str, str]:
    """Every Unicode decimal digit, and its ASCII value: ``int()`` reads them
    all, so strptime accepts ``\\d`` matched by any of them."""
    source, target = [], []
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) == "Nd" and not char.isascii():
            source.append(char)
            target.append(str(unicodedata.decimal(char)))
    return "".join(source), "".join(target)


DIGITS_FROM, DIGITS_TO = _ascii_digits()


def _groups(text: Column, pattern: str, groups: list[str]) -> Column:
    """The groups of the first match as an array led by "" (null: no match)."""
    replaced = F.regexp_replace(text, pattern, "".join(SEP + g for g in groups))
    return F.when(replaced.startswith(SEP), F.split(replaced, SEP, -1))


def _int(text: Column) -> Column:
    """``int(text)`` for digit strings; null (never an error, ANSI mode or
    not) for anything else."""
    return F.trim(F.translate(text, DIGITS_FROM, DIGITS_TO)).try_cast("long")


def _days_from_civil(y: Column, m: Column, d: Column) -> Column:
    """Days since 1970-01-01 of a proleptic Gregorian date (year >= 1)."""
    y = y - F.when(m <= 2, 1).otherwise(0)
    era = F.floor(y / 400)
    yoe = y - era * 400
    shifted = F.when(m > 2, m - 3).otherwise(m + 9)
    doy = F.floor((153 * shifted + 2) / 5) + d - 1
    doe = yoe * 365 + F.floor(yoe / 4) - F.floor(yoe / 100) + doy
    return (era * 146097 + doe - 719468).cast("long")


def parse_time(text: Column) -> Column:
    """Seconds since the epoch, as ``int(datetime.strptime(text,
    TIME_FORMAT).timestamp())``; null where strptime raises ValueError."""
    g = _groups(text, TIME, [f"${i}" for i in range(1, 11)])
    day, year = _int(g[1]), _int(g[3])
    # the regex ignores case ("\u017fep" matches); the month list does not
    month = F.array_position(F.array(*map(F.lit, MONTHS)), F.lower(g[2]))
    hour, minute, second = _int(g[4]), _int(g[5]), _int(g[6])
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = (
        F.when(month == 2, F.when(leap, 29).otherwise(28))
        .when(month.isin(4, 6, 9, 11), 30)
        .otherwise(31)
    )
    # %z as _strptime reads it: "Z", or +-HH[:]MM[[:]SS[.ffffff]] with the
    # colons either all there or all missing.
    z = g[7]
    colon = F.substring(z, 4, 1) == ":"
    z1 = F.when(colon, F.concat(F.substring(z, 1, 3), F.substring(z, 5, 99)))
    z1 = z1.otherwise(z)
    inconsistent = colon & (F.length(z1) > 5) & (F.substring(z1, 6, 1) != ":")
    z2 = F.when(
        colon & (F.length(z1) > 5),
        F.concat(F.substring(z1, 1, 5), F.substring(z1, 7, 99)),
    ).otherwise(z1)
    seconds_text = F.substring(z2, 6, 2)
    zone_seconds = F.when(seconds_text == "", F.lit(0)).otherwise(_int(seconds_text))
    zone = (
        _int(F.substring(z2, 2, 2)) * 3600
        + _int(F.substring(z2, 4, 2)) * 60
        + zone_seconds
    )
    fraction = _int(F.rpad(F.substring(z2, 9, 99), 6, "0"))
    sign = F.when(F.substring(z2, 1, 1) == "-", -1).otherwise(1)
    zulu = z == "Z"
    zone = F.when(zulu, 0).otherwise(sign * zone)
    fraction = F.when(zulu, 0).otherwise(sign * fraction)
    zone_us = zone * US + fraction
    local = _days_from_civil(year, month, day) * 86400 + hour * 3600
    local = local + minute * 60 + second
    # datetime.timestamp() is a float, int() truncates it: exact for whole
    # seconds; with a fractional offset, the same IEEE division.
    seconds = F.when(fraction == 0, local - zone).otherwise(
        ((local * US - zone_us).cast("double") / float(US)).cast("long")
    )
    valid = (
        g.isNotNull()
        & (g[10] == "")
        & (year >= 1)
        & (month > 0)
        & (day <= month_days)
        & (second <= 59)
        & ~F.coalesce(inconsistent, F.lit(False))
        & zone_us.isNotNull()
        & (F.abs(zone_us) < 86400 * US)
    )
    return F.when(valid, seconds.cast("long"))


def _unescape(text: Column) -> Column:
    """nginx and Apache escape ``"`` and ``\\`` inside quotes (``lf.unescape``)."""
    once = F.replace(text, F.lit('\\"'), F.lit('"'))
    return F.replace(once, F.lit("\\\\"), F.lit("\\"))


def _after_slash(part: Column) -> Column:
    return part.substr(F.instr(part, "/") + 1, F.lit(1 << 30))


def _value_of_first(parts: Column, pattern: str) -> Column:
    """The value (after the first ``/``) of the first part the pattern matches."""
    return _after_slash(F.get(F.filter(parts, lambda p: p.rlike(pattern)), 0))


def _positional(parts: Column, index: int) -> Column:
    """Part ``index`` when it exists and contains a ``/``."""
    part = F.get(parts, index)
    return F.when(part.contains("/"), part)


def _where(request: Column) -> dict[str, Column]:
    """channel, subdir, kind, package, version of ``lf.parse_path``."""
    target = F.regexp_extract(_unescape(request), REQUEST, 1)  # "" when no match
    path = F.substring_index(target, "?", 1)
    where = _groups(path, PATH, ["$1", "$2", "$3"])
    filename = where[3]
    package = _groups(filename, PACKAGE, ["$1", "$2"])
    kind = (
        F.when(where.isNull(), F.lit("other"))
        .when(package.isNotNull(), F.lit("package"))
        .when(filename.rlike(REPODATA), F.lit("repodata"))
        .otherwise(F.lit("other"))
    )
    return {
        "channel": where[1],
        "subdir": where[2],
        "kind": kind,
        "package": package[1],
        "version": package[2],
    }


def _agent(agent: Column) -> dict[str, Column]:
    """The fields of ``lf.parse_agent`` (for a user-agent starting ``conda/``)."""
    parts = F.split(agent, " ", -1)
    first = F.get(parts, 0)
    return {
        "conda_version": first.substr(F.lit(len("conda/") + 1), F.lit(1 << 30)),
        "python": _positional(parts, 2),
        "os": _positional(parts, 3),
        "distribution": _positional(parts, 4),
        **{
            name: _value_of_first(parts, pattern)
            for name, pattern in PART_PATTERNS.items()
        },
        "admin": F.filter(parts, lambda p: p.rlike(ADMIN_PART)),
    }


def read_lines(frame: DataFrame, column: str = "value") -> DataFrame:
    """A frame of raw lines (``spark.read.text(..., lineSep="\\n")``) as text
    that is valid UTF-8, bad bytes replaced as Python's "replace" does."""
    return frame.select(F.make_valid_utf8(F.col(column)).alias("line"))


def parse_lines(frame: DataFrame, column: str = "line") -> DataFrame:
    """One row per line: ``kind`` ("blank", "malformed", "other", "conda"),
    ``timestamp``, and for conda requests the fields of ``lf.Request``."""
    text = F.col(column)
    text = F.when(text.endswith("\r"), text.substr(F.lit(1), F.length(text) - 1))
    text = text.otherwise(F.col(column))
    fields = _groups(text, LINE, ["${time}", "${request}", "${status}", "${agent}"])
    step = frame.select(
        text.alias("line"),
        F.when(~text.contains(SEP), fields).alias("f"),
    )
    agent = _unescape(F.col("f")[4])
    step = step.select(
        "line",
        "f",
        agent.alias("agent"),
        parse_time(F.col("f")[1]).alias("timestamp"),
    )
    blank = F.col("line") == ""
    kind = (
        F.when(blank, F.lit("blank"))
        .when(F.col("timestamp").isNull(), F.lit("malformed"))
        .when(F.col("agent").startswith("conda/"), F.lit("conda"))
        .otherwise(F.lit("other"))
    )
    step = step.select("*", kind.alias("kind"))
    conda = F.col("kind") == "conda"
    named = {
        "status": F.col("f")[3].cast("int"),
        **_where(F.col("f")[2]),
        **_agent(F.col("agent")),
    }
    return step.select(
        "kind",
        F.when(F.col("kind").isin("conda", "other"), F.col("timestamp")).alias(
            "timestamp"
        ),
        *(F.when(conda, named[name]).alias(name) for name in REQUEST_FIELDS),
    )
