"""The SparkSession, configured where Spark users configure it.

Master and properties come, in this order of precedence, from
``aau-stats --master/--conf key=value``, then ``spark-submit`` (its
``--master``/``--conf``/``--properties-file``), then
``$SPARK_CONF_DIR`` or ``$SPARK_HOME/conf/spark-defaults.conf`` (pyspark's
launcher reads it). With no master anywhere: ``local[*]``. In local mode,
unless set anywhere, ``spark.sql.shuffle.partitions`` is twice the threads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

# Set only when nobody else did.
DEFAULTS = {
    "spark.app.name": "aau-stats",
    "spark.sql.session.timeZone": "UTC",
    "spark.log.level": "WARN",  # Spark's INFO lines would bury our output
}


class ConfError(ValueError):
    """A ``--conf`` that is not ``key=value``."""


def parse_conf(items: Iterable[str]) -> dict[str, str]:
    conf = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfError(f"--conf {item!r}: expected key=value")
        conf[key.strip()] = value
    return conf


def get_session(
    master: str | None = None, conf: Mapping[str, str] | None = None
) -> SparkSession:
    """The active session, or a new one; ``master``/``conf`` win over the
    defaults file and spark-submit."""
    SparkContext._ensure_initialized()  # type: ignore[attr-defined]  # launches the JVM: reads spark-defaults.conf
    spark_conf = SparkConf()  # spark.* of the JVM: spark-submit and the defaults file
    for key, value in DEFAULTS.items():
        if not spark_conf.contains(key):
            spark_conf.set(key, value)
    if master:
        spark_conf.setMaster(master)
    elif not spark_conf.contains("spark.master"):
        spark_conf.setMaster("local[*]")
    # pyspark's launcher turns the progress bar on; ours is off unless asked
    spark_conf.set("spark.ui.showConsoleProgress", "false")
    for key, value in (conf or {}).items():
        spark_conf.set(key, value)
    local = local_cores(spark_conf.get("spark.master", ""))
    if local and not spark_conf.contains("spark.sql.shuffle.partitions"):
        # Spark's 200 fits a cluster; on one machine each task costs more
        # than its share of a week's totals
        spark_conf.set("spark.sql.shuffle.partitions", str(2 * local))
    return SparkSession.builder.config(conf=spark_conf).getOrCreate()


def local_cores(master: str) -> int | None:
    """The threads of a ``local``/``local[N]``/``local[*]`` master; None
    for a cluster."""
    match = re.fullmatch(r"local(?:\[(\*|[0-9]+)(?:,[0-9]+)?\])?", master.strip())
    if not match:
        return None
    if match[1] in (None, "*"):
        return 1 if match[1] is None else os.cpu_count() or 1
    return max(1, int(match[1]))
