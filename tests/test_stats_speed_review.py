"""Guards for the third round of speed work on the local engine: a block
parsed before it is hashed, a single last day written as two files, first
seen as a joined table. Each holds the stored rows or the totals to a truth
worked out with ``lineformat.parse_line``, not to the code under test."""

from __future__ import annotations

import gzip
import os
import random
from collections import Counter
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats import dataset, ingest, totals  # noqa: E402
from anaconda_anon_usage.stats import lineformat as lf  # noqa: E402
from anaconda_anon_usage.stats.dataset import RawDataset  # noqa: E402

AGENT = "conda/24.1.2 requests/2.31.0 CPython/3.11.7 Linux/6.1.0 debian/12 aau/0.5.0"


def conda_line(day: int, second: int, client: str, session: str, n: int) -> str:
    month_day = f"{day:02d}/Oct/2026"
    clock = f"{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    agent = f"{AGENT} c/{client} s/{session} e/env{n % 3}"
    if n % 11 == 0:
        agent += ' \\"quoted\\" o/org1'
    return (
        f"192.0.2.{n % 250} - - [{month_day}:{clock} +0000] "
        f'"GET /conda-forge/linux-64/pkg{n % 7}-1.{n}-0.conda HTTP/1.1" 200 5 '
        f'"-" "{agent}"'
    )


def truth(data: bytes, db: RawDataset) -> Counter[tuple]:
    """The rows ``parse_line`` finds in the complete lines of ``data``."""
    rows: Counter[tuple] = Counter()
    text = data.decode("utf-8", "surrogateescape")
    for line in text.split("\n")[:-1]:
        parsed = lf.parse_line(line)
        if parsed.kind != "conda" or parsed.request is None:
            continue
        request = parsed.request

        def hashed(kind: str, value: str | None) -> int:
            return db.hash_token(kind, value) if value else 0

        rows[
            (
                request.timestamp // 86400,
                request.package,
                request.version,
                hashed("c", request.client),
                hashed("s", request.session),
                hashed("e", request.environment),
            )
        ] += 1
    return rows


def stored(db: RawDataset) -> Counter[tuple]:
    columns = ["day", "package", "version", "client", "session", "environment"]
    frame = db.requests(-(10**6), 10**6).select(columns)
    return Counter(map(tuple, frame.iter_rows()))


