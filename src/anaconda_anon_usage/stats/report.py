"""Charts (PNG) and a short Markdown summary of the published weekly totals.

Reads only the totals (already suppressed), never the raw database.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import polars as pl

TOP = 8


def load(totals_db: str) -> pl.DataFrame:
    connection = sqlite3.connect(totals_db)
    try:
        rows = connection.execute("SELECT * FROM weekly").fetchall()
        names = [
            d[0] for d in connection.execute("SELECT * FROM weekly LIMIT 0").description
        ]
    finally:
        connection.close()
    return pl.DataFrame(rows, schema=names, orient="row")


def _k(totals_db: str) -> str:
    connection = sqlite3.connect(totals_db)
    try:
        row = connection.execute("SELECT value FROM meta WHERE name = 'k'").fetchone()
    finally:
        connection.close()
    return row[0] if row else "k"


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
        axes.plot(
            series["week"].to_list(),
            series["clients"].to_list(),
            marker="o",
            label=value,
        )
    _save_weekly(figure, axes, title, path, legend=bool(top))


def _save_weekly(figure: Any, axes: Any, title: str, path: str, legend: bool) -> None:
    """Shared look of the weekly line charts."""
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
    weeks = overall["week"].to_list()
    axes.plot(
        weeks, overall["clients"].to_list(), marker="o", label="clients", color="black"
    )
    for kind in ("new", "returning"):
        series = status.filter(pl.col("value") == kind).sort("week")
        axes.plot(
            series["week"].to_list(),
            series["clients"].to_list(),
            marker=".",
            linestyle="--",
            label=kind,
        )
    _save_weekly(figure, axes, "Weekly distinct clients", path, legend=True)


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


def build(totals_db: str, directory: str) -> str:
    """Write the charts and summary.md into ``directory``; return its path."""
    os.makedirs(directory, exist_ok=True)
    table = load(totals_db)
    charts = {
        "clients.png": "Weekly distinct clients, new and returning",
        "conda_version.png": "Distinct clients by conda version",
        "platform.png": "Distinct clients by platform",
        "packages.png": "Top packages: distinct clients against raw downloads",
    }
    lines = ["# Anonymous conda usage: weekly totals", ""]
    if table.is_empty():
        lines.append("No complete week has been ingested yet.")
    else:
        _overall(table, os.path.join(directory, "clients.png"))
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
        packages = _packages(table, os.path.join(directory, "packages.png"))
        overall = table.filter(pl.col("dimension") == "all").sort("week")
        lines += [
            "| week | clients | environments | sessions | hits | hits without tokens |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            *(
                f"| {r['week']} | {r['clients']} | {r['environments']} | {r['sessions']} "
                f"| {r['hits']} | {r['untokenized_hits']} |"
                for r in overall.iter_rows(named=True)
            ),
            "",
        ]
        for name, caption in charts.items():
            lines += [f"![{caption}]({name})", ""]
        if not packages.is_empty():
            top = ", ".join(packages["value"].head(5).to_list())
            lines.append(
                f"Most used packages in the latest week, by distinct clients: {top}."
            )
            lines.append("")
    lines.append(
        "Counts are of anonymous random tokens; weeks start Monday 00:00 UTC; a cell "
        f"backed by fewer than {_k(totals_db)} distinct clients is not published."
    )
    path = os.path.join(directory, "summary.md")
    with open(path, "w") as stream:
        stream.write("\n".join(lines) + "\n")
    return path
