"""The Spark parse twin agrees with ``parse_line``, line for line."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("polars", reason="the counting side needs the stats extra")

from test_stats_lines import CRAFTED, UA, line

from anaconda_anon_usage.stats import lineformat as lf
from anaconda_anon_usage.stats.spark import regex


def _expand(java_class: str) -> set[int]:
    """The code points of a Java class body written with \\t, \\r, \\xHH, \\x{H}."""
    text = re.sub(r"\\x\{([0-9a-f]+)\}", lambda m: chr(int(m[1], 16)), java_class)
    text = re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m[1], 16)), text)
    text = text.replace(r"\t", "\t").replace(r"\r", "\r")
    points: set[int] = set()
    i = 0
    while i < len(text):
        if i + 2 < len(text) and text[i + 1] == "-":
            points.update(range(ord(text[i]), ord(text[i + 2]) + 1))
            i += 3
        else:
            points.add(ord(text[i]))
            i += 1
    return points


def test_the_whitespace_class_is_pythons():
    python = {c for c in range(sys.maxunicode + 1) if re.match(r"\s", chr(c))}
    assert _expand(regex.WHITESPACE) == python


def test_translation_refuses_what_it_cannot_translate():
    with pytest.raises(ValueError):
        regex.java(r"^\w+$")
    assert regex.java(r"^a.(?P<x>\S)$") == "(?d)^a.(?<x>[^" + regex.WHITESPACE + "])$"


TIMES = [
    "10/Oct/2026:13:55:36 +0000",
    "10/oct/2026:13:55:36 +0000",  # the month's case matters
    "10/OCT/2026:13:55:36 -0130",
    "10/\u017fep/2026:13:55:36 +0000",  # long s: never a month
    " 5/Oct/2026:13:55:36 +0000",  # strptime's leniency is gone
    "5/Oct/2026:13:55:36 +0000",
    "10/Oct/2026:1:2:3 +0000",
    "10/Oct/2026:13:55:36\t+0000",
    "10/Oct/2026:13:55:36\xa0+0000",
    "10/Oct/2026:13:55:36  +0000",
    "10/Oct/2026:13:55:36+0000",
    "10/Oct/2026:13:55:36 Z",
    "10/Oct/2026:13:55:36 +01:00",
    "10/Oct/2026:13:55:36 +010030",
    "10/Oct/2026:13:55:36 +0100.5",
    "10/Oct/2026:13:55:36 +2359",
    "10/Oct/2026:13:55:36 -2359",
    "10/Oct/2026:13:55:36 +2400",
    "10/Oct/2026:13:55:36 -9959",
    "10/Oct/2026:13:55:36 +0060",
    "10/Oct/2026:13:55:36 -0059",
    "10/Oct/2026:13:55:60 +0000",  # no leap second
    "10/Oct/2026:13:60:00 +0000",
    "10/Oct/2026:24:00:00 +0000",
    "29/Feb/2024:00:00:00 +0000",
    "29/Feb/2026:00:00:00 +0000",
    "29/Feb/2000:00:00:00 +0000",
    "29/Feb/1900:00:00:00 +0000",
    "31/Apr/2026:00:00:00 +0000",
    "30/Apr/2026:00:00:00 +0000",
    "31/Dec/9999:23:59:59 -2359",
    "01/Jan/0001:00:00:00 +2359",
    "01/Jan/0001:00:00:00 +0000",
    "01/Jan/0000:00:00:00 +0000",
    "01/Jan/1969:23:59:59 +0000",
    "00/Jan/2026:00:00:00 +0000",
    "32/Jan/2026:00:00:00 +0000",
    "10/Oct/\u0662\u0660\u0662\u0666:13:55:36 +0000",  # Arabic-Indic digits
    "\uff11\uff10/Oct/2026:13:55:36 +0000",  # full-width digits
    "10/Oct/2026:13:55:36 +0000 ",  # anything after
    "10/Oct/2026:13:55:36 +0000\r",
    "10/Oct/2026:13:55:36 +0000x",
    "10/Oct/2026:13:55 +0000",
    "10/Octo/2026:13:55:36 +0000",
    "10/Oct/26:13:55:36 +0000",
    "10/Oct/12026:13:55:36 +0000",
    "10/Oct/2026:13:55:36",
]

MORE = [line(time=t) for t in TIMES] + [
    line(agent=UA + " c/second s/\u2028x e/E2"),
    line(agent="conda/24.1.2 requests/2 CPython/3.11\x85 Linux/6 x/1 c/a\u3000 s/b"),
    line(path="/a\rb/linux-64/x-1-0.conda"),  # \r inside: Java's $ and . differ
    line(path="/a\u2028b/linux-64/x-1-0.conda"),
    line() + "\r\r",
    line() + "\u2028",
    line(tail=" \u2028 more"),
    line(host="a\xa0b"),  # not one field in Python's \S
    line(host="a\x1cb"),
    line(agent="conda/1 " + "x" * 20000),  # long: Java regex must not recurse
    line(agent="conda/1 " + '\\"' * 5000),
    line(path="/conda-forge/linux-64/" + "a-" * 3000 + "1-0.conda"),
    line(agent="conda/24 r/2 CPython/3 Linux/6 d/1 solver/ c/ i/x i/y m/" + "z" * 64),
    line(agent="conda/24 r/2 CPython/3 Linux/6 d/1 o/" + "z" * 65 + " solver/a/b"),
    line(agent="conda/24  CPython/3  Linux/6 "),
    # token parts: whole parts only, the first that matches
    line(agent="conda/24 r/2 xc/a c/b c/c s/a!  s/b e/\tx e/y"),
    line(agent="conda/24 r/2 c/a!c/b c/" + "z" * 65 + " c/ok c/later"),
    line(agent="conda/24 r/2 i/a i/b\ti/c o/d o/ m/e m/f! m/g i/h"),
    line(agent="conda/24 r/2 solver/a solver/b aau/ aau/1 aau/2 c/a/b"),
    line(agent="conda/24 r/2 xi/a yo/b zm/c m/ i/! o/" + "z" * 65),  # no admin part
    line(agent="conda/24 r/2 xi/a\ti/b o/c"),
    line(agent="conda/24 c/x"),
    line(agent="conda/24 c/x "),
    line(agent="conda/"),
    line(path="/x/noarch/repodata.json?x=1?y=2"),
    line(path="/x/y/linux-64/pkg-1-0.tar.bz2"),
    line(path="/x/LINUX-64/pkg-1-0.conda"),
    line(path="/x/linux-64/pkg-1-0.conda/"),
    line(path="x/linux-64/pkg-1-0.conda"),
    line(path="/x/linux-64/-1-0.conda"),
    line(path="/x/linux-64/repodata.json.ZST"),
    line(path="/x/linux-64/repodata.jso\u00f1"),
    line().replace("GET /", "get /"),
    line().replace("GET /", "GET  /"),
    line().replace(" HTTP/1.1", ""),
    line().replace(" HTTP/1.1", " HTTP/1.1 extra"),
    line().replace('"GET ', '"GET\\" '),
    line(status="099"),
    line(tail="x"),
    line(tail=" "),
    "\x1f",
    " ",
    "\r",
    "\r\r",
]

ALL_CRAFTED = CRAFTED + MORE


def expected(text: str) -> tuple:
    parsed = lf.parse_line(text)
    fields = (None,) * 16 if parsed.request is None else tuple(parsed.request)[1:]
    if parsed.request is not None:
        fields = (*fields[:-1], list(fields[-1]))
    return (parsed.kind, parsed.timestamp, *fields)


def spark_rows(spark, frame) -> list[tuple]:
    from anaconda_anon_usage.stats.spark.parse import parse_lines

    rows = parse_lines(frame).drop("bad").collect()
    return [tuple(row) for row in rows]


def test_crafted_lines_parse_as_parse_line_does(spark):
    frame = spark.createDataFrame(
        [(i, t) for i, t in enumerate(ALL_CRAFTED)], "i long, line string"
    )
    got = spark_rows(spark, frame.orderBy("i").coalesce(1))
    for text, row in zip(ALL_CRAFTED, got, strict=True):
        assert row == expected(text), text[:300]


def test_the_java_token_class_is_the_grammars(spark):
    """The part patterns hand Java ``[\\w-]`` for ``lf.TOKEN_VALUE``'s class:
    the same characters, every code point (surrogates apart: not text)."""
    from pyspark.sql import functions as F

    from anaconda_anon_usage.stats.spark import parse

    assert parse.TOKEN_CLASS in lf.TOKEN_VALUE
    points = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    frame = spark.createDataFrame([(chr(c),) for c in points], "c string")
    java = "(?d)^" + parse.JAVA_TOKEN_CLASS + "$"
    got = {
        ord(row.c) for row in frame.filter(F.col("c").rlike(java)).select("c").collect()
    }
    python = {c for c in points if re.fullmatch(parse.TOKEN_CLASS, chr(c))}
    assert got == python and len(python) == 64


def test_part_patterns_capture_the_value(spark):
    """A part pattern's group is what follows the part's first ``/``, the
    first such part only; admin parts are kept whole."""
    from pyspark.sql import functions as F

    from anaconda_anon_usage.stats.spark import parse

    frame = spark.createDataFrame(
        [(" conda/25 c/x-1 solver/libmamba/2 c/y aau/0.4 i/a ",)], "p string"
    )
    row = frame.select(
        *(
            F.regexp_extract("p", pattern, 1).alias(name)
            for name, pattern in parse.PART_PATTERNS.items()
        ),
        F.regexp_extract_all("p", F.lit(parse.ADMIN_PART), 1).alias("admin"),
    ).first()
    assert row.client == "x-1" and row.solver == "libmamba/2"
    assert row.aau_version == "0.4" and row.session == row.environment == ""
    assert row.admin == ["i/a"]
    with pytest.raises(ValueError):
        parse._any_part(r"^[cs]/x$", value=True)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        where = rng.randrange(len(data) + 1)
        action = rng.choice(("flip", "delete", "insert"))
        if action == "insert" or not data or where == len(data):
            data[where:where] = bytes([rng.randrange(256)])
        elif action == "delete":
            del data[where]
        else:
            data[where] ^= 1 << rng.randrange(8)
    return bytes(data).replace(b"\n", b"")


def test_fuzzed_real_lines_parse_as_parse_line_does(spark, tmp_path: Path):
    from pyspark.sql import functions as F

    from anaconda_anon_usage.stats.spark.parse import read_lines
    from anaconda_anon_usage.stats.synthetic import generate

    generate(str(tmp_path / "logs"), weeks=1, clients=30, seed=11)
    real = (tmp_path / "logs" / "access-2026-10-07.log").read_bytes().split(b"\n")[:-1]
    rng = random.Random(20261124)
    lines = [_mutate(rng, rng.choice(real)) for _ in range(3000)]
    lines += [
        ALL_CRAFTED[i].encode() + rng.choice([b"\xff", b"\xe2\x82", b"\xc3", b""])
        for i in range(len(ALL_CRAFTED))
    ]
    path = tmp_path / "fuzz.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    frame = spark.read.option("lineSep", "\n").text(str(path))
    frame = read_lines(frame.coalesce(1))
    got = spark_rows(spark, frame)
    texts = [raw.decode("utf-8", "replace") for raw in lines]
    assert len(got) == len(texts)
    kinds = {kind: 0 for kind in ("blank", "malformed", "other", "conda")}
    for text, row in zip(texts, got, strict=True):
        assert row == expected(text), text
        kinds[row[0]] += 1
    assert kinds["malformed"] > 100 and kinds["conda"] > 1000 and kinds["other"] > 10
    assert F is not None
