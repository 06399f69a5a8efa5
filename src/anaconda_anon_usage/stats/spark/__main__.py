"""``aau-stats`` on Spark, as a script ``spark-submit`` can run.

``spark-submit`` takes a Python file, not an entry point::

    spark-submit --master yarn --conf spark.executor.memory=8g \\
      "$(python -c 'import anaconda_anon_usage.stats.spark.__main__ as m; print(m.__file__)')" \\
      ingest --raw /shared/aau-raw 's3a://logs/cdn/2026-10-*.log.gz'

or ``python -m anaconda_anon_usage.stats.spark ingest …``. The command line
is ``aau-stats``' with ``--engine spark`` implied; the master and the Spark
properties come from ``spark-submit`` (or ``--master``/``--conf``).
Absolute imports: ``spark-submit`` runs this file outside its package.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from anaconda_anon_usage.stats.cli import main

ENGINE_COMMANDS = ("ingest", "totals")


def spark_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--engine spark`` after an ingest/totals command that
    names no engine."""
    argv = list(argv)
    if (
        argv
        and argv[0] in ENGINE_COMMANDS
        and not any(a == "--engine" or a.startswith("--engine=") for a in argv)
    ):
        argv[1:1] = ["--engine", "spark"]
    return argv


if __name__ == "__main__":
    sys.exit(main(spark_argv(sys.argv[1:])))