def test_a_log_growing_across_block_boundaries_then_rotated_counts_each_line_once(
    tmp_path: Path, monkeypatch
):
    """Appends cut mid-line, exactly at block boundaries and many blocks at
    once, read after each; then the whole log (and more) rotated into .gz,
    where the earlier reads' checkpoints fall inside blocks."""
    block = 1024
    monkeypatch.setattr(ingest, "CHUNK_BYTES", block)
    monkeypatch.setattr(ingest, "LINE_TAIL", block // 2)
    lines = [
        conda_line(12 + n // 400, n * 97, f"client{n % 40}", f"s{n % 90}", n)
        for n in range(1200)
    ]
    lines[300:300] = ["garbage line", "", '1.2.3.4 - - [bad] "x" 400 0 "-" "-"']
    content = ("\n".join(lines) + "\n").encode()
    rng = random.Random(5)
    cuts, position = [], 0
    while position < len(content):
        step = rng.choice(("mid-line", "boundary", "many blocks"))
        if step == "mid-line":
            position += rng.randrange(1, 300)
        elif step == "boundary":
            position = (position // block + rng.randint(1, 3)) * block
        else:
            position += rng.randrange(5 * block, 30 * block)
        position = min(position, len(content))
        cuts.append(position)
    db = RawDataset(str(tmp_path / "raw"), write=True)
    log = tmp_path / "access.log"
    log.write_bytes(b"")
    for cut in cuts:
        with open(log, "ab") as stream:
            stream.write(content[os.path.getsize(log) : cut])
        ingest.ingest_path(db, str(log))
    assert len(db.ledger()) > 10
    assert stored(db) == truth(content, db)
    more = [conda_line(20, n * 61, f"late{n % 9}", "s", n) for n in range(40)]
    rotated = content + ("\n".join(more) + "\n").encode()
    (tmp_path / "access.log.1.gz").write_bytes(gzip.compress(rotated))
    result = ingest.ingest_path(db, str(tmp_path / "access.log.1.gz"))
    assert result.conda_requests == 40
    assert stored(db) == truth(rotated, db)


@pytest.mark.parametrize("rows", [19, 20, 21, 57])
def test_a_single_last_day_in_two_files_keeps_every_row(
    tmp_path: Path, monkeypatch, rows: int
):
    monkeypatch.setattr(dataset, "MIN_HALF_ROWS", 10)
    content = (
        "\n".join(conda_line(14, n * 7, f"c{n}", f"s{n % 4}", n) for n in range(rows))
        + "\n"
    ).encode()
    (tmp_path / "day.log").write_bytes(content)
    db = RawDataset(str(tmp_path / "raw"), write=True)
    assert ingest.ingest_path(db, str(tmp_path / "day.log")).conda_requests == rows
    files = db.files()
    assert len(files) == (2 if rows >= 20 else 1)
    assert sorted(len(pl.read_parquet(path)) for path in files) == sorted(
        {1: [rows], 2: [rows // 2, rows - rows // 2]}[len(files)]
    )
    assert stored(db) == truth(content, db)


def test_first_seen_in_a_week_left_out_makes_a_client_returning(tmp_path: Path):
    """Week of Mon 2026-10-05 has a hole (left out); a client first seen in
    it is returning, not new, in the complete week after it."""
    lines = []
    for hour in range(24 * 21):  # 2026-10-05 .. 2026-10-25, a line every hour
        day, clock = 5 + hour // 24, hour % 24 * 3600
        if day in (7, 8):  # the hole
            continue
        lines.append(conda_line(day, clock, "health", "h", hour))
    lines.append(conda_line(6, 100, "early", "s1", 1))
    lines.append(conda_line(13, 100, "early", "s2", 2))
    lines.append(conda_line(14, 100, "fresh", "s3", 3))
    (tmp_path / "a.log").write_bytes(("\n".join(lines) + "\n").encode())
    db = RawDataset(str(tmp_path / "raw"), write=True)
    ingest.ingest_path(db, str(tmp_path / "a.log"))
    table = totals.compute(db, k=1)
    status = table.filter(
        (pl.col("week") == "2026-10-12") & (pl.col("dimension") == "client_status")
    )
    clients = dict(zip(status["value"], status["clients"], strict=True))
    # "health" and "early" were first seen in the left-out week
    assert clients == {"new": 1, "returning": 2}
    assert set(table["week"]) == {"2026-10-12", "2026-10-19"}


PIECES = (
    *("conda/24.1.2", "requests/2.31", "CPython/3.11.7", "Linux/6.1", "debian/12"),
    *("c/abc", "s/def", "e/ghi", "i/adm1", "o/org_1", "m/" + "z" * 64, "m/" + "z" * 65),
    *("i/", "o/a!", '\\"', "\\\\", "\\", 'i/a\\"b', '\\"i/q', "x\\\\i/w", "i/ok\\\\"),
    *('\\"quoted\\"', "i/a/b", "xi/a", "I/up", "o/x\\", "m/\\\\m", "solver/classic"),
)
PATHS = (
    "/conda-forge/linux-64/numpy-1.26.4-py311_0.conda",
    "/i/o/linux-64/repodata.json",
    "/m/x/noarch/a-1-0.tar.bz2",
    '/c\\"h/linux-64/repodata.json',
    "/ch\\\\/linux-64/x-1-0.conda",
    "/a/ i/x/linux-64/x-1-0.conda",
)


def odd_lines(count: int, seed: int) -> list[str]:
    """Lines with backslashes in odd places (escaped quotes in the
    user-agent, a trailing backslash) and admin parts at odd positions
    (first, after a quote, repeated, too long, inside a path or referer)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        parts = [rng.choice(PIECES) for _ in range(rng.randint(0, 10))]
        if rng.random() < 0.8:
            parts.insert(0, "conda/24.1.2")
        agent = "".join(p + rng.choice((" ", " ", "  ", "\t")) for p in parts)
        agent = agent.rstrip() if rng.random() < 0.5 else agent
        agent += "\\" if rng.random() < 0.1 else ""
        referer = rng.choice(("-", '\\"', "a\\\\", "x i/y", "x\\"))
        tail = rng.choice(("", "", ' "rt=1"', ' "\\\\"', " \\"))
        lines.append(
            f'1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET {rng.choice(PATHS)} '
            f'HTTP/1.1" 200 5 "{referer}" "{agent}"{tail}'
        )
    return lines


def test_spark_parse_of_backslashes_and_admin_parts_is_parse_lines(spark):
    from anaconda_anon_usage.stats.spark.parse import parse_lines

    lines = odd_lines(1500, 7)
    frame = spark.createDataFrame(list(enumerate(lines)), "i long, line string")
    rows = parse_lines(frame.orderBy("i").coalesce(1)).drop("bad").collect()
    kinds: Counter[str] = Counter()
    for text, row in zip(lines, rows, strict=True):
        parsed = lf.parse_line(text)
        kinds[parsed.kind] += 1
        fields = (None,) * 16 if parsed.request is None else tuple(parsed.request)[1:]
        if parsed.request is not None:
            fields = (*fields[:-1], list(fields[-1]))
            kinds["admin"] += bool(parsed.request.admin)
        assert tuple(row) == (parsed.kind, parsed.timestamp, *fields), text
    assert min(kinds[k] for k in ("conda", "other", "malformed", "admin")) > 100


def test_a_late_row_of_a_day_already_written_goes_to_another_file_and_is_kept(
    tmp_path: Path, monkeypatch
):
    """Fourth round: the days before a block of only later days are written
    while the log is still being read. Days 12 and 13 in order, then a few
    late lines of day 12 among day 13's, then day 14: day 12 is written when
    the first block of only day 13 arrives, its late lines later in a file
    of their own."""
    monkeypatch.setattr(ingest, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(ingest, "LINE_TAIL", 2048)
    lines = [conda_line(12, n * 300, f"c{n % 9}", f"s{n}", n) for n in range(200)]
    lines += [conda_line(13, n * 300, f"c{n % 9}", f"s{n}", n) for n in range(200)]
    lines += [conda_line(12, 86000 + n, "late", "s-late", n) for n in range(5)]
    lines += [conda_line(13, 80000 + n, f"c{n % 9}", "s", n) for n in range(40)]
    lines += [conda_line(14, n * 300, f"c{n % 9}", f"s{n}", n) for n in range(200)]
    content = ("\n".join(lines) + "\n").encode()
    (tmp_path / "a.log").write_bytes(content)
    db = RawDataset(str(tmp_path / "raw"), write=True)
    assert ingest.ingest_path(db, str(tmp_path / "a.log")).conda_requests == 645
    assert stored(db) == truth(content, db)
    day12 = [path for path in db.files() if "date=2026-10-12" in path]
    assert len(day12) == 2  # written early, then its late lines
    assert sorted(len(pl.read_parquet(path)) for path in day12) == [5, 200]
