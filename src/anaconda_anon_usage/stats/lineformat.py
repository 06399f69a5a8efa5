"""The grammar of one access-log line, and its parse as a pure function.

``parse_line`` depends on nothing but the line: it is the reference that
any engine (this package's vectorised reader, or a distributed one later)
must reproduce. The regular expressions are written in the common subset of
Python's ``re`` and Rust's ``regex`` so that both can run them.

A line is Combined Log Format as nginx and Apache write it, possibly with
extra fields after the user-agent::

    host ident user [time] "request" status size "referer" "user-agent" ...

The client address is matched but never captured: it is never stored.
Character classes are spelled out (``[^ ]``, ``[0-9]``): what ``\\s`` and ``\\d``
mean differs between Python, Rust and Java.
"""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple


def _quoted(name: str) -> str:
    return r'"(?P<' + name + r'>(?:[^"\\]|\\.)*)"'


LINE = (
    r"^[^ ]+ [^ ]+ [^ ]+ \[(?P<time>[^\]]+)\] "  # client (never captured), ident, user
    + _quoted("request")
    + r" (?P<status>[0-9]{3}) [^ ]+ "  # status, size
    + _quoted("referer")
    + " "
    + _quoted("agent")
    + r"(?: .*)?$"  # extra fields after the user-agent
)
LINE_RE = re.compile(LINE)

# The time exactly as nginx ($time_local) and Apache (%t) write it:
# ``10/Oct/2026:13:55:36 +0200``. Spelled out rather than left to strptime,
# whose leniency (one-digit fields, any case, any white space, ``Z``,
# ``+02:00``) differs between Python versions and from other engines.
MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
# Years 0002-9998 only, so that the UTC instant of any offset is a real day
# (0001-01-01 +0100 would be in year 0). Spelled without look-arounds: the
# twins hand this pattern to Rust's and Java's regex engines.
YEAR = r"(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
TIME = (
    r"^([0-9]{2})/("
    + "|".join(MONTHS)
    + r")/"  # day, month
    + YEAR
    + r":([0-9]{2}):([0-9]{2}):([0-9]{2})"  # hour, minute, second
    + r" ([+-])([0-9]{2})([0-9]{2})$"  # offset from UTC: sign, hours, minutes
)
TIME_RE = re.compile(TIME)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
REQUEST = r"^[A-Z]+ ([^ ]+)(?: [^ ]+)?$"
REQUEST_RE = re.compile(REQUEST)
PATH = (
    r"^/(?:t/[^/]+/)?"  # an anaconda.org token path prefix: dropped, never kept
    r"(.+?)/"  # channel (may have several segments: label/..., pkgs/main)
    r"(noarch|[a-z0-9]+-[a-z0-9_]+)/"  # subdir
    r"([^/]+)$"  # file name
)
PATH_RE = re.compile(PATH)
PACKAGE = r"^(.+)-([^-]+)-([^-]+)\.(?:conda|tar\.bz2)$"
PACKAGE_RE = re.compile(PACKAGE)
REPODATA = r"^(?:current_)?repodata[A-Za-z0-9_.]*$"
REPODATA_RE = re.compile(REPODATA)

# The user-agent is split on spaces; each part is ``name/value``.
TOKEN_VALUE = r"[A-Za-z0-9_-]{1,64}"
ADMIN_PART = r"^[iom]/" + TOKEN_VALUE + r"$"
ADMIN_PART_RE = re.compile(ADMIN_PART)
PART_PATTERNS = {  # stored field -> pattern of the whole part
    "client": r"^c/" + TOKEN_VALUE + r"$",
    "session": r"^s/" + TOKEN_VALUE + r"$",
    "environment": r"^e/" + TOKEN_VALUE + r"$",
    "solver": r"^solver/[^ ]+$",
    "aau_version": r"^aau/[^ ]+$",
}
PART_RES = {name: re.compile(pattern) for name, pattern in PART_PATTERNS.items()}


class Request(NamedTuple):
    """One conda request, as stored (before tokens are hashed)."""

    timestamp: int  # seconds since the epoch, UTC
    status: int
    channel: str | None
    subdir: str | None
    kind: str  # "repodata", "package" or "other"
    package: str | None
    version: str | None
    conda_version: str
    python: str | None  # "CPython/3.11.7"
    os: str | None  # "Linux/6.1.0"
    distribution: str | None  # "debian/12", "OSX/14.1"
    solver: str | None
    aau_version: str | None
    client: str | None
    session: str | None
    environment: str | None
    admin: tuple[str, ...]  # "i/…", "o/…", "m/…" in the order sent


class Line(NamedTuple):
    """What one line is: malformed, another client's request, or conda's."""

    kind: str  # "blank", "malformed", "other" or "conda"
    timestamp: int | None = None
    request: Request | None = None


MALFORMED = Line("malformed")


def unescape(value: str) -> str:
    r"""nginx and Apache write ``"`` as ``\"`` and ``\`` as ``\\`` inside quotes."""
    return value.replace('\\"', '"').replace("\\\\", "\\")


