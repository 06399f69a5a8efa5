"""The SparkSession, configured where Spark users configure it.

Master and properties come, in this order of precedence, from
``aau-stats --master/--conf key=value``, then ``spark-submit`` (its
``--master``/``--conf``/``--properties-file``), then
``$SPARK_CONF_DIR`` or ``$SPARK_HOME/conf/spark-defaults.conf`` (pyspark's
launcher reads it). With no master anywhere: ``local[*]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

# Set only when nobody else did.
DEFAULTS = {
    "spark.app.name": "aau-stats",
    "spark.sql.session.timeZone": "UTC",
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
    return SparkSession.builder.config(conf=spark_conf).getOrCreate()
