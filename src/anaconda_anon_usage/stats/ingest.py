"""Ingest access logs into the raw database, one transaction per file.

Files may be plain, gzip, xz or bzip2 (recognised by their first bytes, not
their names), or standard input (``-``). A file already in the ledger is
skipped; a run killed part-way leaves the database as if that file had never
been started, and the next run ingests it from the beginning.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, NamedTuple

import polars as pl

from .frames import Chunk, parse_chunk
from .store import LedgerEntry, RawDatabase

CHUNK_BYTES = 16 * 1024 * 1024
PENDING = (
    "pending"  # batches of the file being ingested, until its fingerprint is known
)
QUICK_KEY_BYTES = 1024 * 1024
SECONDS_PER_DAY = 86400
# Decompressors by the file's first bytes. The caller closes the raw file.
MAGIC: dict[bytes, Callable[[BinaryIO], BinaryIO]] = {
    b"\x1f\x8b": lambda raw: gzip.GzipFile(fileobj=raw),  # type: ignore[arg-type]
    b"\xfd7zXZ\x00": lambda raw: lzma.LZMAFile(raw),  # type: ignore[return-value]  # noqa: SIM115
    b"BZh": lambda raw: bz2.BZ2File(raw),  # type: ignore[return-value]
}


class FileResult(NamedTuple):
    name: str
    status: str  # "ingested" or "skipped: …"
    lines: int = 0
    malformed: int = 0
    conda_requests: int = 0
    bytes: int = 0
    malformed_examples: tuple[str, ...] = ()


class _CountingReader(io.RawIOBase):
    """Passes a file's bytes through, counting them for the progress bar."""

    def __init__(self, stream: BinaryIO, progress: Callable[[int], None]) -> None:
        self.stream = stream
        self.count = 0
        self.progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.stream.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        self.progress(size)
        return size


def quick_key(path: str) -> str | None:
    """Size plus a hash of the first and last MiB: recognises a file already
    ingested without reading it all. None for what is not a regular file."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as stream:
            digest = hashlib.sha256(stream.read(QUICK_KEY_BYTES))
            if size > QUICK_KEY_BYTES:
                stream.seek(max(size - QUICK_KEY_BYTES, QUICK_KEY_BYTES))
                digest.update(stream.read())
    except OSError:
        return None
    return f"{size}:{digest.hexdigest()}"


def _decompressed(raw: io.BufferedReader) -> BinaryIO:
    head = raw.peek(6)[:6]
    for magic, opener in MAGIC.items():
        if head.startswith(magic):
            return opener(raw)
    return raw


def chunks(stream: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Blocks of whole lines."""
    carry = b""
    while True:
        block = stream.read(size)
        if not block:
            break
        block = carry + block
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            carry = block
            continue
        carry = block[cut:]
        yield block[:cut]
    if carry:
        yield carry + b"\n"


def _hash_column(
    db: RawDatabase, frame: pl.DataFrame, column: str, kind: str
) -> pl.Expr:
    """Keyed hashes of a token column, computed once per distinct value."""
    values = [v for v in frame.get_column(column).unique().to_list() if v]
    mapping = {value: db.hash_token(kind, value) for value in values}
    return pl.col(column).replace_strict(mapping, default=0, return_dtype=pl.Int64)


def _admin_hashes(db: RawDatabase, frame: pl.DataFrame) -> pl.Expr:
    mapping = {
        value: " ".join(
            str(db.hash_token(*token.split("/", 1))) for token in value.split(" ")
        )
        for value in frame.get_column("admin").unique().to_list()
        if value
    }
    return pl.col("admin").replace_strict(mapping, default="", return_dtype=pl.String)


def _stored_batch(db: RawDatabase, conda: pl.DataFrame) -> pl.DataFrame:
    """The requests of a chunk as stored: day, fields, tokens as keyed hashes."""
    if conda.is_empty():
        return conda
    conda = conda.with_columns(pl.col("admin").list.join(" "))
    return conda.with_columns(
        (pl.col("timestamp") // SECONDS_PER_DAY).alias("day"),
        _hash_column(db, conda, "client", "c").alias("client"),
        _hash_column(db, conda, "session", "s").alias("session"),
        _hash_column(db, conda, "environment", "e").alias("environment"),
        _admin_hashes(db, conda).alias("admin"),
    )


def ingest_stream(
    db: RawDatabase,
    name: str,
    raw: BinaryIO,
    key: str | None,
    progress: Callable[[int], None] = lambda size: None,
    examples: int = 5,
) -> FileResult:
    reader = _CountingReader(raw, progress)
    buffered = io.BufferedReader(reader, buffer_size=1024 * 1024)
    # The fingerprint is of the log's content, not of its compressed form: a
    # log ingested plain and again after logrotate compressed it is one file.
    content = hashlib.sha256()
    lines = malformed = conda_requests = 0
    first: int | None = None
    last: int | None = None
    bad: list[str] = []

    def take(parsed: Chunk) -> None:
        nonlocal lines, malformed, conda_requests, first, last
        lines += parsed.lines
        malformed += parsed.malformed
        conda_requests += len(parsed.conda)
        bad.extend(parsed.malformed_examples[: examples - len(bad)])
        if parsed.first_timestamp is not None and parsed.last_timestamp is not None:
            first = (
                parsed.first_timestamp
                if first is None
                else min(first, parsed.first_timestamp)
            )
            last = (
                parsed.last_timestamp
                if last is None
                else max(last, parsed.last_timestamp)
            )
        db.add_batch(PENDING, _stored_batch(db, parsed.conda))

    # Parse the next chunk (polars, without the GIL) while this thread reads,
    # hashes and writes: at most two chunks are in memory at once.
    with db.transaction(), ThreadPoolExecutor(max_workers=1) as parser:
        in_flight: Future[Chunk] | None = None
        for block in chunks(_decompressed(buffered)):
            submitted = parser.submit(parse_chunk, block, examples)
            content.update(block)
            if in_flight is not None:
                take(in_flight.result())
            in_flight = submitted
        if in_flight is not None:
            take(in_flight.result())
        fingerprint = content.hexdigest()
        if db.knows_fingerprint(fingerprint):
            raise _AlreadyIngested
        db.connection.execute(
            "UPDATE request_batches SET fingerprint = ? WHERE fingerprint = ?",
            (fingerprint, PENDING),
        )
        db.record(
            LedgerEntry(
                fingerprint,
                key,
                name,
                reader.count,
                lines,
                malformed,
                conda_requests,
                first,
                last,
            )
        )
    return FileResult(
        name, "ingested", lines, malformed, conda_requests, reader.count, tuple(bad)
    )


class _AlreadyIngested(Exception):
    pass


def ingest_path(
    db: RawDatabase, path: str, progress: Callable[[int], None] = lambda size: None
) -> FileResult:
    """Ingest one file (or ``-`` for standard input); never raises for bad input."""
    key = None if path == "-" else quick_key(path)
    if key is not None and db.knows_quick_key(key):
        return FileResult(path, "skipped: already ingested")
    try:
        if path == "-":
            return ingest_stream(db, "<stdin>", sys.stdin.buffer, None, progress)
        with open(path, "rb") as raw:
            return ingest_stream(db, path, raw, key, progress)
    except _AlreadyIngested:
        return FileResult(path, "skipped: already ingested")
    except (OSError, EOFError, lzma.LZMAError) as error:
        return FileResult(path, f"skipped: {error}")
