"""Parsing one line: every oddity of real logs, and the vectorised twin agrees."""

from __future__ import annotations

import pytest

pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats.frames import parse_chunk
from anaconda_anon_usage.stats.lineformat import parse_line

C = "Duk7CrJkn0M9RUnzl3WM-g"
UA = (
    "conda/24.1.2 requests/2.31.0 CPython/3.11.7 Linux/6.1.0 debian/12 glibc/2.36 "
    f"solver/libmamba conda-libmamba-solver/24.1.0 aau/0.1.0 c/{C} s/S1 e/E1"
)


def line(
    path="/conda-forge/linux-64/repodata.json",
    agent=UA,
    host="198.51.100.7",
    time="10/Oct/2026:13:55:36 +0000",
    status="200",
    tail="",
) -> str:
    return (
        f'{host} - - [{time}] "GET {path} HTTP/1.1" {status} 1234 "-" "{agent}"{tail}'
    )


def conda(text: str):
    parsed = parse_line(text)
    assert parsed.kind == "conda", parsed
    return parsed.request


def test_a_conda_request_with_tokens():
    r = conda(line())
    assert (r.timestamp, r.status, r.channel, r.subdir, r.kind) == (
        1791640536,
        200,
        "conda-forge",
        "linux-64",
        "repodata",
    )
    assert (r.conda_version, r.python, r.os, r.distribution) == (
        "24.1.2",
        "CPython/3.11.7",
        "Linux/6.1.0",
        "debian/12",
    )
    assert (r.solver, r.aau_version) == ("libmamba", "0.1.0")
    assert (r.client, r.session, r.environment, r.admin) == (C, "S1", "E1", ())


def test_conda_without_aau_is_kept_and_counted_as_such():
    r = conda(
        line(
            agent="conda/4.14.0 requests/2.28.1 CPython/3.9.13 Windows/10 Windows/10.0.19045"
        )
    )
    assert (r.client, r.session, r.environment, r.aau_version) == (
        None,
        None,
        None,
        None,
    )
    assert r.os == "Windows/10" and r.distribution == "Windows/10.0.19045"


def test_any_number_of_administrator_tokens():
    r = conda(line(agent=UA + " i/inst-1 o/org_a o/org_b m/m1"))
    assert r.admin == ("i/inst-1", "o/org_a", "o/org_b", "m/m1")


def test_extra_fields_after_the_user_agent():
    r = conda(line(tail=' "upstream=10.0.0.1:443" 0.004 -'))
    assert r.client == C


def test_escaped_quotes_in_agent_and_request():
    other = parse_line(line(agent='Mozilla/5.0 \\"quoted\\" and \\\\ backslash'))
    assert other.kind == "other"
    r = conda(line(path='/conda-forge/noarch/weird\\"name-1.0-0.conda', agent=UA))
    assert r.package == 'weird"name' and r.subdir == "noarch"


def test_ipv6_clients_and_the_address_is_never_kept():
    r = conda(line(host="2001:db8::42"))
    assert "2001:db8" not in repr(r)
    assert "198.51.100.7" not in repr(conda(line()))


def test_bytes_that_are_not_utf8():
    raw = line(path="/caf\xe9/x").encode("latin-1")
    parsed = parse_line(raw.decode("utf-8", "replace"))
    assert parsed.kind == "conda" and parsed.request.kind == "other"


def test_timezones_are_converted_to_utc():
    assert conda(line(time="10/Oct/2026:15:55:36 +0200")).timestamp == 1791640536


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        line(time="32/Oct/2026:13:55:36 +0000"),
        line(status="2000"),
        line().replace('"GET', "GET", 1),
        line()[:-1],
        line() + "\x1f",
    ],
)
def test_malformed_lines(text: str):
    assert parse_line(text).kind == "malformed"


def test_blank_lines_and_crlf():
    assert parse_line("").kind == "blank"
    assert parse_line("\r").kind == "blank"
    assert conda(line() + "\r").client == C


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/pkgs/main/linux-64/python-dateutil-2.9.0-pyhd8ed1ab_0.conda",
            ("pkgs/main", "linux-64", "package", "python-dateutil", "2.9.0"),
        ),
        (
            "/conda-forge/label/dev/osx-arm64/numpy-2.0.0-py312_0.tar.bz2?x=1",
            ("conda-forge/label/dev", "osx-arm64", "package", "numpy", "2.0.0"),
        ),
        (
            "/t/SECRET-123/private/noarch/current_repodata.json",
            ("private", "noarch", "repodata", None, None),
        ),
        (
            "/conda-forge/win-64/repodata.json.zst",
            ("conda-forge", "win-64", "repodata", None, None),
        ),
        (
            "/conda-forge/linux-64/repodata_shards.msgpack.zst",
            ("conda-forge", "linux-64", "repodata", None, None),
        ),
        (
            "/conda-forge/linux-64/channeldata.json",
            ("conda-forge", "linux-64", "other", None, None),
        ),
        ("/", (None, None, "other", None, None)),
    ],
)
def test_request_paths(path: str, expected):
    r = conda(line(path=path))
    assert (r.channel, r.subdir, r.kind, r.package, r.version) == expected
    assert "SECRET" not in repr(r)


