"""Charts (PNG), a short Markdown summary and one self-contained HTML page
of the published weekly totals.

Reads only the totals (already suppressed), never the raw dataset. The HTML
page embeds its charts as data: URIs and its style inline, and its Content
Security Policy forbids every request, so it opens the same from a mail
attachment, a file share or an offline laptop. All files of a report appear
together or not at all (``outputs.generation``).
"""

from __future__ import annotations

import base64
import html
import os
import sqlite3
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import polars as pl

from . import outputs
from .totals import COLUMNS

TOP = 8
# One colour per (class, status): single-session ones pale, multi strong.
SESSION_SERIES = (
    ("single_session_clients", "new", "single session, new", "#f4a582"),
    ("single_session_clients", "returning", "single session, returning", "#fddbc7"),
    ("multi_session_clients", "new", "several sessions, new", "#2166ac"),
    ("multi_session_clients", "returning", "several sessions, returning", "#92c5de"),
)


def load(totals_db: str) -> pl.DataFrame:
    connection = sqlite3.connect(totals_db)
    try:
        rows = connection.execute("SELECT * FROM weekly").fetchall()
        names = [
            d[0] for d in connection.execute("SELECT * FROM weekly LIMIT 0").description
        ]
    finally:
        connection.close()
    schema = {c: (pl.String if c in COLUMNS[:3] else pl.Int64) for c in names}
    table = pl.DataFrame(rows, schema=schema, orient="row")
    # totals written before the session classes existed: the columns are empty
    return table.with_columns(
        pl.lit(None, pl.Int64).alias(c) for c in COLUMNS if c not in names
    ).select(COLUMNS)


def metadata(totals_db: str) -> dict[str, str]:
    connection = sqlite3.connect(totals_db)
    try:
        return dict(connection.execute("SELECT name, value FROM meta").fetchall())
    except sqlite3.Error:
        return {}
    finally:
        connection.close()


def _lines(table: pl.DataFrame, dimension: str, title: str, path: str) -> None:
    subset = table.filter(pl.col("dimension") == dimension)
    top = (
        (
            subset.group_by("value")
            .agg(pl.col("clients").sum())
            .sort("clients", descending=True)
        )
        .get_column("value")
        .head(TOP)
        .to_list()
    )
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for value in top:
        series = subset.filter(pl.col("value") == value).sort("week")
        _plot(axes, series, "clients", marker="o", label=value)
    _save_weekly(figure, axes, title, path, legend=bool(top), weeks=_weeks(table))


def _weeks(table: pl.DataFrame) -> list[date]:
    """The published weeks, as dates (a left-out week stays a gap on the axis)."""
    return sorted({date.fromisoformat(w) for w in table["week"].to_list()})


def _plot(axes: Any, series: pl.DataFrame, column: str, **style: Any) -> None:
    """A weekly line, broken where weeks are missing instead of bridged."""
    xs: list[date] = []
    ys: list[float] = []
    for week, value in series.select("week", column).iter_rows():
        day = date.fromisoformat(week)
        if xs and (day - xs[-1]).days > 7:
            xs.append(xs[-1] + timedelta(days=1))
            ys.append(float("nan"))
        xs.append(day)
        ys.append(float("nan") if value is None else value)
    axes.plot(xs, ys, **style)


def _save_weekly(
    figure: Any, axes: Any, title: str, path: str, legend: bool, weeks: list[date]
) -> None:
    """Shared look of the weekly charts: one tick per published week."""
    axes.set_xticks(weeks, [w.isoformat() for w in weeks])
    axes.set_title(title)
    axes.set_ylabel("distinct clients")
    axes.set_xlabel("week (Monday, UTC)")
    if legend:
        axes.legend(fontsize="small")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _overall(table: pl.DataFrame, path: str) -> None:
    overall = table.filter(pl.col("dimension") == "all").sort("week")
    status = table.filter(pl.col("dimension") == "client_status")
    figure, axes = plt.subplots(figsize=(8, 4.5))
    _plot(axes, overall, "clients", marker="o", label="clients", color="black")
    for kind in ("new", "returning"):
        series = status.filter(pl.col("value") == kind).sort("week")
        _plot(axes, series, "clients", marker=".", linestyle="--", label=kind)
    _save_weekly(
        figure,
        axes,
        "Weekly distinct clients",
        path,
        legend=True,
        weeks=_weeks(table),
    )


