"""A synthetic package-server log whose true weekly counts are known.

For trying ``aau-stats`` without real logs, for the end-to-end test (which
compares the totals with the truth exactly) and for the benchmark. One file
per UTC day, like rotated logs. Besides conda clients with tokens it writes
conda without tokens, pip, browsers, bots, IPv6 clients, escaped quotes,
bytes that are not UTF-8, extra fields after the user-agent and garbage; a
load balancer's health check every hour (so every hour has a line); and
CI-like clients: a fresh client token each job, one session, never back.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from anaconda_anon_usage.stats.lineformat import MONTHS

SUBDIRS = (
    "linux-64",
    "linux-64",
    "linux-64",
    "osx-arm64",
    "osx-64",
    "win-64",
    "linux-aarch64",
)
OS_FOR = {
    "linux": "Linux/6.1.0 debian/12 glibc/2.36",
    "osx": "Darwin/23.4.0 OSX/14.4.1",
    "win": "Windows/10 Windows/10.0.22631",
}
CONDA_VERSIONS = ("23.7.4", "23.11.0", "24.1.2", "24.5.0", "24.11.3", "25.5.1")
PYTHONS = ("CPython/3.10.14", "CPython/3.11.9", "CPython/3.12.4")
CHANNELS = ("conda-forge", "pkgs/main", "bioconda")
PACKAGES = (
    ("numpy", "1.26.4"),
    ("pandas", "2.2.2"),
    ("requests", "2.32.3"),
    ("scipy", "1.13.1"),
    ("matplotlib", "3.8.4"),
    ("python", "3.11.9"),
    ("openssl", "3.3.1"),
    ("pip", "24.0"),
    ("jupyterlab", "4.2.2"),
    ("pytorch", "2.3.1"),
    ("samtools", "1.20"),
    ("zlib", "1.3.1"),
)
OTHER_AGENTS = (
    # the servers escape quotes inside the user-agent (Apache as \", nginx as \x22)
    'pip/24.0 {\\"installer\\":{\\"name\\":\\"pip\\",\\"version\\":\\"24.0\\"}}',
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    'curl/8.5.0 \\"quoted\\" part',
    "python-requests/2.32.3",
)


def _token(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(16)).decode()[:22]


@dataclass
class Client:
    token: str | None  # None: conda without the plugin
    environments: list[str]
    subdir: str
    conda_version: str
    python: str
    first_week: int


@dataclass
class WeekTruth:
    clients: set[str] = field(default_factory=set)
    environments: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    hits: int = 0
    untokenized_hits: int = 0
    package_clients: dict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    package_downloads: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    client_sessions: dict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )

    def single(self) -> set[str]:
        """Clients seen in one session only this week."""
        return {c for c, s in self.client_sessions.items() if len(s) <= 1}

    def summary(self, seen: set[str]) -> dict[str, object]:
        """The week's counts; ``seen`` is every client of earlier weeks."""
        single = self.single()
        new = self.clients - seen
        return {
            "clients": len(self.clients),
            "single_session_clients": len(single),
            "multi_session_clients": len(self.clients - single),
            "new_clients": len(new),
            "new_single_session_clients": len(new & single),
            "new_multi_session_clients": len(new - single),
            "environments": len(self.environments),
            "sessions": len(self.sessions),
            "hits": self.hits,
            "untokenized_hits": self.untokenized_hits,
            "package_clients": {
                k: len(v) for k, v in sorted(self.package_clients.items())
            },
            "package_downloads": dict(sorted(self.package_downloads.items())),
        }


def _timestamp(moment: datetime) -> str:
    return (
        f"{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} +0000"
    )


