"""The vectorised parser agrees with ``parse_line`` on any input, line for line.

Real lines with a few bytes flipped, deleted or inserted (seeded, so a
failure is reproducible) and the odd times found that way.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats.frames import parse_chunk
from anaconda_anon_usage.stats.lineformat import parse_line

BASE = (
    '198.51.100.7 - - [{time}] "GET /conda-forge/linux-64/numpy-1.26.4-py311_0.conda '
    'HTTP/1.1" 200 5 "-" "conda/24.1.2 requests/2.31.0 CPython/3.11.7 Linux/6.1.0 '
    'debian/12 aau/0.1.0 c/Duk7CrJkn0M9RUnzl3WM-g s/S1 e/E1"'
)
# Times polars' lenient parsing took and parse_line does not (issue 10).
ODD_TIMES = [
    "11/Jan/206:06:19:27 +0530",
    "11/Jan/26:06:59:57 +0530",
    "11/Jan/2026:01:30:\r26 +0000",
    "11/Jan/2026:02:03:16 +00 00",
    "11/Jan/2026:2:03:16 +0000",
    "1/Jan/2026:02:03:16 +0000",
    "11/jan/2026:02:03:16 +0000",
    "11/JAN/2026:02:03:16 +0000",
    "11/January/2026:02:03:16 +0000",
    "11/Jan/2026:02:03:16 +000",
    "11/Jan/2026:02:03:16 +00000",
    "11/Jan/2026:02:03:16 0000",
    "11/Jan/2026:02:03:16 +2400",
    "11/Jan/2026:02:03:16 -0000",
    "11/Jan/2026:02:03:16 Z",
    "11/Jan/2026:02:03:16 +00:00",
    "11/Jan/2026:02:03:16  +0000",
    " 11/Jan/2026:02:03:16 +0000",
    "11/Jan/2026:02:03:16 +0000 ",
    "11/Jan/2026:02:03:60 +0000",
    "11/Jan/2026:02:60:16 +0000",
    "11/Jan/2026:24:03:16 +0000",
    "29/Feb/2026:02:03:16 +0000",
    "29/Feb/2028:02:03:16 +0000",
    "00/Jan/2026:02:03:16 +0000",
    "11/Jan/0000:02:03:16 +0000",
    "11/Jan/0001:02:03:16 +0000",
    "11/Jan/9999:23:59:59 -2359",
    "11/Jan/+2026:02:03:16 +0000",
    "11/Jan/-2026:02:03:16 +0000",
    "11/Jan/2026:02:03:16.5 +0000",
    "11/Jan/2026:02:03 +0000",
    "11/Jan/2026 02:03:16 +0000",
    "11/Jan/2026:02:03:16 +0000\x00",
    "\u0661\u0661/Jan/2026:02:03:16 +0000",  # Arabic-Indic digits
    "11/Jan/2026:02:03:16 +99",
    "11/Jan/2026:02:03:16 +1",
    "11/Jan/2026:02:03:16 +0060",
    "11/Jan/2026:02:03:16 +1259",
    "11/Jan/2026:02:03:16 +9999",
    "11/Jan/2026:02:3:16 +0000",
    "11/Jan/2026:02:03:6 +0000",
    "111/Jan/2026:02:03:16 +0000",
    "11/Jan/20266:02:03:16 +0000",
    "11/Jan/2026:002:03:16 +0000",
    "11\\/Jan/2026:02:03:16 +0000",
    "11/Jan/2026:02:03:16\t+0000",
    "11/Jan/2026:02:03:16 +0000\r",
]
INTERESTING = b' "\\[]/:-+\r\t\x1f\x00\xff\xc3\xa9019aZ.?'


def _check(lines: list[bytes]) -> None:
    """parse_chunk on all the lines at once against parse_line on each."""
    data = b"\n".join(lines) + b"\n"
    texts = data.decode("utf-8", "replace").split("\n")[:-1]
    chunk = parse_chunk(data, examples=len(texts))
    parsed = [parse_line(text) for text in texts]
    malformed = [t for t, p in zip(texts, parsed, strict=True) if p.kind == "malformed"]
    assert chunk.lines == len(texts)
    # (lines with the separator byte are set aside first: same lines, other order)
    assert sorted(chunk.malformed_examples) == sorted(
        t.removesuffix("\r") for t in malformed
    )
    assert chunk.malformed == len(malformed)
    stamps = [p.timestamp for p in parsed if p.timestamp is not None]
    assert chunk.hours == sorted({s // 3600 for s in stamps})
    assert (chunk.first_timestamp, chunk.last_timestamp) == (
        (min(stamps), max(stamps)) if stamps else (None, None)
    )
    rows = [tuple(r.values()) for r in chunk.conda.to_dicts()]
    rows = [(*r[:-1], tuple(r[-1])) for r in rows]
    assert rows == [tuple(p.request) for p in parsed if p.kind == "conda"]


@pytest.mark.parametrize("time", ODD_TIMES)
def test_odd_times_agree(time: str):
    _check([BASE.format(time=time).encode()])


def _mutate(rng: random.Random, line: bytes) -> bytes:
    data = bytearray(line)
    for _ in range(rng.randint(1, 3)):
        where = rng.randrange(len(data) + 1)
        what = rng.random()
        byte = rng.choice(INTERESTING) if rng.random() < 0.7 else rng.randrange(256)
        if what < 0.4 and where < len(data):
            data[where] = byte  # flip
        elif what < 0.7 and where < len(data):
            del data[where]
        else:
            data.insert(where, byte)
    return bytes(data)


def _real_lines(directory: Path) -> list[bytes]:
    from anaconda_anon_usage.stats.synthetic import generate

    generate(str(directory), weeks=1, clients=30, seed=13)
    data = (directory / "access-2026-10-06.log").read_bytes()
    return [line for line in data.split(b"\n") if line]


@pytest.mark.parametrize("seed", range(4))
def test_mutated_real_lines_agree(tmp_path: Path, seed: int):
    rng = random.Random(seed)
    real = _real_lines(tmp_path)
    lines = [_mutate(rng, rng.choice(real)) for _ in range(1000)]
    _check(lines)


@pytest.mark.parametrize(
    "ending", [b"\r", b"\r\r", b"\r\r\r", b"\x1f\r", b"\r\x1f", b" \r", b""]
)
def test_carriage_returns_at_the_end(ending: bytes):
    good = BASE.format(time="11/Jan/2026:02:03:16 +0000").encode()
    _check([good + ending, b"garbage" + ending, ending])


def test_a_last_line_without_its_newline():
    good = BASE.format(time="11/Jan/2026:02:03:16 +0000").encode()
    chunk = parse_chunk(good + b"\n" + good + b"\r")
    assert chunk.lines == 2 and len(chunk.conda) == 2


# Lines the fast path (split on quotes) must send to the regular expression,
# or take with exactly its groups: quotes and brackets where the grammar
# allows them, escapes, times of other lengths, extra fields.
AGENT = "conda/24.1.2 requests/2.31.0 CPython/3.11.7 Linux/6.1.0 debian/12 c/C1 s/S1"
TIME = "11/Jan/2026:02:03:16 +0000"
FAST_PATH_EDGES = [
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda HTTP/1.1" 200 5 "-" "{AGENT}"',
    f'1.2"3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda HTTP/1.1" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 "x - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5"6 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 "5" "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}" "x"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}""x"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"x',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-"  "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-""{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "\\"-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT} \\"x\\""',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}\\\\"',
    f'1.2.3\\4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 20 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 2000 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda"  200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}]  "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}]"GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [x{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [[{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}]] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME[1:]}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - -  [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 a b c [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'[::1] [x] [y] [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}',
    f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "conda/"',
    f'1.2.3.4 - - [{TIME}] "" 200 5 "" ""',
    f'1.2.3.4 - - [{TIME}] "" 200 5 "" "conda/1 c/C"',
    f'1.2.3.4 - - [11/Jan/2026:02:03:16 +0000 ] "GET /" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [11/Jan/2026:02:03:16  0000] "GET /" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [11/Jan/2026:02:03:16+00000] "GET /" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [11/Jan/2026 02:03:16 +0000] "GET /" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [11/Jan/2026:02:03:1é +0000] "GET /" 200 5 "-" "{AGENT}"',
    f'1.2.3.4 - - [{TIME}] "GET /" 200 5 "-" "{AGENT}" \\',
    f'1.2.3.4 - - [{TIME}] "GET /" 200 5 "-" "{AGENT}" "rt=0.1" "up=\\"x\\""',
    f'1.2.3.4 - - [{TIME}] "GET /" 200 5 "-" "-"',
    f'é - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 é "é" "{AGENT} é"',
]


@pytest.mark.parametrize("line", FAST_PATH_EDGES)
def test_fast_path_edges_agree(line: str):
    _check([line.encode()])


def test_fast_path_edges_together_and_shuffled():
    rng = random.Random(5)
    lines = [line.encode() for line in FAST_PATH_EDGES * 3]
    rng.shuffle(lines)
    _check(lines)


@pytest.mark.parametrize("seed", range(2))
def test_lines_of_quotes_spaces_and_brackets_agree(seed: int):
    """Short random lines over the characters the grammar turns on."""
    rng = random.Random(seed)
    alphabet = ' "\\[]-0123456789/:+aé'
    skeleton = f'1.2.3.4 - - [{TIME}] "GET /c/linux-64/a-1-0.conda" 200 5 "-" "{AGENT}"'
    lines = []
    for _ in range(3000):
        data = list(skeleton)
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(data) + 1)
            data.insert(where, rng.choice(alphabet))
            if rng.random() < 0.3 and data:
                del data[rng.randrange(len(data))]
        lines.append("".join(data).encode())
    _check(lines)


@pytest.mark.parametrize("seed", range(2))
def test_runs_of_backslashes_and_escaped_quotes_agree(seed: int):
    """Lines with escapes take the fast path masked (``\\\\`` and ``\\"`` replaced
    before the line is cut on its quotes): runs of backslashes of any length
    before quotes, spaces and the end of each field, in the host, the size
    and the extra fields too, must give exactly what ``parse_line`` gives."""
    rng = random.Random(100 + seed)
    pieces = ["\\", "\\\\", "\\\\\\", '\\"', '\\\\"', '\\\\\\"', '"', " ", "x", "é"]
    fields = ["host", "request", "size", "referer", "agent", "extra"]

    def noise() -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))

    lines = []
    for _ in range(3000):
        put = {name: noise() if rng.random() < 0.4 else "" for name in fields}
        lines.append(
            (
                f"1.2.3.4{put['host']} - - [{TIME}] "
                f'"GET /c/linux-64/a-1-0.conda{put["request"]} HTTP/1.1" 200 5{put["size"]} '
                f'"-{put["referer"]}" "{AGENT} c/C{rng.randrange(9)}{put["agent"]}"'
                + (f" {put['extra']}" if rng.random() < 0.3 else put["extra"])
            ).encode()
        )
    _check(lines)