def _packages(table: pl.DataFrame, path: str) -> pl.DataFrame:
    latest = table.get_column("week").max()
    packages = (
        table.filter((pl.col("dimension") == "package") & (pl.col("week") == latest))
        .sort("clients", descending=True)
        .head(15)
    )
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 5), sharey=True)
    names = packages["value"].to_list()[::-1]
    left.barh(names, packages["clients"].to_list()[::-1], color="tab:blue")
    left.set_title("distinct clients")
    right.barh(names, packages["downloads"].to_list()[::-1], color="tab:gray")
    right.set_title("raw downloads")
    figure.suptitle(f"Top packages, week of {latest}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return packages


def _sessions(table: pl.DataFrame, path: str) -> None:
    """Stacked weekly bars: single- against multi-session clients, each split
    into new and returning (the client_status rows)."""
    status = table.filter(pl.col("dimension") == "client_status")
    weeks = _weeks(table)
    figure, axes = plt.subplots(figsize=(8, 4.5))
    bottom = [0] * len(weeks)
    for column, value, label, colour in SESSION_SERIES:
        cells = dict(
            status.filter(pl.col("value") == value).select("week", column).iter_rows()
        )
        heights = [cells.get(week.isoformat()) or 0 for week in weeks]
        axes.bar(weeks, heights, width=5, bottom=bottom, label=label, color=colour)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    _save_weekly(
        figure,
        axes,
        "Clients seen in one session only, and in several",
        path,
        legend=True,
        weeks=weeks,
    )


CHARTS = {
    "clients.png": "Weekly distinct clients, new and returning",
    "sessions.png": "Clients seen in one session only (CI jobs look like this) "
    "against clients seen in several, each new or returning",
    "conda_version.png": "Distinct clients by conda version",
    "platform.png": "Distinct clients by platform",
    "packages.png": "Top packages: distinct clients against raw downloads",
}
OVERALL = (
    ("week", "week"),
    ("clients", "clients"),
    ("single_session_clients", "one session"),
    ("multi_session_clients", "several sessions"),
    ("environments", "environments"),
    ("sessions", "sessions"),
    ("hits", "hits"),
    ("untokenized_hits", "hits without tokens"),
    ("downloads", "downloads"),
)
READING = (
    "A client seen in a single session in a week ran conda once that week, or "
    "kept no token between runs: CI jobs start from a fresh home, so each is a "
    "new single-session client; people and machines that come back show up "
    "as several sessions."
)


def _charts(table: pl.DataFrame, directory: str) -> pl.DataFrame:
    _overall(table, os.path.join(directory, "clients.png"))
    _sessions(table, os.path.join(directory, "sessions.png"))
    _lines(
        table,
        "conda_version",
        "Distinct clients by conda version",
        os.path.join(directory, "conda_version.png"),
    )
    _lines(
        table,
        "platform",
        "Distinct clients by platform",
        os.path.join(directory, "platform.png"),
    )
    return _packages(table, os.path.join(directory, "packages.png"))


def _footer(meta: Mapping[str, str]) -> str:
    footer = (
        "Counts are of anonymous random tokens; weeks start Monday 00:00 UTC; a "
        f"cell backed by fewer than {meta.get('k', 'k')} distinct clients is not "
        "published."
    )
    if meta.get("approximate") == "true":  # Spark's HyperLogLog mode
        footer = f"APPROXIMATE: {meta.get('approximate_note', '')}. " + footer
    return footer


def _title(meta: Mapping[str, str]) -> str:
    title = "Anonymous conda usage: weekly totals"
    if meta.get("approximate") == "true":
        title += " (APPROXIMATE distinct counts)"
    return title


def _markdown(
    table: pl.DataFrame, packages: pl.DataFrame | None, meta: Mapping[str, str]
) -> str:
    lines = [f"# {_title(meta)}", ""]
    if packages is None:
        lines += ["No complete week has been ingested yet.", ""]
    else:
        overall = table.filter(pl.col("dimension") == "all").sort("week")
        lines += [
            "| " + " | ".join(label for _, label in OVERALL) + " |",
            "| --- |" + " ---: |" * (len(OVERALL) - 1),
            *(
                "| " + " | ".join(_cell(row[c]) for c, _ in OVERALL) + " |"
                for row in overall.iter_rows(named=True)
            ),
            "",
            READING,
            "",
        ]
        for name, caption in CHARTS.items():
            lines += [f"![{caption}]({name})", ""]
        if not packages.is_empty():
            top = ", ".join(packages["value"].head(5).to_list())
            lines += [
                f"Most used packages in the latest week, by distinct clients: {top}.",
                "",
            ]
    left_out = [line for line in meta.get("left_out", "").split("\n") if line]
    if left_out:
        lines += ["Weeks left out (not completely covered by the logs):", ""]
        lines += [f"- {line}" for line in left_out] + [""]
    lines.append(_footer(meta))
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return "" if value is None else str(value)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em;
       padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; }
