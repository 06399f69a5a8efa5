"""Ingest access logs into the raw dataset, one committed piece per file.

Files may be plain, gzip, xz or bzip2 (recognised by their first bytes, not
their names), or standard input (``-``). A log is recognised by its content:
the ledger keeps, for each piece, the sha256 of the log's content up to where
it was read. So

* the same log again (under any name, plain or compressed later) adds
  nothing;
* a plain log that only grew since it was last read adds just its new lines
  (the part read before is verified unchanged by its hash first);
* a log truncated or replaced since is said so, and read as new content;
* a run killed part-way leaves nothing visible, and the next run starts that
  file again.

A plain file's last line without a newline may still be being written: it is
left for the next run. Compressed files and standard input are finished, so
their last line is read as it is.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import hashlib
import io
import lzma
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

import polars as pl

from .dataset import (
    TOKEN_KINDS,
    LedgerEntry,
    Piece,
    PieceWriter,
    RawDataset,
    hour_ranges,
    keyed_digests,
)
from .frames import Chunk, parse_chunk

if TYPE_CHECKING:
    from hashlib import _Hash

CHUNK_BYTES = 16 * 1024 * 1024
LINE_TAIL = 64 * 1024  # where the end of a block's last line is looked for
PARSERS = 2  # blocks parsed at once
QUEUED = 1  # more blocks read ahead, waiting for a parser
ROWS_PER_FILE = 250_000  # rows buffered, at most (so memory stays flat), and per file
QUICK_KEY_BYTES = 1024 * 1024
SECONDS_PER_DAY = 86400
# Decompressors by the file's first bytes. The caller closes the raw file.
MAGIC: dict[bytes, Callable[[BinaryIO], BinaryIO]] = {
    b"\x1f\x8b": lambda raw: gzip.GzipFile(fileobj=raw),  # type: ignore[arg-type]
    b"\xfd7zXZ\x00": lambda raw: lzma.LZMAFile(raw),  # type: ignore[return-value]  # noqa: SIM115
    b"BZh": lambda raw: bz2.BZ2File(raw),  # type: ignore[return-value]
}
# Compressed formats not read (no decompressor in the standard library):
# such a log is skipped with a clear reason, not read as lines of binary.
UNREAD: dict[bytes, str] = {b"\x28\xb5\x2f\xfd": "zstd", b"\x04\x22\x4d\x18": "lz4"}
Progress = Callable[[int], None]


def _no_progress(size: int) -> None:
    pass


class FileResult(NamedTuple):
    name: str
    status: str  # "ingested" or "skipped: …"
    lines: int = 0
    malformed: int = 0
    conda_requests: int = 0
    bytes: int = 0
    malformed_examples: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # grew, replaced, last line held back


class _CountingReader(io.RawIOBase):
    """Passes a file's bytes through, counting them for the progress bar."""

    def __init__(self, stream: BinaryIO, progress: Progress) -> None:
        self.stream = stream
        self.count = 0
        self.progress = progress

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Plain files are read through this directly: no copy."""
        data = self.stream.read(size)
        self.count += len(data)
        self.progress(len(data))
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.stream.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        self.progress(size)
        return size

    def read_lines(self, size: int) -> bytes | None:
        """Up to ``size`` bytes ending at the end of a line, read as they
        are: the end is found first in the last ``LINE_TAIL`` bytes, so no
        block of lines is ever copied (a copy holds the GIL and touches
        fresh memory). Near the end of the file, what is left. None when the
        file cannot seek, or holds no newline near ``size`` (a long line)."""
        stream = self.stream
        if not stream.seekable():
            return None
        start = stream.tell()
        peek = max(start, start + size - LINE_TAIL)
        stream.seek(peek)
        tail = stream.read(start + size - peek)
        stream.seek(start)
        if len(tail) < start + size - peek:
            return self.read(size)
        end = tail.rfind(b"\n")
        return None if end < 0 else self.read(peek - start + end + 1)


def quick_key(path: str, size: int | None = None) -> str | None:
    """Size plus a hash of the first and last MiB of the file's first ``size``
    bytes: recognises a file already read without reading it all. None for
    what is not a regular file."""
    try:
        if size is None:
            size = os.path.getsize(path)
        with open(path, "rb") as stream:
            digest = hashlib.sha256(stream.read(min(size, QUICK_KEY_BYTES)))
            if size > QUICK_KEY_BYTES:
                tail = max(size - QUICK_KEY_BYTES, QUICK_KEY_BYTES)
                stream.seek(tail)
                digest.update(stream.read(size - tail))
    except OSError:
        return None
    return f"{size}:{digest.hexdigest()}"


def unread_compression(raw: io.BufferedReader) -> str | None:
    """Why a log is not read: ``skipped: ...`` when it is compressed in a
    format of ``UNREAD``, else None."""
    head = raw.peek(4)[:4]
    name = UNREAD.get(head)
    return f"skipped: {name}-compressed, not read: decompress it" if name else None


def compression_of(raw: io.BufferedReader) -> bytes | None:
    head = raw.peek(6)[:6]
    for magic in MAGIC:
        if head.startswith(magic):
            return magic
    return None


def blocks(stream: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Blocks of whole lines; the last may lack its newline. A block read
    whole (``read_lines`` of a plain file) is passed on as it is; otherwise
    its lines are copied once."""
    read_lines = getattr(stream, "read_lines", None)
    carry = b""
    while True:
        block = read_lines(size) if read_lines is not None and not carry else None
        if block is None:
            block = stream.read(size)
        if not block:
            break
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            carry += block
            continue
        if not carry and cut == len(block):
            yield block
            continue
        whole = b"".join((carry, memoryview(block)[:cut]))
        carry = block[cut:]
        yield whole
    if carry:
        yield carry


