"""``aau-stats ingest --engine spark``: logs into the same raw dataset.

Spark parses the lines (``parse.parse_lines``), hashes the tokens with the
dataset's key in Spark SQL (``sha2``, the contract's construction) and writes
the Parquet files of every piece into staging in one pass over the lines (one
Spark job per ``BATCH`` logs), counting lines, malformed lines, conda requests
and hours on the way (observed metrics); a second, short look finds a few
malformed lines to show, only in logs that have some. The driver then commits
each piece through the dataset's own commit protocol, with the same ledger
fields the local engine records.

Which logs are new is decided in Python on the driver, with the local
engine's code, for every file the driver can read: the same quick key and the
same content fingerprint (sha256 of the decompressed content), so a log
ingested by one engine is skipped by the other. Logs the driver cannot read
(``s3a://``, ``hdfs://``, ``gs://``...) are recognised by their URI, size and
modification time as Hadoop's file system reports them.

The raw dataset must be a directory the driver and every executor see (a
local path in local mode; a shared mount on a cluster).
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import re
import shutil
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from .. import ingest as local
from ..dataset import TEXT_FIELDS, TOKEN_KINDS, LedgerEntry, RawDataset, hour_ranges
from ..ingest import FileResult
from .parse import _add, classify, read_lines, request_fields

EXAMPLES = 5
# Logs per Spark job: each adds a few counts to what every line is checked for.
BATCH = 64
# What Spark (Hadoop) decompresses, by the file's name.
CODECS = {".gz": b"\x1f\x8b", ".bz2": b"BZh"}
NO_CODEC = (".xz", ".zst", ".lz4", ".snappy", ".deflate", ".z")
# Characters Hadoop takes as a glob in a path (escaped: a log is read by its
# own name, never as a pattern); a ':' it cannot read at all.
GLOB = str.maketrans({c: "\\" + c for c in "\\{}[]*?"})


@dataclass
class Source:
    """One log to read: where Spark finds it and what the ledger records."""

    name: str  # as given (or as found by a glob)
    uri: str  # what Spark reads
    fields: dict[str, Any] = field(default_factory=dict)  # ledger fields known now
    piece: Any = None


# The first 8 bytes of sha256 of a text as a signed 64-bit number (0 still
# possible; null for null): the contract's construction, in Spark SQL text.
NUMBER = "CAST(conv(substring(sha2({}, 256), 1, 16), 16, -10) AS BIGINT)"
# 0 made 1 (0 means "no token"); give the number a column of its own first
# (it is read twice), or Spark computes the hash twice
NONZERO = "CASE WHEN {0} = 0 THEN CAST(1 AS BIGINT) ELSE {0} END"


def with_hashes(frame: DataFrame, key_hex: str) -> DataFrame:
    """``frame`` with its token columns (``TOKEN_KINDS``: 0 for no token) and
    ``admin`` (each ``K/V`` token's hash, joined by spaces) replaced by the
    contract's keyed hashes; one ``sha2`` per token.

    Written as SQL text so that the admin tokens' lambda variables have fixed
    names: ``F.transform`` names them afresh on every call (``x_1``, ``x_2``),
    which changes the generated code of every run, so Spark compiled it again
    and the JVM had to compile it again (seconds of CPU per run), where an
    identical plan reuses the compiled class. The key is a literal: Spark
    hands it to the generated code as a reference, not as code text."""
    if not re.fullmatch("[0-9a-f]{64}", key_hex):
        raise ValueError("the dataset key is not 64 lowercase hex digits")
    admin = NUMBER.format(f"concat('{key_hex}', part)")
    numbers = _add(
        frame,
        **{
            f"_h_{name}": F.expr(NUMBER.format(f"concat('{key_hex}{kind}/', `{name}`)"))
            for name, kind in TOKEN_KINDS.items()
        },
        _h_admin=F.expr(f"transform(admin, part -> {admin})"),
    )

    def column(name: str) -> Column:
        if name in TOKEN_KINDS:
            number = f"_h_{name}"
            value = f"coalesce({NONZERO.format(number)}, CAST(0 AS BIGINT))"
            return F.expr(value).alias(name)
        if name == "admin":
            parts = f"transform(_h_admin, n -> CAST({NONZERO.format('n')} AS STRING))"
            return F.expr(f"array_join({parts}, ' ')").alias(name)
        return F.col(name)

    return numbers.select(*(column(name) for name in frame.columns))


def stored(parsed: DataFrame, key_hex: str) -> DataFrame:
    """Conda requests (``parsed``: conda lines only) as the dataset stores
    them (contract column types)."""
    day = F.floor(F.col("timestamp") / 86400).cast("int")
    conda = with_hashes(parsed, key_hex)
    return conda.select(
        "source",
        day.alias("day"),
        F.col("status").cast("short").alias("status"),
        *(F.col(name) for name in TEXT_FIELDS),
        *(F.col(name) for name in TOKEN_KINDS),
        "admin",
        F.date_format(
            F.date_add(F.lit("1970-01-01").cast("date"), day), "yyyy-MM-dd"
        ).alias("date"),
    )


# ---- which logs are new (Python, on the driver) ------------------------------


def _local_path(name: str) -> str | None:
    """The local path of a name the driver can read itself, else None."""
    path = name.removeprefix("file://") if name.startswith("file:///") else name
    if "://" in path or path.startswith("file:"):
        return None
    return path if os.path.isfile(path) else None


def _fingerprint(
    stream: io.BufferedIOBase, entries: Sequence[Any]
) -> tuple[str, int, int | None, bytes]:
    """sha256 and size of the content, the first offset where some piece's
    content ends (read before), and the content's last byte."""
    known = local._checkpoints(list(entries), 0)
    digest = hashlib.sha256()
    size = 0
    overlap = None
    last = b""
    while True:
        block = stream.read(local.CHUNK_BYTES)
        if not block:
            break
        done = 0
        for point in sorted(p for p in known if size < p <= size + len(block)):
            cut = point - size
            digest.update(block[done:cut])
            done = cut
            if overlap is None and digest.hexdigest() in known[point]:
                overlap = point
        digest.update(block[done:])
        size += len(block)
        last = block[-1:]
    return digest.hexdigest(), size, overlap, last


def plan_local(
    dataset: RawDataset, path: str, planned: Sequence[Any] = ()
) -> Source | FileResult:
    """A local log to ingest, or why not (as the local engine decides).
    ``planned``: ledger-like entries of logs planned in this run (committed
    together at the end, so not in the ledger yet)."""
    if ":" in os.path.abspath(path):
        return FileResult(
            path,
            "skipped: Spark (Hadoop) reads no file with ':' in its path: "
            "rename it or use --engine local",
        )
    entries = [*dataset.ledger(), *planned]
    key = local.quick_key(path)
    if key is not None and any(e.quick_key == key for e in entries):
        return FileResult(path, "skipped: already ingested")
    with open(path, "rb") as raw:
        buffered = io.BufferedReader(raw)  # type: ignore[arg-type]
        unread = local.unread_compression(buffered)
        if unread:
            return FileResult(path, unread)
        magic = local.compression_of(buffered)
        lower = path.lower()
        named = next((s for s in CODECS if lower.endswith(s)), None)
        if magic is not None and (named is None or CODECS[named] != magic):
            return FileResult(
                path,
                "skipped: compressed, but Spark picks a decompressor by the file "
                "name (.gz, .bz2 only): rename or decompress it, or use --engine local",
            )
        if magic is None and (named is not None or lower.endswith(NO_CODEC)):
            return FileResult(path, "skipped: its name says compressed, it is not")
        if magic is None:
            start = local.plan_plain_file(path, buffered, list(entries))
            if start.offset:
                return FileResult(
                    path,
                    "skipped: part of it was ingested before and it grew since; "
                    "the Spark engine reads whole logs: use --engine local for it",
                )
            buffered.seek(0)
        stream = local.MAGIC[magic](buffered) if magic else buffered
        digest, size, overlap, last = _fingerprint(stream, entries)  # type: ignore[arg-type]
    if not size:
        return FileResult(path, "skipped: empty")  # as the local engine
    if any(e.content_sha256 == digest and e.end == size for e in entries):
        return FileResult(path, "skipped: already ingested")  # as the local engine
    if overlap is not None:
        return FileResult(
            path,
            f"skipped: its first {overlap:,} bytes were ingested before (as another "
            "file); the Spark engine reads whole logs: use --engine local for it",
        )
    if size and last != b"\n" and magic is None:
        return FileResult(
            path,
            "skipped: its last line has no newline yet (still being written?); "
            "the Spark engine reads finished logs: try later or use --engine local",
        )
    bytes_read = os.path.getsize(path)
    return Source(
        name=path,
        uri=os.path.abspath(path).translate(GLOB),
        fields={
            "path": os.path.abspath(path),
            "start": 0,
            "end": size,
            "content_sha256": digest,
            "quick_key": local.quick_key(path, bytes_read),
            "bytes": bytes_read,
        },
    )


def _pending(source: Source) -> LedgerEntry:
    """A planned source as a ledger entry, for recognising its content."""
    fields = source.fields
    return LedgerEntry(
        piece="",
        engine="spark",
        name=source.name,
        lines=0,
        malformed=0,
        conda_requests=0,
        files=(),
        ingested_at=0,
        hours=(),
        path=fields.get("path"),
        start=fields.get("start"),
        end=fields.get("end"),
        content_sha256=fields.get("content_sha256"),
        quick_key=fields.get("quick_key"),
    )


def plan_remote(
    spark: SparkSession, dataset: RawDataset, name: str
) -> list[Source | FileResult]:
    """Logs Spark reads through Hadoop's file systems (a URI or a glob)."""
    jvm = spark._jvm  # type: ignore[attr-defined]
    conf = spark._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    try:
        path = jvm.org.apache.hadoop.fs.Path(name)
        fs = path.getFileSystem(conf)
        statuses = fs.globStatus(path)
    except Exception as error:  # py4j wraps the JVM's exceptions
        return [FileResult(name, f"skipped: {_first_line(error)}")]
    if not statuses:
        return [FileResult(name, "skipped: no such file")]
    known = {e.quick_key for e in dataset.ledger()}
    found: list[Source | FileResult] = []
    for status in statuses:
        uri = status.getPath().toString()
        if status.isDirectory():
            found.append(FileResult(uri, "skipped: a directory (give its files)"))
            continue
        key = f"hadoop:{uri}:{status.getLen()}:{status.getModificationTime()}"
        if key in known:
            found.append(FileResult(uri, "skipped: already ingested"))
            continue
        found.append(
            Source(uri, uri, {"quick_key": key, "bytes": int(status.getLen())})
        )
    return found


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    for line in text:
        if "Exception:" in line:
            return line.split("Exception:", 1)[1].strip() or line
    return text[0] if text else type(error).__name__


# ---- the Spark job -----------------------------------------------------------


def _read(spark: SparkSession, sources: Sequence[Source]) -> DataFrame:
    """The lines of every source, with ``source``: its index in ``sources``."""
    frames = [
        read_lines(spark.read.option("lineSep", "\n").text(s.uri)).withColumn(
            "source", F.lit(index)
        )
        for index, s in enumerate(sources)
    ]
    return reduce(DataFrame.unionByName, frames)


def _metrics(count: int) -> list[Column]:
    """Per source: lines, malformed, conda_requests, first/last time; and the
    (source, hour) pairs with a valid time. Observed while the rows are
    written (``DataFrame.observe``): no second pass over the lines, and the
    filter of the conda requests is not pushed below it (which would parse
    each line twice)."""
    kind, stamp, source = F.col("line_kind"), F.col("timestamp"), F.col("source")
    hour = F.floor(stamp / 3600).cast("long")
    columns = []
    for index in range(count):
        mine = source == index
        columns += [
            F.count_if(mine).alias(f"lines_{index}"),
            F.count_if(mine & (kind == "malformed")).alias(f"malformed_{index}"),
            F.count_if(mine & (kind == "conda")).alias(f"conda_requests_{index}"),
            F.min(F.when(mine, stamp)).alias(f"first_ts_{index}"),
            F.max(F.when(mine, stamp)).alias(f"last_ts_{index}"),
        ]
    pairs = F.struct(source.alias("source"), hour.alias("hour"))
    columns.append(F.collect_set(F.when(stamp.isNotNull(), pairs)).alias("hours"))
    return columns


def _counts(observed: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``_metrics``' values, per source: the ledger's count fields."""
    result: list[dict[str, Any]] = [
        {
            "lines": int(observed[f"lines_{index}"]),
            "malformed": int(observed[f"malformed_{index}"]),
            "conda_requests": int(observed[f"conda_requests_{index}"]),
            "hours": set(),
        }
        for index in range(count)
    ]
    for index, one in enumerate(result):
        for name in ("first_ts", "last_ts"):
            value = observed[f"{name}_{index}"]
            if value is not None:
                one[name] = int(value)
    for pair in observed["hours"]:
        result[pair["source"]]["hours"].add(int(pair["hour"]))
    return result


def _examples(classified: DataFrame, counts: list[dict[str, Any]]) -> dict[int, list]:
    """Up to ``EXAMPLES`` malformed lines of each source that has some: a
    second look only where they are (Spark stops reading once it has them,
    and parses no more of a line than tells it is malformed)."""
    wanted = [index for index, one in enumerate(counts) if one["malformed"]]
    if not wanted:
        return {}
    rows = (
        classified.filter(
            (F.col("line_kind") == "malformed") & F.col("source").isin(wanted)
        )
        .select("source", F.substring("bad", 1, 200).alias("bad"))
        .limit(EXAMPLES * len(wanted))
        .collect()
    )
    found: dict[int, list] = {}
    for row in rows:
        found.setdefault(row.source, []).append(row.bad)
    return found


def _stage(out: str, index: int, piece: Any) -> None:
    """Move Spark's ``source=<index>/date=...`` output into the piece's staging."""
    produced = os.path.join(out, f"source={index}")
    if not os.path.isdir(produced):
        return  # no conda request in that log
    for partition in os.listdir(produced):
        if partition.startswith("date="):
            os.replace(
                os.path.join(produced, partition),
                os.path.join(piece.staging, partition),
            )


def run(
    spark: SparkSession,
    dataset: RawDataset,
    sources: Sequence[Source],
    report: Callable[[FileResult], None],
) -> bool:
    """Parse, hash and stage the sources, ``BATCH`` logs per Spark job; commit
    each source as its own piece (a failure commits none of its batch).
    False when a batch could not be written."""
    ok = True
    for start in range(0, len(sources), BATCH):
        ok = _run_batch(spark, dataset, sources[start : start + BATCH], report) and ok
    return ok


def _root_cause(error: BaseException) -> str:
    """What went wrong at the bottom of a JVM error (``No space left on
    device``), not Spark's task-failure wrapper around it."""
    causes = [
        line.split("Caused by: ", 1)[1]
        for line in str(error).splitlines()
        if "Caused by: " in line
    ]
    if causes:
        deepest = causes[-1]
        return deepest.split(": ", 1)[1].strip() if ": " in deepest else deepest
    return _first_line(error)


def _run_batch(
    spark: SparkSession,
    dataset: RawDataset,
    sources: Sequence[Source],
    report: Callable[[FileResult], None],
) -> bool:
    """One Spark job reads, parses, hashes and writes the sources' conda
    requests and counts their lines on the way; then the driver commits.
    Where the job or a commit fails (a full disk), each log not committed
    is reported as skipped, with the reason, and read again next time."""
    if not sources:
        return True
    committed: set[str] = set()
    batch = None
    try:
        batch = dataset.new_piece()  # where Spark writes; split by piece after
        for source in sources:
            source.piece = dataset.new_piece()
        keep = ("source",)
        classified = classify(_read(spark, sources), keep=keep)
        observation = Observation("aau-ingest")
        observed = classified.observe(observation, *_metrics(len(sources)))
        conda = observed.filter(F.col("line_kind") == "conda")
        out = os.path.join(os.path.abspath(batch.staging), "out")
        stored(request_fields(conda, keep), dataset.key_hex).write.partitionBy(
            "source", "date"
        ).option("compression", "zstd").mode("overwrite").parquet("file://" + out)
        counts = _counts(observation.get, len(sources))
        examples = _examples(classified, counts)
        for index, (source, found) in enumerate(zip(sources, counts, strict=True)):
            _stage(out, index, source.piece)
            hours = hour_ranges(found.pop("hours"))
            dataset.commit(
                source.piece,
                name=source.name,
                engine="spark",
                hours=hours,
                **found,
                **source.fields,
            )
            committed.add(source.piece.id)
            report(
                FileResult(
                    source.name,
                    "ingested",
                    found["lines"],
                    found["malformed"],
                    found["conda_requests"],
                    int(source.fields.get("bytes", 0)),
                    tuple(examples.get(index, [])[:EXAMPLES]),
                )
            )
    except (Py4JJavaError, OSError) as error:
        reason = str(error) if isinstance(error, OSError) else _root_cause(error)
        for source in sources:
            if source.piece is None or source.piece.id not in committed:
                report(FileResult(source.name, f"skipped: {reason}"))
        return False
    finally:
        if batch is not None:
            shutil.rmtree(batch.staging, ignore_errors=True)
        for source in sources:
            if source.piece is not None and source.piece.id not in committed:
                dataset.abandon(source.piece)
    return True


def ingest(
    spark: SparkSession,
    dataset: RawDataset,
    names: Sequence[str],
    report: Callable[[FileResult], None],
) -> bool:
    """Ingest logs (paths, URIs, globs); report each. False when a log
    could not be read (already ingested ones are fine)."""
    sources: list[Source] = []
    ok = True
    for name in names:
        if name == "-":
            report(FileResult(name, "skipped: the Spark engine reads files, not stdin"))
            ok = False
            continue
        path = _local_path(name)
        try:
            planned = (
                [plan_local(dataset, path, [_pending(s) for s in sources])]
                if path is not None
                else plan_remote(spark, dataset, name)
            )
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as error:
            planned = [FileResult(name, f"skipped: {error}")]
        for item in planned:
            if isinstance(item, FileResult):
                report(item)
                ok = ok and item.status.startswith(
                    ("skipped: already", "skipped: empty")
                )
            elif any(
                s.fields.get("content_sha256")
                and s.fields.get("content_sha256") == item.fields.get("content_sha256")
                for s in sources
            ):
                report(FileResult(item.name, "skipped: already ingested"))
            else:
                sources.append(item)
    return run(spark, dataset, sources, report) and ok
