"""The private raw dataset: a directory of Parquet files, a ledger and a key.

Layout (the contract both engines write and read)::

    RAW/key                                  the hashing key (64 hex chars)
    RAW/ledger/<piece>.json                  one entry per committed piece
    RAW/requests/date=YYYY-MM-DD/<piece>-<name>.parquet
    RAW/_staging/<piece>/date=YYYY-MM-DD/<name>.parquet   (not yet committed)

* No IP address is ever stored (the parser never captures it); tokens only as
  keyed hashes (``hash_token``), so the dataset never holds a token that could
  be sent to a server, and hashes of two datasets cannot be joined.
* Plain Parquet with a hive partition by UTC day: Spark, DuckDB and polars
  read ``RAW/requests/**/*.parquet`` with no code of ours.
* A piece (one ingested file, or the new part of a growing one) is written to
  ``_staging`` first; the appearance of its ledger entry is its commit, and
  the files are then moved into ``requests/``. Opening for writing finishes
  interrupted moves and deletes what no ledger entry lists, so a killed run
  leaves nothing visible and nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import polars as pl

FORMAT = 1
KEY_FILE = "key"
LOCK_FILE = "lock"
LEDGER = "ledger"
REQUESTS = "requests"
STAGING = "_staging"
EPOCH = date(1970, 1, 1)
KEY_RE = re.compile(r"^[0-9a-f]{64}\n$")
PIECE_RE = re.compile(r"^[0-9a-f]{32}$")
PARTITION_RE = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")

# The text fields a request is stored with, in the order of ``COLUMNS``.
TEXT_FIELDS = (
    "channel",
    "subdir",
    "kind",  # "repodata", "package" or "other"
    "package",
    "version",
    "conda_version",
    "python",
    "os",
    "distribution",
    "solver",
    "aau_version",
)
# The columns of every Parquet file (``date`` is only the partition).
COLUMNS: dict[str, pl.DataType] = {
    "day": pl.Int32(),  # days since 1970-01-01, UTC
    "status": pl.Int16(),
    **{name: pl.String() for name in TEXT_FIELDS},
    "client": pl.Int64(),  # keyed hashes; 0 when the token was not sent
    "session": pl.Int64(),
    "environment": pl.Int64(),
    "admin": pl.String(),  # keyed hashes of i/ o/ m/ tokens, space separated
}
REQUIRED_FIELDS = ("name", "lines", "malformed", "conda_requests", "hours")


class DatasetError(Exception):
    """A raw dataset that cannot be used as asked: the message is one line."""


@dataclasses.dataclass(frozen=True)
class LedgerEntry:
    """One committed piece. ``hours``: inclusive ranges of hour numbers
    (unix time // 3600) in which the piece has a line with a valid time."""

    piece: str
    engine: str
    name: str
    lines: int
    malformed: int
    conda_requests: int
    files: tuple[str, ...]
    ingested_at: int
    hours: tuple[tuple[int, int], ...]
    first_ts: int | None = None
    last_ts: int | None = None
    # Where the piece came from, for recognising a log seen before:
    path: str | None = None  # absolute path of a local file
    start: int | None = None  # byte offsets into the (decompressed) content
    end: int | None = None
    content_sha256: str | None = None  # of the content's bytes [0, end)
    quick_key: str | None = None  # size and hash of the ends of the file as read
    bytes: int = 0  # bytes read (compressed, if it was)
    format: int = FORMAT
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self)
        extra = fields.pop("extra")
        fields["files"] = list(self.files)
        fields["hours"] = [list(pair) for pair in self.hours]
        return {**extra, **fields}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerEntry:
        if not isinstance(data, dict):  # valid JSON, but not an entry
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        files = values["files"]
        if not isinstance(files, list) or not all(
            isinstance(f, str) and f.count("/") == 2 for f in files
        ):
            raise ValueError("'files' is not a list of requests/date=…/… paths")
        values["files"] = tuple(files)
        values["hours"] = tuple((int(a), int(b)) for a, b in values["hours"])
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra)