def parse_time(text: str) -> int | None:
    """Seconds since the epoch (UTC); None unless the text is a real time in
    the grammar above: a day that exists, hours 00-23, minutes and seconds
    00-59 (no leap second), an offset under 24 hours, a year from 0002 to 9998."""
    match = TIME_RE.match(text)
    if not match:
        return None
    day, month, year, hour, minute, second, sign, off_h, off_m = match.groups()
    h, m, s = int(hour), int(minute), int(second)
    if h > 23 or m > 59 or s > 59:
        return None
    offset = utc_offset(sign, off_h, off_m)
    days = epoch_day(day, month, year)
    if offset is None or days is None:
        return None
    return days * 86400 + h * 3600 + m * 60 + s - offset


def epoch_day(day: str, month: str, year: str) -> int | None:
    """Days since 1970-01-01 of a ``dd``, ``Mon``, ``yyyy`` date that exists;
    None for one that does not (31 Apr, 29 Feb 2026, year 0)."""
    try:
        ordinal = date(int(year), MONTHS.index(month) + 1, int(day)).toordinal()
    except ValueError:
        return None
    return ordinal - EPOCH_ORDINAL


def utc_offset(sign: str, hours: str, minutes: str) -> int | None:
    """Seconds east of UTC of ``+hhmm``/``-hhmm``; None from 24 hours or
    60 minutes."""
    oh, om = int(hours), int(minutes)
    if oh > 23 or om > 59:
        return None
    return (oh * 3600 + om * 60) * (-1 if sign == "-" else 1)


def _positional(parts: list[str], index: int) -> str | None:
    return parts[index] if len(parts) > index and "/" in parts[index] else None


def _value_of_first(pattern: re.Pattern[str], parts: list[str]) -> str | None:
    """The value (after the first ``/``) of the first part the pattern matches."""
    for part in parts:
        if pattern.match(part):
            return part.split("/", 1)[1]
    return None


def parse_agent(agent: str) -> dict[str, object] | None:
    """conda's user-agent: ``conda/V requests/V Python/V OS/V dist/V …``."""
    if not agent.startswith("conda/"):
        return None
    parts = agent.split(" ")
    fields: dict[str, object] = {
        "conda_version": parts[0][len("conda/") :],
        "python": _positional(parts, 2),
        "os": _positional(parts, 3),
        "distribution": _positional(parts, 4),
    }
    for name, pattern in PART_RES.items():
        fields[name] = _value_of_first(pattern, parts)
    fields["admin"] = tuple(part for part in parts if ADMIN_PART_RE.match(part))
    return fields


def parse_path(target: str) -> dict[str, str | None]:
    path = target.split("?", 1)[0]
    match = PATH_RE.match(path)
    if not match:
        return {
            "channel": None,
            "subdir": None,
            "kind": "other",
            "package": None,
            "version": None,
        }
    channel, subdir, filename = match.groups()
    package = PACKAGE_RE.match(filename)
    if package:
        return {
            "channel": channel,
            "subdir": subdir,
            "kind": "package",
            "package": package.group(1),
            "version": package.group(2),
        }
    kind = "repodata" if REPODATA_RE.match(filename) else "other"
    return {
        "channel": channel,
        "subdir": subdir,
        "kind": kind,
        "package": None,
        "version": None,
    }


BLANK = Line("blank")
SEPARATOR = "\x1f"  # never written by nginx or Apache (they escape control bytes)


def parse_line(line: str) -> Line:
    """Classify and parse one log line (without its newline). Pure.

    Bytes that are not UTF-8 are expected as U+FFFD (decode with "replace").
    """
    line = line.removesuffix("\r")
    if not line:
        return BLANK
    match = LINE_RE.match(line)
    if not match or SEPARATOR in line:
        return MALFORMED
    time_text, request_text, status, agent_text = match.group(
        "time", "request", "status", "agent"
    )
    timestamp = parse_time(time_text)
    if timestamp is None:
        return MALFORMED
    agent = parse_agent(unescape(agent_text))
    if agent is None:
        return Line("other", timestamp)
    request = REQUEST_RE.match(unescape(request_text))
    where = parse_path(request.group(1)) if request else parse_path("")
    return Line(
        "conda",
        timestamp,
        Request(timestamp=timestamp, status=int(status), **where, **agent),  # type: ignore[arg-type]
    )


# What `redact` masks in a line shown to the operator (a malformed example).
_FIRST_FIELD_RE = re.compile(r"^[^ ]+")
_TOKEN_RE = re.compile(r"(^|[ \"'(;,])([a-z])/[^ \"']+")
_IPV4_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# colon-separated hex groups: an IPv6 address has '::' or at least 5 colons
# (a log time, 2026:10:00:00, has 3)
_IPV6_RE = re.compile(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}")


def _ipv6(match: re.Match[str]) -> str:
    text = match.group(0)
    return "…" if "::" in text or text.count(":") >= 5 else text


def redact(line: str) -> str:
    """A line fit to print: the client field, IP addresses and token values
    (``c/…``, any one-letter kind) masked, so malformed examples shown by
    ``ingest`` never put an address or a token in a terminal or cron mail."""
    line = _FIRST_FIELD_RE.sub("…", line, count=1)
    line = _TOKEN_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}/…", line)
    line = _IPV4_RE.sub("…", line)
    return _IPV6_RE.sub(_ipv6, line)