def _address(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2001:db8::{rng.randrange(65536):x}"
    return f"198.51.100.{rng.randrange(256)}"


def _line(
    rng: random.Random, moment: datetime, path: str, status: int, agent: str
) -> str:
    extra = ' "rt=0.004"' if rng.random() < 0.1 else ""
    size = rng.randrange(200, 5_000_000)
    return (
        f'{_address(rng)} - - [{_timestamp(moment)}] "GET {path} HTTP/1.1" {status} '
        f'{size} "-" "{agent}"{extra}'
    )


def generate(
    directory: str,
    *,
    start: datetime = datetime(2026, 10, 5, tzinfo=timezone.utc),  # a Monday
    weeks: int = 3,
    clients: int = 300,
    seed: int = 1,
    sessions_per_week: float = 3.0,
    noise_per_day: tuple[int, int] = (20, 60),
    ci_jobs_per_week: int | None = None,
    compress: bool = False,
) -> dict[str, dict[str, object]]:
    """Write one log per day into ``directory``; return the truth per week
    (keyed by the week's Monday, ``YYYY-MM-DD``), also saved as truth.json.
    ``ci_jobs_per_week`` defaults to a third of ``clients``."""
    rng = random.Random(seed)
    ci_rng = random.Random(seed + 7919)  # CI jobs do not shift the others' draws
    if ci_jobs_per_week is None:
        ci_jobs_per_week = clients // 3
    os.makedirs(directory, exist_ok=True)
    population = []
    for _ in range(clients):
        subdir = rng.choice(SUBDIRS)
        population.append(
            Client(
                token=None if rng.random() < 0.1 else _token(rng),
                environments=[_token(rng) for _ in range(rng.randint(1, 3))],
                subdir=subdir,
                conda_version=rng.choice(CONDA_VERSIONS),
                python=rng.choice(PYTHONS),
                first_week=rng.randrange(weeks),
            )
        )
    truth: dict[str, WeekTruth] = {}
    by_day: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for week in range(weeks):
        week_start = start + timedelta(weeks=week)
        known = truth.setdefault(week_start.date().isoformat(), WeekTruth())
        for client in population:
            if client.first_week > week or rng.random() < 0.3:
                continue
            for _ in range(max(1, int(rng.expovariate(1 / sessions_per_week)))):
                _session(rng, client, start, week_start, known, by_day)
        for _ in range(ci_jobs_per_week):
            job = Client(
                token=_token(ci_rng),
                environments=[_token(ci_rng)],
                subdir=ci_rng.choice(SUBDIRS[:3]),
                conda_version=ci_rng.choice(CONDA_VERSIONS),
                python=ci_rng.choice(PYTHONS),
                first_week=week,
            )
            _session(ci_rng, job, start, week_start, known, by_day)
        for hour in range(7 * 24):
            moment = week_start + timedelta(hours=hour)
            by_day[(moment - start).days].append((moment, _health_check(moment)))
        for day in range(7):
            for _ in range(rng.randint(*noise_per_day)):
                moment = week_start + timedelta(days=day, seconds=rng.randrange(86400))
                by_day[(moment - start).days].append((moment, _noise(rng, moment)))
    for day, entries in sorted(by_day.items()):
        entries.sort(key=lambda entry: entry[0])
        name = (start + timedelta(days=day)).date().isoformat()
        data = "\n".join(text for _, text in entries).encode("utf-8", "surrogateescape")
        if compress:
            with gzip.open(
                os.path.join(directory, f"access-{name}.log.gz"), "wb"
            ) as out:
                out.write(data + b"\n")
        else:
            with open(os.path.join(directory, f"access-{name}.log"), "wb") as out:
                out.write(data + b"\n")
    result = {}
    seen: set[str] = set()
    for week, known in sorted(truth.items()):
        result[week] = known.summary(seen)
        seen |= known.clients
    with open(os.path.join(directory, "truth.json"), "w") as stream:
        json.dump(result, stream, indent=2, sort_keys=True)
    return result


def _session(
    rng: random.Random,
    client: Client,
    start: datetime,
    week_start: datetime,
    known: WeekTruth,
    by_day: dict[int, list[tuple[datetime, str]]],
) -> None:
    moment = week_start + timedelta(seconds=rng.randrange(7 * 86400 - 600))
    environment = rng.choice(client.environments)
    session = _token(rng)
    system = OS_FOR[client.subdir.split("-")[0]]
    agent = f"conda/{client.conda_version} requests/2.32.3 {client.python} {system}"
    if client.token:
        agent += f" aau/0.1.0 c/{client.token} s/{session} e/{environment}"
        known.clients.add(client.token)
        known.environments.add(environment)
        known.sessions.add(session)
        known.client_sessions[client.token].add(session)
    channels = rng.sample(CHANNELS, rng.randint(1, 2))
    requests = [
        f"/{c}/{s}/repodata.json" for c in channels for s in (client.subdir, "noarch")
    ]
    downloads = rng.sample(PACKAGES, rng.randint(0, 3))
    for name, version in downloads:
        channel = channels[0]
        requests.append(f"/{channel}/{client.subdir}/{name}-{version}-h0_0.conda")
        if client.token:
            known.package_clients[name].add(client.token)
        known.package_downloads[name] += 1
    for offset, path in enumerate(requests):
        at = moment + timedelta(seconds=offset)
        status = 304 if path.endswith(".json") and rng.random() < 0.5 else 200
        known.hits += 1
        known.untokenized_hits += 0 if client.token else 1
        by_day[(at - start).days].append((at, _line(rng, at, path, status, agent)))


def _health_check(moment: datetime) -> str:
    return (
        f'127.0.0.1 - - [{_timestamp(moment)}] "GET /healthz HTTP/1.1" 200 2 '
        '"-" "kube-probe/1.29"'
    )


def _noise(rng: random.Random, moment: datetime) -> str:
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(
            ["garbage", "- - - [bad] x", '\\x16\\x03\\x01 "GET / HTTP/1.1" 400']
        )
    if roll < 0.12:
        return _line(rng, moment, "/caf\udce9/index.html", 404, "Mozilla/5.0 \udcff")
    agent = rng.choice(OTHER_AGENTS)
    path = rng.choice(
        ["/", "/conda-forge/", "/pkgs/main/linux-64/numpy-1.26.4-h0_0.conda"]
    )
    return _line(rng, moment, path, 200, agent)
