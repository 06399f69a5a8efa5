"""``aau-stats``: ingest access logs, compute weekly totals, draw the report."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

EXTRA_HINT = "aau-stats needs the stats extra: pip install 'anaconda-anon-usage[stats]'"
SPARK_HINT = (
    "aau-stats --engine spark needs the spark extra (and Java 17+): "
    "pip install 'anaconda-anon-usage[spark]'"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aau-stats",
        description="Count anonymous conda usage from package-server access logs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="add log files to the raw dataset")
    ingest.add_argument(
        "files", nargs="+", help="log files (plain, .gz, .xz, .bz2); - for stdin"
    )
    _raw_option(ingest)
    _engine_options(ingest)

    totals = commands.add_parser("totals", help="weekly totals for complete weeks")
    _raw_option(totals)
    _engine_options(totals)
    totals.add_argument(
        "--approximate",
        type=float,
        default=None,
        metavar="RSD",
        help="spark engine: HyperLogLog++ distinct counts with this relative "
        "standard error (e.g. 0.01); the output is labelled approximate",
    )
    totals.add_argument(
        "--out", default="aau-totals", help="directory (default: %(default)s)"
    )
    totals.add_argument(
        "-k", type=int, default=5, help="publish only cells with at least k clients"
    )
    totals.add_argument(
        "--tolerance-hours",
        "--max-gap-hours",
        dest="tolerance_hours",
        type=int,
        default=3,
        metavar="N",
        help="a run of at most N hours without any log line, between hours "
        "with lines, still counts as covered (default: %(default)s)",
    )

    report = commands.add_parser(
        "report", help="PNG charts, a Markdown summary and a self-contained HTML page"
    )
    report.add_argument(
        "--totals", default="aau-totals", help="directory written by 'totals'"
    )
    report.add_argument(
        "--out", default=None, help="directory (default: the totals directory)"
    )

    sample = commands.add_parser(
        "sample", help="write a synthetic log with known counts"
    )
    sample.add_argument("directory")
    sample.add_argument("--weeks", type=int, default=3)
    sample.add_argument("--clients", type=int, default=300)
    sample.add_argument("--seed", type=int, default=1)
    sample.add_argument("--gzip", action="store_true", help="compress the files")
    return parser


def _raw_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--raw",
        "--db",
        dest="raw",
        metavar="DIR",
        default="aau-raw",
        help="raw dataset directory (default: %(default)s)",
    )


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="local: polars on this machine (default); spark: Apache Spark",
    )
    parser.add_argument(
        "--master",
        default=None,
        help="spark engine: the master URL (default: spark-submit's, "
        "spark-defaults.conf's, else local[*])",
    )
    parser.add_argument(
        "--conf",
        action="append",
        metavar="KEY=VALUE",
        help="spark engine: a Spark property (repeatable)",
    )


def _progress(total: int | None):  # type: ignore[no-untyped-def]
    """A progress bar on a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, leave=False)


def print_result(name: str, result: Any) -> None:
    """One ingested file as every engine reports it (no address, no token)."""
    from .lineformat import redact

    if result.status != "ingested":
        print(f"{name}: {result.status}")
    else:
        print(
            f"{name}: {result.lines} lines, {result.conda_requests} conda "
            f"requests, {result.malformed} malformed"
        )
    for note in result.notes:
        print(f"  {note}")
    for example in result.malformed_examples:
        print(f"  malformed: {redact(example)[:200]!r}")


def run_ingest(args: argparse.Namespace) -> int:
    from .dataset import DatasetError, RawDataset
    from .ingest import ingest_path

    try:
        db = RawDataset(args.raw, write=True)
    except DatasetError as error:
        print(f"aau-stats: {error}", file=sys.stderr)
        return 2
    sizes = [os.path.getsize(f) for f in args.files if f != "-" and os.path.isfile(f)]
    bar = _progress(sum(sizes) or None)
    failed = False
    try:
        for path in args.files:
            result = ingest_path(db, path, bar.update if bar else (lambda size: None))
            print_result(path, result)
            failed = failed or (
                result.status != "ingested"
                and not result.status.startswith(
                    ("skipped: already", "skipped: nothing new", "skipped: empty")
                )
            )
    finally:
        if bar:
            bar.close()
        db.close()
    return 1 if failed else 0