def hour_ranges(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted inclusive ranges covering exactly the given hour numbers."""
    ranges: list[list[int]] = []
    for hour in sorted(set(hours)):
        if ranges and hour == ranges[-1][1] + 1:
            ranges[-1][1] = hour
        else:
            ranges.append([hour, hour])
    return [(a, b) for a, b in ranges]


def day_of(partition: str) -> int:
    """``YYYY-MM-DD`` -> days since 1970-01-01."""
    return (date.fromisoformat(partition) - EPOCH).days


def partition_of(day: int) -> str:
    return "date=" + (EPOCH + timedelta(days=day)).isoformat()


def keyed_hash(key_hex: str, kind: str, value: str) -> int:
    """The keyed hash of a token (contract: the same in every engine)."""
    digest = hashlib.sha256((key_hex + kind + "/" + value).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True) or 1


# The tokens of a conda request stored as keyed hashes: column -> kind.
TOKEN_KINDS = {"client": "c", "session": "s", "environment": "e"}


def keyed_digests(key_hex: str, kind: str, values: Iterable[bytes]) -> list[bytes]:
    """The first 8 bytes of ``keyed_hash``'s sha256 for many values of one
    kind (UTF-8 bytes), the key's part hashed once: read big-endian and
    signed, 0 made 1, they are the stored hashes."""
    copy = hashlib.sha256((key_hex + kind + "/").encode()).copy
    digests = []
    append = digests.append
    for value in values:
        digest = copy()
        digest.update(value)
        append(digest.digest()[:8])
    return digests


def _fsync_dir(path: str) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _fsync_file(path: str) -> None:
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


@dataclasses.dataclass(frozen=True)
class Piece:
    """A piece being written: its files go under ``staging``."""

    id: str
    staging: str


def _first_line(error: BaseException) -> str:
    """An engine's error in one line (polars' run to several)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class RawDataset:
    """A raw dataset directory. ``write=True`` creates it when missing (its
    parent must exist) or empty, takes the writers' lock and cleans up after
    any killed writer; otherwise it must already exist."""

    def __init__(self, path: str, *, write: bool = False) -> None:
        self.path = path
        self._lock: int | None = None
        self._entries: list[LedgerEntry] | None = None  # while we hold the lock
        if write:
            self._create()
        self.key_hex = self._read_key()
        if write:
            self._take_lock()
            try:
                for name in (LEDGER, REQUESTS, STAGING):
                    os.makedirs(os.path.join(path, name), exist_ok=True)
                self.recover()
            except OSError as error:
                self.close()
                raise DatasetError(f"{path}: cannot write: {error}") from None

    # ---- opening -------------------------------------------------------

    def _create(self) -> None:
        path = self.path
        if os.path.isfile(path) or (os.path.exists(path) and not os.path.isdir(path)):
            raise DatasetError(
                f"{path} is a file, not a raw dataset directory"
                " (an old raw.db? ingest the logs into a new directory)"
            )
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise DatasetError(f"cannot create {path}: {parent} does not exist")
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        except OSError as error:
            raise DatasetError(f"cannot create {path}: {error.strerror}") from None
        key = os.path.join(path, KEY_FILE)
        if os.path.lexists(key):
            return
        try:
            entries = os.listdir(path)
        except OSError as error:
            raise DatasetError(f"{path}: {error.strerror}") from None
        if entries:
            raise DatasetError(
                f"{path} is not a raw dataset (no key file) and not empty: "
                "name a new or empty directory"
            )
        # Write the key under a temporary name, then link it into place:
        # exclusive like O_EXCL, and nobody ever sees a half-written key.
        temporary = os.path.join(path, f".key-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as stream:
                stream.write(os.urandom(32).hex() + "\n")
                stream.flush()
                os.fsync(stream.fileno())
            with contextlib.suppress(FileExistsError):  # another writer won
                os.link(temporary, key)
            _fsync_dir(path)
        except OSError as error:
            raise DatasetError(f"cannot create {path}: {error.strerror}") from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def _read_key(self) -> str:
        path = self.path
        if not os.path.exists(path):
            raise DatasetError(
                f"no raw dataset at {path}; run 'aau-stats ingest' first"
            )
        if not os.path.isdir(path):
            raise DatasetError(f"{path} is a file, not a raw dataset directory")
        try:
            with open(os.path.join(path, KEY_FILE), "rb") as stream:
                text = stream.read(100).decode("ascii", "replace")
        except FileNotFoundError:
            raise DatasetError(
                f"{path} is not a raw dataset (it has no key file)"
            ) from None
        except OSError as error:
            raise DatasetError(
                f"{path}: cannot read the key: {error.strerror}"
            ) from None
        if not KEY_RE.match(text):
            raise DatasetError(f"{path}/key is damaged: not a raw dataset key")
        return text.strip()

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            return
        try:
            self._lock = os.open(
                os.path.join(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600
            )
        except OSError as error:
            raise DatasetError(f"{self.path}: cannot write: {error.strerror}") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock)
            self._lock = None
            raise DatasetError(
                f"{self.path}: another process is writing to it; try again later"
            ) from None

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # releases the lock
            self._lock = None
            self._entries = None

    def __enter__(self) -> RawDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the key -------------------------------------------------------

    def hash_token(self, kind: str, value: str) -> int:
        """The keyed hash stored in place of a token (a signed 64-bit integer,
        never 0). Without the key it cannot be recomputed from a token, and no
        token can be recovered from it."""
        return keyed_hash(self.key_hex, kind, value)

    def hash_tokens(self, kind: str, values: Iterable[str]) -> dict[str, int]:
        """``hash_token`` for many values of one kind at once."""
        values = list(values)
        digests = keyed_digests(self.key_hex, kind, [v.encode() for v in values])
        return {
            value: int.from_bytes(digest, "big", signed=True) or 1
            for value, digest in zip(values, digests, strict=True)
        }

    # ---- the ledger ----------------------------------------------------

    def _ledger_dir(self) -> str:
        return os.path.join(self.path, LEDGER)

    def ledger(self) -> list[LedgerEntry]:
        """Every committed piece, oldest first."""
        if self._entries is not None:  # nobody else writes while we hold the lock
            return list(self._entries)
        return self._read_ledger()

    def _read_ledger(self) -> list[LedgerEntry]:
        directory = self._ledger_dir()
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        entries = []
        for name in names:
            piece = name.removesuffix(".json")
            if not name.endswith(".json") or not PIECE_RE.match(piece):
                continue
            try:
                with open(os.path.join(directory, name), encoding="utf-8") as stream:
                    entry = LedgerEntry.from_json(json.load(stream))
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise DatasetError(f"{directory}/{name} is damaged: {error}") from None
            entries.append(entry)
        return sorted(entries, key=lambda e: (e.ingested_at, e.piece))

    def files(self) -> list[str]:
        """Absolute paths of every committed Parquet file."""
        return [path for _, path in self._committed(self.ledger())]

    def _committed(self, entries: list[LedgerEntry]) -> Iterator[tuple[str, str]]:
        """(partition, absolute path) of each file of the entries. A file whose
        move out of staging has not happened yet is read where it is."""
        for entry in entries:
            for relative in entry.files:
                final = os.path.join(self.path, relative)
                partition = relative.split("/")[1]
                if not os.path.exists(final):
                    staged = self._staged_path(entry.piece, relative)
                    if os.path.exists(staged):
                        final = staged
                    elif not os.path.exists(final):
                        raise DatasetError(
                            f"{self.path}: {relative} of the ledger is missing"
                        )
                if not os.path.isfile(final):  # a directory reads as no rows
                    raise DatasetError(
                        f"{self.path}: {relative} of the ledger is not a file"
                    )
                yield partition, final

    def _staged_path(self, piece: str, relative: str) -> str:
        _, partition, name = relative.split("/")
        return os.path.join(
            self.path, STAGING, piece, partition, name.removeprefix(piece + "-")
        )

    # ---- reading -------------------------------------------------------

    def _read(self, paths: list[str], columns: list[str] | None) -> pl.DataFrame:
        schema = {c: t for c, t in COLUMNS.items() if columns is None or c in columns}
        if not paths:
            return pl.DataFrame(schema=schema)
        frame = pl.scan_parquet(paths, hive_partitioning=False)
        try:
            return frame.select(
                pl.col(name).cast(kind) for name, kind in schema.items()
            ).collect()
        except FileNotFoundError:
            raise  # a writer moved it: ``requests`` looks again
        except (pl.exceptions.PolarsError, OSError) as error:
            found = self.unreadable_file(paths)
            raise DatasetError(
                found or f"{self.path} cannot be read: {_first_line(error)}"
            ) from None

    def unreadable_file(self, paths: list[str] | None = None) -> str | None:
        """One line naming the first committed Parquet file whose footer
        cannot be read, or None: what a reading engine's error names only in
        part (polars), or among pages of Java (Spark)."""
        for path in self.files() if paths is None else paths:
            try:
                pl.read_parquet_schema(path)
            except (pl.exceptions.PolarsError, OSError) as error:
                return f"{path} cannot be read: {_first_line(error)}"
        return None

    def requests(
        self, first_day: int, end_day: int, columns: list[str] | None = None
    ) -> pl.DataFrame:
        """Every stored request of the days [first_day, end_day): all the
        columns, or those named (``day`` always)."""
        if columns is not None and "day" not in columns:
            columns = ["day", *columns]
        for attempt in range(2):  # a writer may move a file while we look
            paths = [
                path
                for partition, path in self._committed(self.ledger())
                if first_day <= day_of(partition.removeprefix("date=")) < end_day
            ]
            try:
                frame = self._read(paths, columns)
                break
            except FileNotFoundError:
                if attempt:
                    raise
        return frame.filter((pl.col("day") >= first_day) & (pl.col("day") < end_day))

    # ---- writing: the commit protocol ----------------------------------

    def new_piece(self) -> Piece:
        """A fresh piece id and its (created) staging directory."""
        self._check_writable()
        piece = os.urandom(16).hex()
        staging = os.path.join(self.path, STAGING, piece)
        os.makedirs(staging)
        return Piece(piece, staging)

    def _check_writable(self) -> None:
        if self._lock is None and os.name == "posix":
            raise DatasetError(f"{self.path}: opened for reading only")

    def staged_files(self, piece: Piece) -> list[tuple[str, str]]:
        """(partition, name) of the Parquet files staged for the piece: the
        hidden and marker files of writers (``_SUCCESS``, ``.crc``) are not."""
        found = []
        for partition in sorted(os.listdir(piece.staging)):
            directory = os.path.join(piece.staging, partition)
            if not PARTITION_RE.match(partition) or not os.path.isdir(directory):
                continue
            for name in sorted(os.listdir(directory)):
                if name.endswith(".parquet") and not name.startswith(("_", ".")):
                    found.append((partition, name))
        return found

    def commit(self, piece: Piece, **fields: Any) -> LedgerEntry:
        """Commit the staged files of a piece with its ledger fields."""
        self._check_writable()
        missing = [name for name in REQUIRED_FIELDS if name not in fields]
        if missing:
            raise ValueError(f"ledger fields missing: {missing}")
        staged = self.staged_files(piece)
        for partition, name in staged:
            _fsync_file(os.path.join(piece.staging, partition, name))
        files = tuple(
            f"{REQUESTS}/{partition}/{piece.id}-{name}" for partition, name in staged
        )
        fields.setdefault("engine", "local")
        fields.setdefault("ingested_at", int(time.time()))
        fields["hours"] = tuple(tuple(pair) for pair in fields["hours"])
        known = {f.name for f in dataclasses.fields(LedgerEntry)}
        extra = {k: v for k, v in fields.items() if k not in known}
        entry = LedgerEntry(
            piece=piece.id,
            files=files,
            extra=extra,
            **{k: v for k, v in fields.items() if k in known},
        )
        directory = self._ledger_dir()
        temporary = os.path.join(directory, f".{piece.id}.json.tmp")
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(entry.to_json(), stream, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, os.path.join(directory, f"{piece.id}.json"))
        _fsync_dir(directory)  # the commit
        if self._entries is not None:
            self._entries.append(entry)
        self._roll_forward(entry)
        return entry

    def abandon(self, piece: Piece) -> None:
        """Forget an uncommitted piece."""
        shutil.rmtree(piece.staging, ignore_errors=True)

    def _roll_forward(self, entry: LedgerEntry) -> None:
        """Move a committed piece's files from staging into requests/."""
        for relative in entry.files:
            final = os.path.join(self.path, relative)
            staged = self._staged_path(entry.piece, relative)
            if os.path.exists(staged) and not os.path.exists(final):
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(staged, final)
        shutil.rmtree(os.path.join(self.path, STAGING, entry.piece), ignore_errors=True)

    def recover(self) -> None:
        """After a killed writer: finish committed moves, delete the rest."""
        self._check_writable()
        entries = self._read_ledger()
        for entry in entries:
            if os.path.exists(os.path.join(self.path, STAGING, entry.piece)):
                self._roll_forward(entry)
        staging = os.path.join(self.path, STAGING)
        for name in os.listdir(staging):
            shutil.rmtree(os.path.join(staging, name), ignore_errors=True)
        for name in os.listdir(self._ledger_dir()):
            if name.endswith(".tmp"):
                os.unlink(os.path.join(self._ledger_dir(), name))
        listed = {os.path.join(self.path, f) for e in entries for f in e.files}
        requests = os.path.join(self.path, REQUESTS)
        for root, _, names in os.walk(requests):
            for name in names:
                path = os.path.join(root, name)
                if path not in listed:
                    os.unlink(path)
        self._entries = entries


CLOSING_WRITERS = 2
MIN_HALF_ROWS = 10_000  # a day's last rows are split in two from twice this


class PieceWriter:
    """Writes a piece's rows into its staging directory, one partition per
    UTC day, in files of up to ``rows_per_file`` rows: memory stays bounded
    whatever the size of the log. A file is written in a thread of its own
    (polars writes without the GIL) while the caller goes on; one at a time.
    ``close`` (or ``discard``, before abandoning the piece) waits for it."""

    def __init__(self, piece: Piece, rows_per_file: int = 1_000_000) -> None:
        self.piece = piece
        self.rows_per_file = rows_per_file
        self.buffers: dict[int, list[pl.DataFrame]] = {}
        self.buffered = 0
        self.written = 0
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def add(self, rows: pl.DataFrame) -> None:
        """Rows with (at least) the dataset's columns."""
        if rows.is_empty():
            return
        rows = rows.select(pl.col(name).cast(kind) for name, kind in COLUMNS.items())
        days = rows.get_column("day")
        first, last = int(days.min()), int(days.max())  # type: ignore[arg-type]
        if first == last:  # most blocks of a log hold one day: no copy
            self.buffers.setdefault(first, []).append(rows)
        else:
            for (day,), part in rows.partition_by("day", as_dict=True).items():
                self.buffers.setdefault(int(day), []).append(part)  # type: ignore[call-overload]
        self.buffered += len(rows)
        # A log is written in time order: rows of only later days mean the
        # days before them are (nearly always) over. They are written now,
        # beside the parsing, instead of at ``close``, when the reading is
        # over and nothing else is left for the cores to do; a late row of
        # such a day just goes to another file.
        for day in sorted(day for day in self.buffers if day < first):
            self._flush(day)
        while self.buffered >= self.rows_per_file:
            self._flush(max(self.buffers, key=lambda d: sum(map(len, self.buffers[d]))))

    def _take(self, day: int) -> tuple[list[pl.DataFrame], str]:
        """A day's buffered rows, and the path of the file they go to."""
        parts = self.buffers.pop(day)
        self.buffered -= sum(map(len, parts))
        directory = os.path.join(self.piece.staging, partition_of(day))
        path = os.path.join(directory, f"part-{self.written:05d}.parquet")
        self.written += 1
        return parts, path

    def _flush(self, day: int) -> None:
        parts, path = self._take(day)
        self._wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending = self._pool.submit(_write_file, parts, path)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def close(self) -> None:
        """Write what is still buffered and wait. These last files are
        written two at a time, beside the one still being written (the
        last block's rows often fill one), a single day's rows in two
        halves: the reading is over, so the caller has nothing else for
        the cores to do."""
        try:
            days = sorted(self.buffers)
            files = [self._take(day) for day in days]
            if len(files) == 1:  # one day left: in two files, written together
                files = self._halves(days[0], *files[0])
            with ThreadPoolExecutor(max_workers=CLOSING_WRITERS) as pool:
                writing = [pool.submit(_write_file, *file) for file in files]
                self._wait()
                for done in writing:
                    done.result()
        finally:
            self._stop()

    def _halves(
        self, day: int, parts: list[pl.DataFrame], path: str
    ) -> list[tuple[list[pl.DataFrame], str]]:
        """A day's last rows as two files of about the same size, or as one
        when they are few."""
        rows = pl.concat(parts, rechunk=False)
        if len(rows) < 2 * MIN_HALF_ROWS:
            return [(parts, path)]
        half = len(rows) // 2
        directory = os.path.dirname(path)
        other = os.path.join(directory, f"part-{self.written:05d}.parquet")
        self.written += 1
        return [([rows.slice(0, half)], path), ([rows.slice(half)], other)]

    def discard(self) -> None:
        """Drop what is buffered and wait for a write under way (its error,
        if any, does not matter: the piece is being abandoned)."""
        self.buffers.clear()
        self.buffered = 0
        with contextlib.suppress(Exception):
            self._wait()
        self._stop()


def _write_file(parts: list[pl.DataFrame], path: str) -> None:
    """zstd at level 1: files a few percent larger than at polars' default
    level, written in about 15% less time (most of a file's cost is encoding
    the text columns, not compressing them). No column statistics: a file
    holds one day (its partition says which) and readers select files by
    their partition, so min/max/null counts would never prune anything;
    leaving them out saves about 8% of the writing."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        pl.concat(parts, rechunk=True).write_parquet(
            path, compression="zstd", compression_level=1, statistics=False
        )
    except pl.exceptions.ComputeError as error:
        # polars reports the file system's refusal (a full disk, a quota) as
        # its own error: made an OSError again, which ingest reports per file
        found = re.search(r"\(os error (\d+)\)", str(error))
        if found is None:
            raise
        code = int(found[1])
        raise OSError(code, os.strerror(code), path) from None
