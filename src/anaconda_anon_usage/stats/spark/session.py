"""The SparkSession, configured where Spark users configure it.

Master and properties come, in this order of precedence, from
``aau-stats --master/--conf key=value``, then ``spark-submit`` (its
``--master``/``--conf``/``--properties-file``), then
``$SPARK_CONF_DIR`` or ``$SPARK_HOME/conf/spark-defaults.conf`` (pyspark's
launcher reads it). With no master anywhere: ``local[*]``. In local mode,
unless set anywhere, ``spark.sql.shuffle.partitions`` is twice the threads,
and when this process starts the JVM itself, the driver (whose heap local
mode's tasks share) gets a quarter of the machine's memory, up to 4 GB,
instead of Spark's 1 GB (``launch_conf``).
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
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
    launch = None
    if SparkContext._gateway is None:  # type: ignore[attr-defined]  # no JVM yet
        launch = SparkConf(loadDefaults=False).setAll(
            launch_conf(master, conf or {}).items()
        )
    # launches the JVM (unless running): reads spark-defaults.conf
    SparkContext._ensure_initialized(conf=launch)  # type: ignore[attr-defined]
    # spark.* of the JVM: spark-submit and the defaults file
    spark_conf = session_conf(SparkConf(), master, conf or {})
    return SparkSession.builder.config(conf=spark_conf).getOrCreate()


def session_conf(
    spark_conf: SparkConf, master: str | None, conf: Mapping[str, str]
) -> SparkConf:
    """``spark_conf`` (what the JVM was given) with ours layered on: our
    defaults under it, ``--conf`` over it, ``--master`` over ``--conf
    spark.master`` (spark-submit's order, and ``launch_conf``'s)."""
    for key, value in DEFAULTS.items():
        if not spark_conf.contains(key):
            spark_conf.set(key, value)
    # pyspark's launcher turns the progress bar on; ours is off unless asked
    spark_conf.set("spark.ui.showConsoleProgress", "false")
    for key, value in conf.items():
        spark_conf.set(key, value)
    if master:
        spark_conf.setMaster(master)
    elif not spark_conf.contains("spark.master"):
        spark_conf.setMaster("local[*]")
    local = local_cores(spark_conf.get("spark.master", ""))
    if local and not spark_conf.contains("spark.sql.shuffle.partitions"):
        # Spark's 200 fits a cluster; on one machine each task costs more
        # than its share of a week's totals
        spark_conf.set("spark.sql.shuffle.partitions", str(2 * local))
    return spark_conf


def local_cores(master: str) -> int | None:
    """The threads of a ``local``/``local[N]``/``local[*]`` master; None
    for a cluster."""
    match = re.fullmatch(r"local(?:\[(\*|[0-9]+)(?:,[0-9]+)?\])?", master.strip())
    if not match:
        return None
    if match[1] in (None, "*"):
        return 1 if match[1] is None else os.cpu_count() or 1
    return max(1, int(match[1]))


DRIVER_MEMORY = "spark.driver.memory"
# local mode's driver heap when nobody chose one (``launch_conf``)
LOCAL_HEAP_CAP = 4 << 30
SPARK_DEFAULT_HEAP = 1 << 30


def launch_conf(
    master: str | None,
    conf: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    physical: int | None = None,
) -> dict[str, str]:
    """Properties to start the JVM with (pyspark hands them to
    spark-submit): the driver's memory, which nothing can change once the
    JVM runs. The user's ``--conf spark.driver.memory`` (later would be too
    late); otherwise, in local mode, where nobody set it (spark-submit's
    arguments or properties file, ``spark-defaults.conf``,
    ``SPARK_DRIVER_MEMORY`` in the environment or ``spark-env.sh``), a
    quarter of ``physical`` memory, at most 4 GB, instead of Spark's 1 GB:
    local mode's tasks share that heap, and exact totals on a few hundred MB
    of logs spilled to disk with 1 GB (benchmarks/stats_spark.py)."""
    environ = os.environ if environ is None else environ
    if DRIVER_MEMORY in conf:
        return {DRIVER_MEMORY: conf[DRIVER_MEMORY]}
    if "PYSPARK_GATEWAY_PORT" in environ:  # spark-submit started the JVM
        return {}
    submit = shlex.split(environ.get("PYSPARK_SUBMIT_ARGS", ""))
    if any(
        word in ("--driver-memory", "--properties-file") or DRIVER_MEMORY in word
        for word in submit
    ):
        return {}
    if environ.get("SPARK_DRIVER_MEMORY") or environ.get("SPARK_MEM"):
        return {}
    conf_dir = _conf_dir(environ)
    defaults = _properties(os.path.join(conf_dir, "spark-defaults.conf"))
    if DRIVER_MEMORY in defaults or "SPARK_DRIVER_MEMORY" in _text(
        os.path.join(conf_dir, "spark-env.sh")
    ):
        return {}
    chosen = (
        master
        or conf.get("spark.master")
        or next((b for a, b in itertools.pairwise(submit) if a == "--master"), None)
        or defaults.get("spark.master")
        or "local[*]"
    )
    if local_cores(chosen) is None:
        return {}
    if physical is None:
        try:
            physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (OSError, ValueError, AttributeError):  # not on Linux/macOS
            return {}
    heap = min(LOCAL_HEAP_CAP, physical // 4)
    if heap <= SPARK_DEFAULT_HEAP:
        return {}
    return {DRIVER_MEMORY: f"{heap >> 20}m"}


def _conf_dir(environ: Mapping[str, str]) -> str:
    if environ.get("SPARK_CONF_DIR"):
        return environ["SPARK_CONF_DIR"]
    home = environ.get("SPARK_HOME")
    if not home:
        from pyspark.find_spark_home import _find_spark_home

        home = _find_spark_home()
    return os.path.join(home, "conf")


def _text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:  # none there: nothing set
        return ""


def _properties(path: str) -> dict[str, str]:
    """``spark-defaults.conf`` (Java properties: ``key value``, ``key=value``
    or ``key: value``; ``#``/``!`` comments), loosely: for looking keys up."""
    found = {}
    for line in _text(path).splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        parts = re.split(r"\s*[=:]\s*|\s+", line, maxsplit=1)
        found[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    return found
