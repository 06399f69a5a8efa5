"""Token values as people see them: ``.`` in place of each value.

Used wherever conda renders the user-agent for a person (``conda info``, log
records, error messages). Imported only when something is shown, never by
the steady state of a command that sends tokens: most conda processes never
log nor fail.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from .useragent import KIND_ORDER, PRODUCT, REDACTED


def redact(user_agent: str) -> str:
    """Replace our token values with ``.``; everything before ``aau/`` is untouched."""
    marker = f" {PRODUCT}/"
    head, found, tail = user_agent.partition(marker)
    if not found:
        return user_agent
    parts = tail.split(" ")
    for index, part in enumerate(parts[1:], start=1):
        kind, slash, _ = part.partition("/")
        if slash and kind in KIND_ORDER:
            parts[index] = f"{kind}/{REDACTED}"
    return head + marker + " ".join(parts)


# Our part of a user-agent inside any text: a log line, a dump of request
# headers, an error message. Values end where a token's alphabet ends (a
# quote, a newline, a comma). Compiled on first use (~0.2 ms).
_PART_IN_TEXT = r"\baau/[0-9A-Za-z.+!_-]+((?: [cseiom]/[A-Za-z0-9_.-]+)+)"
_VALUE_IN_PART = r"([cseiom])/[A-Za-z0-9_.-]+"


def _redact_match(match: re.Match[str]) -> str:
    start = match.start(1) - match.start()
    whole = match.group(0)
    shown = re.sub(_VALUE_IN_PART, rf"\1/{REDACTED}", whole[start:])
    return whole[:start] + shown


def redact_text(text: str, values: Iterable[str] = ()) -> str:
    """``text`` as people may see it: every ``aau/…`` part in it with its token
    values as ``.``, and each of ``values`` (the random tokens this process
    sends) replaced wherever it appears, even outside such a part."""
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    if "aau/" not in text:
        return text
    return re.sub(_PART_IN_TEXT, _redact_match, text)


def redact_record(record: logging.LogRecord, values: Iterable[str]) -> None:
    """A log record's message and traceback as people may see them."""
    message = record.getMessage()
    shown = redact_text(message, values)
    if shown != message:
        record.msg, record.args = shown, ()
    if record.exc_info and not record.exc_text:
        trace = logging.Formatter().formatException(record.exc_info)
        shown = redact_text(trace, values)
        if shown != trace:
            record.exc_text = shown


def redact_error_arguments(
    message: Any, kwargs: dict[str, Any], values: Iterable[str]
) -> Any:
    """A conda error's message (returned) and its string keyword arguments
    (replaced in ``kwargs``) as people may see them."""
    if isinstance(message, str):
        message = redact_text(message, values)
    for name, value in kwargs.items():
        if isinstance(value, str):
            kwargs[name] = redact_text(value, values)
    return message
