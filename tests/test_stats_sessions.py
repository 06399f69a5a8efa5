"""Single- and multi-session clients on a hand-made log with known answers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pl = pytest.importorskip("polars", reason="the counting side needs the stats extra")

from anaconda_anon_usage.stats.cli import main  # noqa: E402

START = datetime(2026, 10, 5, tzinfo=timezone.utc)  # a Monday
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun")
MONTHS += ("Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def line(moment: datetime, path: str, agent: str) -> str:
    stamp = (
        f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year}:"
        f"{moment:%H:%M:%S} +0000"
    )
    return f'203.0.113.9 - - [{stamp}] "GET {path} HTTP/1.1" 200 99 "-" "{agent}"'


def conda(day: int, hour: int, channel: str, tokens: str) -> str:
    agent = "conda/24.1.2 requests/2.32.3 CPython/3.11.9 Linux/6.1.0 debian/12"
    moment = START + timedelta(days=day, hours=hour, minutes=30)
    path = f"/{channel}/linux-64/numpy-1.26.4-py311_0.conda"
    return line(moment, path, f"{agent} aau/0.1.0 {tokens}".strip())


def test_hand_made_sessions(tmp_path: Path, capsys):
    lines = [  # one line every hour of both weeks: complete coverage
        line(START + timedelta(hours=h), "/healthz", "kube-probe/1.29")
        for h in range(14 * 24)
    ]
    lines += [
        # week 1: A one session (3 requests), B two sessions, C no session token
        conda(0, 1, "conda-forge", "c/clientA s/sA1 e/e1"),
        conda(2, 5, "conda-forge", "c/clientA s/sA1 e/e1"),
        conda(6, 23, "bioconda", "c/clientA s/sA1 e/e2"),
        conda(1, 3, "conda-forge", "c/clientB s/sB1 e/e3"),
        conda(4, 3, "conda-forge", "c/clientB s/sB2 e/e3"),
        conda(3, 3, "conda-forge", "c/clientC e/e4"),
        conda(3, 4, "conda-forge", "c/clientC e/e4"),
        conda(3, 5, "conda-forge", ""),  # no tokens: not a client
        # week 2: B back for one session; D new, two sessions on two channels
        conda(8, 1, "bioconda", "c/clientB s/sB3 e/e3"),
        conda(9, 1, "conda-forge", "c/clientD s/sD1 e/e5"),
        conda(10, 1, "bioconda", "c/clientD s/sD2 e/e5"),
    ]
    log = tmp_path / "access.log"
    log.write_text("\n".join(sorted(lines, key=lambda text: text[16:40])) + "\n")
    raw, out = str(tmp_path / "raw"), tmp_path / "out"
    assert main(["ingest", "--raw", raw, str(log)]) == 0
    assert main(["totals", "--raw", raw, "--out", str(out), "-k", "1"]) == 0
    assert "2 complete week(s): 2026-10-05, 2026-10-12" in capsys.readouterr().out
    table = pl.read_csv(out / "weekly.csv", schema_overrides={"value": pl.String})
    cells = {
        (r["week"], r["dimension"], r["value"] or ""): (
            r["clients"],
            r["single_session_clients"],
            r["multi_session_clients"],
        )
        for r in table.iter_rows(named=True)
    }
    w1, w2 = "2026-10-05", "2026-10-12"
    assert cells[(w1, "all", "")] == (3, 2, 1)
    assert cells[(w1, "client_status", "new")] == (3, 2, 1)
    assert (w1, "client_status", "returning") not in cells
    # A used bioconda in its one session: single there too
    assert cells[(w1, "channel", "bioconda")] == (1, 1, 0)
    assert cells[(w1, "channel", "conda-forge")] == (3, 2, 1)
    assert cells[(w2, "all", "")] == (2, 1, 1)
    assert cells[(w2, "client_status", "new")] == (1, 0, 1)
    assert cells[(w2, "client_status", "returning")] == (1, 1, 0)
    # D is multi-session in the week even where a cell sees one of its sessions
    assert cells[(w2, "channel", "conda-forge")] == (1, 0, 1)
    assert cells[(w2, "channel", "bioconda")] == (2, 1, 1)