@dataclass
class Start:
    """Where reading a log begins: its content before ``offset`` is already
    in the dataset (``digest`` is the sha256 of that part)."""

    offset: int = 0
    digest: _Hash = field(default_factory=hashlib.sha256)
    notes: tuple[str, ...] = ()


def _hash_prefix(stream: BinaryIO, size: int) -> _Hash:
    digest = hashlib.sha256()
    left = size
    while left > 0:
        block = stream.read(min(left, CHUNK_BYTES))
        if not block:
            break
        digest.update(block)
        left -= len(block)
    return digest


def plan_plain_file(path: str, raw: BinaryIO, entries: list[LedgerEntry]) -> Start:
    """For a plain log read before under this path: start after the part
    already read if it is unchanged; otherwise say why it is read anew."""
    here = os.path.abspath(path)
    seen = [e for e in entries if e.path == here and e.end and e.content_sha256]
    if not seen:
        return Start()
    last = max(seen, key=lambda e: (e.end or 0, e.ingested_at))
    end = last.end or 0
    size = os.fstat(raw.fileno()).st_size
    if size < end:
        return Start(
            notes=(
                "shorter than when last read: truncated or replaced, read as new content",
            )
        )
    digest = _hash_prefix(raw, end)
    if digest.hexdigest() != last.content_sha256:
        raw.seek(0)
        return Start(
            notes=("changed since it was last read: replaced, read as new content",)
        )
    return Start(
        end, digest, (f"read before up to byte {end:,}: reading what was added since",)
    )


@dataclass
class _Totals:
    lines: int = 0
    malformed: int = 0
    conda_requests: int = 0
    first: int | None = None
    last: int | None = None
    hours: set[int] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)


class _Tokens:
    """Keyed hashes of the token columns of a chunk's table of distinct
    user-agents, row by row (sha256 runs in Python: the one Python loop of
    ingest). Most agents carry their own session, so a token repeats little
    among them: hashing every row (10% more hashes on the benchmark log)
    costs less than finding the distinct values and mapping their hashes
    back. Nothing is kept across chunks: sessions never repeat and clients
    and environments too rarely for a cache to pay; looking values up in a
    table of those seen before (a join per chunk and kind) cost more than
    hashing them again, and memory stays flat."""

    def __init__(self, dataset: RawDataset) -> None:
        self.dataset = dataset

    def _hash(self, kind: str, values: pl.Series) -> pl.Series:
        """``dataset.keyed_hash`` of each value, vectorised: big-endian
        signed, 0 -> 1."""
        # UTF-8 bytes, as encode()
        digests = keyed_digests(
            self.dataset.key_hex, kind, values.cast(pl.Binary).to_list()
        )
        return (
            pl.Series(digests, dtype=pl.Binary)
            .bin.reinterpret(dtype=pl.Int64, endianness="big")
            .replace(0, 1)
        )

    def column(self, frame: pl.DataFrame, column: str, kind: str) -> pl.Expr:
        """The keyed hash of each row's token of one kind; 0 where none was
        sent (null or empty)."""
        hashed = self._hash(kind, frame.get_column(column).fill_null(""))
        sent = pl.col(column).is_not_null() & (pl.col(column) != "")
        return pl.when(sent).then(pl.lit(hashed)).otherwise(pl.lit(0, pl.Int64))

    def admin(self, frame: pl.DataFrame) -> pl.Expr:
        mapping = {
            value: " ".join(
                str(self.dataset.hash_token(*token.split("/", 1)))
                for token in value.split(" ")
            )
            for value in frame.get_column("admin").unique().to_list()
            if value
        }
        return pl.col("admin").replace_strict(
            mapping, default="", return_dtype=pl.String
        )

    def agents(self, agents: pl.DataFrame) -> pl.DataFrame:
        """A chunk's table of distinct user-agents with their tokens hashed
        (``frames.parse_chunk`` calls it from its thread, before the table is
        joined to the requests: far fewer rows than requests)."""
        if agents.is_empty():
            return agents.with_columns(
                pl.col(*TOKEN_KINDS).cast(pl.Int64),
                pl.col("admin").cast(pl.String),
            )
        agents = agents.with_columns(pl.col("admin").list.join(" "))
        return agents.with_columns(
            *(
                self.column(agents, name, kind).alias(name)
                for name, kind in TOKEN_KINDS.items()
            ),
            self.admin(agents).alias("admin"),
        )


