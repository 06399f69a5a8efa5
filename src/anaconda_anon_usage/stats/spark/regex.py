"""Python ``re`` patterns rewritten for Java's ``java.util.regex`` (Spark's).

The two engines read the same pattern text differently, so each pattern of
``lineformat`` is translated here instead of being copied by hand:

* ``$`` and ``.``: Java treats ``\\r``, ``\\u0085``, ``\\u2028`` and ``\\u2029``
  as line ends; the ``(?d)`` flag (UNIX_LINES) makes ``\\n`` the only one, as
  in Python.
* ``\\s``/``\\S``: Python's are Unicode (they include ``\\x1c``-``\\x1f``,
  ``\\x85``, ``\\xa0``...), Java's ASCII: both become an explicit class.
* ``\\d``: Python's is any Unicode decimal digit (``\\p{Nd}`` in Java).
* ``(?P<name>``: Java spells named groups ``(?<name>``.
* A quoted field ``(?:[^"\\\\]|\\\\.)*`` recurses once per character in Java
  (a stack overflow on a long user-agent); it is unrolled into possessive
  loops, which match the same text (the field ends at the first unescaped
  quote whichever way it is read).

Pure Python, no pyspark: the tests check the translation without Spark.
"""

from __future__ import annotations

# Exactly the characters Python's ``re`` matches with ``\s`` in a str pattern
# (tests/test_spark_parse.py recomputes the set from ``re`` itself).
WHITESPACE = (
    r"\t-\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}"
)
QUOTED_PY = r'(?:[^"\\]|\\.)*'
QUOTED_JAVA = r'[^"\\]*+(?:\\.[^"\\]*+)*+'


def java(pattern: str, *, ignore_case: bool = False) -> str:
    """The Java pattern that matches what the Python pattern matches."""
    for unsupported in (r"\w", r"\W", r"\b", r"\B", r"\D", r"\Z", "(?="):
        if unsupported in pattern:  # keep the translation honest
            raise ValueError(f"no Java translation for {unsupported!r}")
    out = pattern.replace(QUOTED_PY, QUOTED_JAVA)
    out = out.replace("(?P<", "(?<")
    out = out.replace(r"\S", "[^" + WHITESPACE + "]")
    out = out.replace(r"\s", "[" + WHITESPACE + "]")
    out = out.replace(r"\d", r"\p{Nd}")
    flags = "(?diu)" if ignore_case else "(?d)"
    return flags + out