def _fail(message: str) -> int:
    print(f"aau-stats: {message}", file=sys.stderr)
    return 2


def run_totals(args: argparse.Namespace) -> int:
    from . import outputs, totals
    from .dataset import DatasetError, RawDataset

    if args.tolerance_hours < 0:
        return _fail("--tolerance-hours must be 0 or more")
    try:
        db = RawDataset(args.raw)
    except DatasetError as error:
        return _fail(str(error))
    try:
        outputs.prepare(args.out)
    except outputs.OutputError as error:
        return _fail(str(error))
    try:
        coverage = totals.week_coverage(totals.ledger_hours(db), args.tolerance_hours)
        table = totals.compute(db, k=args.k, tolerance_hours=args.tolerance_hours)
    except DatasetError as error:
        return _fail(str(error))
    finally:
        db.close()
    return publish_totals(table, coverage, args)


def publish_totals(
    table: Any,
    coverage: list[Any],
    args: argparse.Namespace,
    extra: dict[str, str] | None = None,
) -> int:
    """Write the weekly table and say what was published and what was left
    out: the same for every engine."""
    from . import outputs, totals

    left_out = totals.left_out(coverage)
    metadata = {
        "k": str(args.k),
        "tolerance_hours": str(args.tolerance_hours),
        "left_out": "\n".join(left_out),
        **(extra or {}),
    }
    try:
        database, csv_path = totals.write(table, args.out, metadata)
    except (outputs.OutputError, OSError) as error:
        return _fail(f"cannot write the totals to {args.out}: {error}")
    weeks = [totals.day_text(w.monday) for w in coverage if w.complete]
    print(f"{len(weeks)} complete week(s): {', '.join(weeks) or 'none'}")
    if left_out:
        print(f"left out (tolerance {args.tolerance_hours} h):")
        for line in left_out:
            print(f"  {line}")
    if "approximate_note" in metadata:
        print(f"APPROXIMATE: {metadata['approximate_note']}")
    print(f"wrote {database} and {csv_path}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    import sqlite3

    from .outputs import OutputError
    from .report import build

    database = os.path.join(args.totals, "totals.db")
    if not os.path.isfile(database):
        return _fail(f"no totals at {database}; run 'aau-stats totals' first")
    out = args.out or args.totals
    try:
        summary = build(database, out)
    except OutputError as error:
        return _fail(str(error))
    except sqlite3.Error as error:
        return _fail(f"{database} is not a totals database: {error}")
    except OSError as error:
        return _fail(f"cannot write the report to {out}: {error}")
    print(f"wrote {summary} and {os.path.join(out, 'report.html')}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from .synthetic import generate

    if args.weeks < 1:
        return _fail("--weeks must be 1 or more")
    if args.clients < 1:
        return _fail("--clients must be 1 or more")

    try:
        generate(
            args.directory,
            weeks=args.weeks,
            clients=args.clients,
            seed=args.seed,
            compress=args.gzip,
        )
    except OSError as error:
        return _fail(f"cannot write to {args.directory}: {error.strerror or error}")
    print(f"wrote {args.weeks * 7} daily logs and truth.json to {args.directory}")
    return 0


def _installed(name: str) -> bool:
    """Found, not imported: matplotlib is slow to import, and only the
    report needs it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # stdout closed early (`aau-stats ingest … | head`): no traceback, and
        # none at exit either when Python flushes stdout
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


def _run(args: argparse.Namespace) -> int:
    if not all(_installed(name) for name in ("matplotlib", "polars")):
        print(EXTRA_HINT, file=sys.stderr)
        return 2
    if args.command == "totals" and args.k < 1:
        print("aau-stats: -k must be 1 or more", file=sys.stderr)
        return 2
    if getattr(args, "engine", "local") == "spark":
        try:
            from .spark import commands as spark
        except ImportError:
            print(SPARK_HINT, file=sys.stderr)
            return 2
        return {"ingest": spark.run_ingest, "totals": spark.run_totals}[args.command](
            args
        )
    if getattr(args, "approximate", None) is not None:
        print("aau-stats: --approximate needs --engine spark", file=sys.stderr)
        return 2
    commands = {
        "ingest": run_ingest,
        "totals": run_totals,
        "report": run_report,
        "sample": run_sample,
    }
    return commands[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