def _stored(conda: pl.DataFrame) -> pl.DataFrame:
    """The requests of a chunk (tokens hashed) as stored: with their day."""
    return conda.with_columns((pl.col("timestamp") // SECONDS_PER_DAY).alias("day"))


def _checkpoints(entries: list[LedgerEntry], after: int) -> dict[int, set[str]]:
    """Offsets into some log's content where a piece ended, with the hash of
    the content up to there: a log that matches one was read up to there."""
    known: dict[int, set[str]] = {}
    for entry in entries:
        if entry.end and entry.content_sha256 and entry.end > after:
            known.setdefault(entry.end, set()).add(entry.content_sha256)
    return known


def ingest_stream(
    dataset: RawDataset,
    name: str,
    stream: BinaryIO,
    *,
    start: Start | None = None,
    finished: bool = True,
    path: str | None = None,
    describe: Callable[[], dict[str, object]] = dict,
    examples: int = 5,
) -> FileResult:
    """Read a log's (decompressed) content from ``start`` and commit what is
    new as one piece. ``finished``: the last line may lack its newline.
    ``describe``: more ledger fields, asked for once everything is read."""
    start = start or Start()
    entries = dataset.ledger()
    known = _checkpoints(entries, start.offset)
    offsets = sorted(known)
    digest = start.digest
    offset = piece_start = start.offset
    notes = list(start.notes)
    tokens = _Tokens(dataset)
    totals = _Totals()
    piece: Piece = dataset.new_piece()
    writer = PieceWriter(piece, ROWS_PER_FILE)
    waiting = False  # a last line without its newline is left for later

    def take(parsed: Chunk) -> None:
        totals.lines += parsed.lines
        totals.malformed += parsed.malformed
        totals.conda_requests += len(parsed.conda)
        totals.examples.extend(
            parsed.malformed_examples[: examples - len(totals.examples)]
        )
        if parsed.first_timestamp is not None and parsed.last_timestamp is not None:
            first, last = parsed.first_timestamp, parsed.last_timestamp
            totals.first = first if totals.first is None else min(totals.first, first)
            totals.last = last if totals.last is None else max(totals.last, last)
        totals.hours.update(parsed.hours)
        writer.add(_stored(parsed.conda))

    # Parse blocks in worker threads (polars runs without the GIL) while this
    # thread reads, hashes and writes: at most PARSERS + QUEUED + 1 blocks
    # are in memory at once, and they are taken in order. The QUEUED blocks
    # read ahead let a parser start its next block as soon as it is done,
    # instead of idling while this thread takes a result, reads and hashes.
    in_flight: collections.deque[Future[Chunk]] = collections.deque()

    def parse(block: bytes) -> None:
        in_flight.append(parser.submit(parse_chunk, block, examples, tokens.agents))
        if len(in_flight) >= PARSERS + QUEUED:
            take(in_flight.popleft().result())

    try:
        with ThreadPoolExecutor(max_workers=PARSERS) as parser:
            for block in blocks(stream, CHUNK_BYTES):
                if not block.endswith(b"\n") and not finished:
                    waiting = True
                    notes.append(
                        "its last line has no newline yet: left for the next run"
                    )
                    break
                end = offset + len(block)
                inside = [point for point in offsets if offset < point <= end]
                if not inside:
                    # Handed to a parser first, hashed after (sha256 releases
                    # the GIL): a parser never waits for its block's hash.
                    parse(block)
                    digest.update(block)
                    offset = end
                    continue
                matched = None
                done = 0
                # Known checkpoints inside this block: hash up to each.
                for point in inside:
                    cut = point - offset
                    digest.update(block[done:cut])
                    done = cut
                    if digest.hexdigest() in known[point] and (
                        block[cut - 1 : cut] == b"\n" or cut == len(block)
                    ):
                        matched = cut
                digest.update(block[done:] if done else block)
                if matched is not None:
                    # Everything up to here was read before: start over after it.
                    for future in in_flight:
                        future.result()
                    in_flight.clear()
                    writer.discard()
                    dataset.abandon(piece)
                    piece = dataset.new_piece()
                    writer = PieceWriter(piece, ROWS_PER_FILE)
                    totals = _Totals()
                    piece_start = offset + matched
                    block = block[matched:]
                offset = end
                if block:
                    parse(block)
            while in_flight:
                take(in_flight.popleft().result())
        if offset == piece_start:
            writer.discard()
            dataset.abandon(piece)
            status = (
                "skipped: nothing new since it was last read"
                if start.offset and piece_start == start.offset
                else "skipped: nothing new yet"  # its one line is unfinished
                if offset == 0 and waiting
                else "skipped: empty"
                if offset == 0
                else "skipped: already ingested"
            )
            return FileResult(name, status, notes=tuple(notes))
        writer.close()
        more = describe()
        dataset.commit(
            piece,
            name=name,
            lines=totals.lines,
            malformed=totals.malformed,
            conda_requests=totals.conda_requests,
            hours=hour_ranges(totals.hours),
            first_ts=totals.first,
            last_ts=totals.last,
            path=path,
            start=piece_start,
            end=offset,
            content_sha256=digest.hexdigest(),
            **more,
        )
    except BaseException:
        writer.discard()
        dataset.abandon(piece)
        raise
    if piece_start and piece_start != start.offset:
        notes.append(
            f"its first {piece_start:,} bytes were read before (as another file)"
        )
    return FileResult(
        name,
        "ingested",
        totals.lines,
        totals.malformed,
        totals.conda_requests,
        int(more.get("bytes", 0)),  # type: ignore[call-overload]
        tuple(totals.examples),
        tuple(notes),
    )


def ingest_path(
    dataset: RawDataset, path: str, progress: Progress = _no_progress
) -> FileResult:
    """Ingest one file (or ``-`` for standard input); never raises for bad input."""
    try:
        if path == "-":
            reader = _CountingReader(sys.stdin.buffer, progress)
            buffered = io.BufferedReader(reader, buffer_size=1024 * 1024)
            unread = unread_compression(buffered)
            if unread:
                return FileResult("<stdin>", unread)
            magic = compression_of(buffered)
            stream = MAGIC[magic](buffered) if magic else buffered
            return ingest_stream(
                dataset, "<stdin>", stream, describe=lambda: {"bytes": reader.count}
            )
        key = quick_key(path)
        entries = dataset.ledger()
        if key is not None and any(e.quick_key == key for e in entries):
            return FileResult(path, "skipped: already ingested")
        with open(path, "rb") as raw:
            unread = unread_compression(raw)  # type: ignore[arg-type]
            if unread:
                return FileResult(path, unread)
            magic = compression_of(raw)  # type: ignore[arg-type]
            start = Start()
            if magic is None and os.path.isfile(path):
                start = plan_plain_file(path, raw, entries)
                raw.seek(start.offset)
                progress(start.offset)
            reader = _CountingReader(raw, progress)
            stream: BinaryIO = (
                MAGIC[magic](io.BufferedReader(reader, buffer_size=1024 * 1024))
                if magic
                else reader  # type: ignore[assignment]
            )

            def describe() -> dict[str, object]:
                # how the file looked as read, to skip it cheaply next time
                size = reader.count + (start.offset if magic is None else 0)
                return {"bytes": size, "quick_key": quick_key(path, size)}

            return ingest_stream(
                dataset,
                path,
                stream,
                start=start,
                finished=magic is not None,
                path=os.path.abspath(path),
                describe=describe,
            )
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as error:
        # zlib.error: a gzip file whose deflate stream is corrupt
        return FileResult(path, f"skipped: {error}")