td { text-align: right; font-variant-numeric: tabular-nums; }
td:first-child, th:first-child { text-align: left; white-space: nowrap; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .note { color: #555; font-size: 0.9em; }
"""
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _html(
    table: pl.DataFrame,
    packages: pl.DataFrame | None,
    meta: Mapping[str, str],
    directory: str,
) -> str:
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(_title(meta))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(_title(meta))}</h1>",
    ]
    if packages is None:
        parts.append("<p>No complete week has been ingested yet.</p>")
    else:
        overall = table.filter(pl.col("dimension") == "all").sort("week")
        parts.append('<table id="weekly"><thead><tr>')
        parts += [f"<th>{escape(label)}</th>" for _, label in OVERALL]
        parts.append("</tr></thead><tbody>")
        for row in overall.iter_rows(named=True):
            cells = "".join(f"<td>{escape(_cell(row[c]))}</td>" for c, _ in OVERALL)
            parts.append(f"<tr>{cells}</tr>")
        parts += ["</tbody></table>", f'<p class="note">{escape(READING)}</p>']
        for name, caption in CHARTS.items():
            with open(os.path.join(directory, name), "rb") as stream:
                data = base64.b64encode(stream.read()).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" '
                f'alt="{escape(caption)}"><figcaption>{escape(caption)}'
                "</figcaption></figure>"
            )
    left_out = [line for line in meta.get("left_out", "").split("\n") if line]
    if left_out:
        parts.append(
            "<h2>Weeks left out</h2><p>Not completely covered by the logs:</p><ul>"
        )
        parts += [f"<li>{escape(line)}</li>" for line in left_out]
        parts.append("</ul>")
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts += [
        f'<p class="note">{escape(_footer(meta))} Made {made}.</p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def build(totals_db: str, directory: str) -> str:
    """Write the charts, summary.md and report.html into ``directory`` (all
    appear together, replacing the previous report); return the summary's
    path. Raises ``outputs.OutputError`` for an unusable directory."""
    table = load(totals_db)
    meta = metadata(totals_db)
    with outputs.generation(directory, "report") as staging:
        packages = None if table.is_empty() else _charts(table, staging)
        with open(os.path.join(staging, "summary.md"), "w") as stream:
            stream.write(_markdown(table, packages, meta))
        with open(os.path.join(staging, "report.html"), "w") as stream:
            stream.write(_html(table, packages, meta, staging))
    return os.path.join(directory, "summary.md")