def test_other_clients_are_not_conda():
    for agent in [
        "pip/24.0",
        "Mozilla/5.0",
        "python-requests/2.31",
        "-",
        "Conda/1.0",
        "",
    ]:
        assert parse_line(line(agent=agent)).kind == "other"


CRAFTED = [
    line(),
    line(agent=UA + " i/inst-1 o/org_a o/org_b m/m1"),
    line(tail=' "upstream" 0.004'),
    line(agent='Mozilla/5.0 \\"quoted\\"'),
    line(path='/conda-forge/noarch/weird\\"name-1.0-0.conda'),
    line(host="2001:db8::42"),
    line(time="10/Oct/2026:15:55:36 +0200"),
    line(agent="conda/4.3.16 requests/2.12.4 CPython/3.6.0"),
    line(agent="conda/24.1.2"),
    line(agent="conda/24.1.2 requests/2 noslash"),
    line(path="/t/SECRET-123/private/noarch/current_repodata.json"),
    line(path="/pkgs/main/linux-64/python-dateutil-2.9.0-pyhd8ed1ab_0.conda"),
    line(status="404", path="/conda-forge/linux-64/missing-1-0.conda"),
    "garbage",
    "",
    line() + "\r",
    line(time="32/Oct/2026:13:55:36 +0000"),
    line() + "\x1f",
    line(
        agent=f"conda/24.1.2 requests/2 CPython/3.11 Linux/6 debian/12 c/{'x' * 65} s/ok"
    ),
    line(
        agent="conda/24.1.2 requests/2 CPython/3.11 Linux/6 debian/12 c/a c/b solver/x solver/y"
    ),
]


def _rows_from_chunk(lines: list[str]):
    data = "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"
    chunk = parse_chunk(data)
    rows = [tuple(r.values()) for r in chunk.conda.to_dicts()]
    return chunk, [(*r[:-1], tuple(r[-1])) for r in rows]


def test_the_vectorised_parser_agrees_with_parse_line():
    chunk, rows = _rows_from_chunk(CRAFTED)
    parsed = [parse_line(text) for text in CRAFTED]
    assert rows == [tuple(p.request) for p in parsed if p.kind == "conda"]
    assert chunk.lines == len(CRAFTED)
    assert chunk.malformed == sum(p.kind == "malformed" for p in parsed)
    stamps = [p.timestamp for p in parsed if p.timestamp is not None]
    assert (chunk.first_timestamp, chunk.last_timestamp) == (min(stamps), max(stamps))


def test_agreement_on_a_generated_log(tmp_path):
    from anaconda_anon_usage.stats.synthetic import generate

    generate(str(tmp_path), weeks=1, clients=40, seed=7)
    data = (tmp_path / "access-2026-10-07.log").read_bytes()
    texts = data.decode("utf-8", "replace").split("\n")[:-1]
    chunk = parse_chunk(data)
    rows = [tuple(r.values()) for r in chunk.conda.to_dicts()]
    rows = [(*r[:-1], tuple(r[-1])) for r in rows]
    parsed = [parse_line(text) for text in texts]
    assert rows == [tuple(p.request) for p in parsed if p.kind == "conda"]
    assert chunk.malformed == sum(p.kind == "malformed" for p in parsed) > 0


def test_malformed_examples_are_reported():
    chunk = parse_chunk(b"bad one\nbad two\n" + line().encode() + b"\n", examples=1)
    assert chunk.malformed == 2 and chunk.malformed_examples == ["bad one"]


def test_chunk_times_are_parse_times_on_edge_dates_clocks_and_offsets():
    """The vectorised time (dates and offsets worked out once per distinct
    value, the clock once per run of equal times) against ``parse_time`` on every month's
    last days, leap and common years, year 0001/0000, out-of-range clocks
    and offsets."""
    import polars as pl

    from anaconda_anon_usage.stats import frames
    from anaconda_anon_usage.stats import lineformat as lf

    times = [
        f"{day}/{month}/{year}:{clock} {zone}"
        for day in ("00", "01", "28", "29", "30", "31", "32")
        for month in (*lf.MONTHS, "jan", "Foo")
        for year in ("0000", "0001", "1900", "2000", "2024", "2026")
        for clock in ("00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60")
        for zone in ("+0000", "-0530", "+2359", "+2400", "-0060")
    ]
    expected = [lf.parse_time(t) for t in times]
    assert frames._timestamps(pl.Series(times)).to_list() == expected
    assert 0 < sum(v is not None for v in expected) < len(times)
    # worked out once per run of equal neighbours: runs, nulls, any order
    rng = __import__("random").Random(5)
    lines: list[str | None] = [None, *times]
    rows = [rng.choice(lines) for _ in range(len(times))]
    rows = [row for row in rows for _ in range(rng.choice((1, 1, 2, 5)))]
    got = frames._timestamps(pl.Series(rows, dtype=pl.String)).to_list()
    assert got == [lf.parse_time(t) if t is not None else None for t in rows]
