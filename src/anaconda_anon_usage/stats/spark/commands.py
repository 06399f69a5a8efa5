"""The ``--engine spark`` side of ``aau-stats ingest`` and ``totals``: the
same messages and outputs as the local engine's."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..ingest import FileResult

SPARK_HINT = (
    "the Spark engine needs the spark extra and Java 17+: "
    "pip install 'anaconda-anon-usage[spark]'"
)


def _fail(message: str) -> int:
    print(f"aau-stats: {message}", file=sys.stderr)
    return 2


class NoSession(Exception):
    """Spark cannot start as asked: the message is one line."""


def _conf(args: argparse.Namespace) -> dict[str, str]:
    from .session import ConfError, parse_conf

    try:
        return parse_conf(args.conf or [])
    except ConfError as error:
        raise NoSession(str(error)) from None


def _session(args: argparse.Namespace, conf: dict[str, str]) -> Any:
    """The SparkSession, or a one-line reason why there is none."""
    from .session import get_session

    try:
        return get_session(args.master, conf)
    except Exception as error:  # no Java, a bad master URL: pyspark's own errors
        text = " ".join(str(error).split())[:300]
        raise NoSession(f"cannot start Spark: {text}") from None


def _print(result: FileResult) -> None:
    from ..cli import print_result

    print_result(result.name, result)


def run_ingest(args: argparse.Namespace) -> int:
    from ..dataset import DatasetError, RawDataset
    from .ingest import ingest

    try:
        conf = _conf(args)
        db = RawDataset(args.raw, write=True)
    except (NoSession, DatasetError) as error:
        return _fail(str(error))
    try:
        ok = ingest(_session(args, conf), db, args.files, _print)
    except NoSession as error:
        return _fail(str(error))
    finally:
        db.close()
    return 0 if ok else 1


def run_totals(args: argparse.Namespace) -> int:
    from .. import outputs, totals
    from ..cli import publish_totals
    from ..dataset import DatasetError, RawDataset
    from .totals import compute

    if args.tolerance_hours < 0:
        return _fail("--tolerance-hours must be 0 or more")
    if args.approximate is not None and not 0.01 <= args.approximate < 0.4:
        return _fail("--approximate takes a relative error from 0.01 to 0.39")
    try:
        conf = _conf(args)
        db = RawDataset(args.raw)
    except (NoSession, DatasetError) as error:
        return _fail(str(error))
    try:
        outputs.prepare(args.out)
    except outputs.OutputError as error:
        return _fail(str(error))
    try:
        spark = _session(args, conf)
        coverage = totals.week_coverage(totals.ledger_hours(db), args.tolerance_hours)
        table = compute(
            spark,
            db,
            k=args.k,
            tolerance_hours=args.tolerance_hours,
            rsd=args.approximate,
        )
    except (NoSession, DatasetError) as error:
        return _fail(str(error))
    except Exception:
        # Spark's failure to read a damaged file is pages of Java: name the
        # file in one line where one is found; anything else is raised.
        damaged = db.unreadable_file()
        if damaged is None:
            raise
        return _fail(damaged)
    finally:
        db.close()
    extra = {"engine": "spark"}
    if args.approximate is not None:
        extra.update(approximate_metadata(args.approximate))
    return publish_totals(table, coverage, args, extra)


def approximate_metadata(rsd: float) -> dict[str, str]:
    """What an approximate table says about itself (totals.db ``meta``)."""
    columns = (
        "clients, environments, sessions, single_session_clients, multi_session_clients"
    )
    return {
        "approximate": "true",
        "relative_error": f"{rsd:g}",
        "approximate_columns": columns,
        "approximate_note": (
            f"distinct counts ({columns}) are HyperLogLog++ estimates "
            f"(Spark approx_count_distinct) with a relative standard error of "
            f"{rsd:.0%}; hits, untokenized_hits and downloads are exact"
        ),
    }
