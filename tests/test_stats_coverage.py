"""Coverage: a week with a hole in it is never published as complete."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats import totals  # noqa: E402
from anaconda_anon_usage.stats.cli import main  # noqa: E402
from anaconda_anon_usage.stats.lineformat import MONTHS  # noqa: E402

AGENT = (
    "conda/24.1.2 requests/2.32.3 CPython/3.11.9 Linux/6.1.0 debian/12 glibc/2.36 "
    "aau/0.1.0 c/{client} s/{session} e/env0"
)
TLS_PROBE = (
    '198.51.100.7 - - [14/Jan/2026:10:00:00 +0000] "\\x16\\x03\\x01" 400 0 "-" "-"'
)


def stamp(moment: datetime) -> str:
    return (
        f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year}:"
        f"{moment:%H:%M:%S} +0000"
    )


def conda_lines(first: datetime, last: datetime, client: str = "client0") -> list[str]:
    """One conda line every 10 minutes from ``first`` to ``last`` inclusive."""
    lines = []
    moment, n = first, 0
    while moment <= last:
        agent = AGENT.format(client=f"{client}{n % 3}", session=f"s{n // 6}")
        lines.append(
            f'198.51.100.{n % 250} - - [{stamp(moment)}] "GET '
            f'/conda-forge/linux-64/repodata.json HTTP/1.1" 200 512 "-" "{agent}"'
        )
        moment += timedelta(minutes=10)
        n += 1
    return lines


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_issue_repro_the_hole_is_not_a_complete_week(tmp_path: Path, capsys):
    """Issue 10 §1: a TLS probe line in c.log must not make week 2026-01-19
    (Wednesday to Saturday missing) look complete."""
    a = tmp_path / "a.log"
    a.write_text("\n".join(conda_lines(utc(2026, 1, 12), utc(2026, 1, 21))) + "\n")
    c = tmp_path / "c.log"
    c.write_text(
        "\n".join([TLS_PROBE, *conda_lines(utc(2026, 1, 24), utc(2026, 2, 3), "x")])
        + "\n"
    )
    raw, out = str(tmp_path / "raw"), str(tmp_path / "out")
    assert main(["ingest", "--raw", raw, str(a), str(c)]) == 0
    capsys.readouterr()
    assert main(["totals", "--raw", raw, "--out", out, "-k", "1"]) == 0
    printed = capsys.readouterr().out
    weeks = set(pl.read_csv(Path(out) / "weekly.csv")["week"].to_list())
    assert weeks == {"2026-01-12", "2026-01-26"}
    assert "2 complete week(s): 2026-01-12, 2026-01-26" in printed
    assert (
        "2026-01-19: no log lines from 2026-01-21 01:00 to 2026-01-24 00:00" in printed
    )
    assert (
        "2026-02-02: no log lines from 2026-02-03 01:00 to 2026-02-09 00:00" in printed
    )


MONDAY = 20731  # 2026-10-05
H = MONDAY * 24  # its first hour


def week_of(hours: int = 168, start: int = H) -> list[list[int]]:
    return [[start, start + hours - 1]]


def test_full_weeks_are_complete():
    assert totals.complete_weeks(week_of(2 * 168)) == [MONDAY, MONDAY + 7]
    # ranges from several ledger entries, in any order, overlapping
    pieces = [[H + 100, H + 335], [H, H + 50], [H + 40, H + 99]]
    assert totals.complete_weeks(pieces) == [MONDAY, MONDAY + 7]


def test_a_stray_line_covers_only_its_own_hour():
    # the issue's shape: data, one probe line inside the hole, data again
    hours = [[H, H + 50], [H + 60, H + 60], [H + 120, H + 2 * 168 - 1]]
    coverage = totals.week_coverage(hours, tolerance_hours=3)
    assert [w.monday for w in coverage] == [MONDAY, MONDAY + 7]
    assert coverage[0].gaps == ((H + 51, H + 60), (H + 61, H + 120))
    assert coverage[1].complete
    assert totals.complete_weeks(hours, 3) == [MONDAY + 7]


def test_tolerance_bridges_short_gaps_between_covered_hours_only():
    hours = [[H, H + 9], [H + 13, H + 167]]  # 3 hours without lines
    assert totals.complete_weeks(hours, 3) == [MONDAY]
    assert totals.complete_weeks(hours, 2) == []
    assert totals.week_coverage(hours, 2)[0].gaps == ((H + 10, H + 13),)
    # never at the edges: a log starting at 01:00 does not cover 00:00
    assert totals.complete_weeks([[H + 1, H + 167]], 24) == []
    assert totals.complete_weeks([[H, H + 166]], 24) == []
    with pytest.raises(ValueError):
        totals.week_coverage(hours, -1)


def test_weeks_without_any_line_are_listed_once():
    hours = [[H, H + 167], [H + 4 * 168, H + 5 * 168 - 1]]
    coverage = totals.week_coverage(hours, 3)
    assert [w.complete for w in coverage] == [True, False, False, False, True]
    assert totals.left_out(coverage) == [
        "2026-10-12 to 2026-10-26: no log lines at all (3 week(s))"
    ]


def test_left_out_names_the_missing_hours():
    hours = [[H + 2, H + 167 + 168]]
    lines = totals.left_out(totals.week_coverage(hours, 0))
    assert lines == [
        "2026-10-05: no log lines from 2026-10-05 00:00 to 2026-10-05 02:00"
    ]
    assert totals.week_coverage([], 3) == []


def test_the_tolerance_option_end_to_end(tmp_path: Path, capsys):
    """The same hole (71 hours without a line) is bridged only when the
    operator says a gap that long is normal for this server."""
    log = tmp_path / "x.log"
    log.write_text(
        "\n".join(
            conda_lines(utc(2026, 1, 19), utc(2026, 1, 21))
            + conda_lines(utc(2026, 1, 24), utc(2026, 1, 25, 23, 50))
        )
        + "\n"
    )
    raw = str(tmp_path / "raw")
    assert main(["ingest", "--raw", raw, str(log)]) == 0
    for tolerance, published in (("70", "none"), ("71", "2026-01-19")):
        out = str(tmp_path / f"out{tolerance}")
        args = ["totals", "--raw", raw, "--out", out, "-k", "1"]
        assert main([*args, "--tolerance-hours", tolerance]) == 0
        assert f"complete week(s): {published}\n" in capsys.readouterr().out
    assert main(["totals", "--raw", raw, "--tolerance-hours", "-1"]) == 2
    assert "0 or more" in capsys.readouterr().err
