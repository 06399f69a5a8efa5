"""The private raw database: one SQLite file with the requests, the ledger and
the hashing key.

* No IP address is ever stored (the parser never captures it).
* Tokens are stored only as keyed hashes (64-bit keyed BLAKE2b, the random
  key kept in the database), so the database never holds a token that could
  be sent back to a server, and hashes from two databases cannot be joined.
* Requests are stored in batches, one per chunk of a file: a compressed
  Parquet table in a SQLite row (columnar and dictionary-encoded, which is
  what makes ingest fast); ``requests()`` reads them back as one table.
* Each file is ingested in one SQLite transaction, and recorded in the ledger
  in the same transaction: a file is either wholly in, or not at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sqlite3
import time
from collections.abc import Iterator
from typing import NamedTuple

import polars as pl

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
    fingerprint TEXT PRIMARY KEY,   -- sha256 of the file's content (decompressed)
    quick_key TEXT,                 -- size and sha256 of its ends: skip re-reads
    name TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    malformed INTEGER NOT NULL,
    conda_requests INTEGER NOT NULL,
    first_ts INTEGER,               -- earliest and latest timestamp of any valid line
    last_ts INTEGER,
    ingested_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_quick_key ON ledger (quick_key);
CREATE TABLE IF NOT EXISTS request_batches (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,      -- the ledger entry of the file it came from
    first_day INTEGER NOT NULL,     -- days since 1970-01-01, UTC
    last_day INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    parquet BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS request_batches_days ON request_batches (first_day, last_day);
"""

# The columns of a stored request batch.
STORED = {
    "day": pl.Int32,
    "status": pl.Int16,
    "channel": pl.String,
    "subdir": pl.String,
    "kind": pl.String,
    "package": pl.String,
    "version": pl.String,
    "conda_version": pl.String,
    "python": pl.String,
    "os": pl.String,
    "distribution": pl.String,
    "solver": pl.String,
    "aau_version": pl.String,
    "client": pl.Int64,  # keyed hashes; 0 when the token was not sent
    "session": pl.Int64,
    "environment": pl.Int64,
    "admin": pl.String,  # keyed hashes of i/ o/ m/ tokens, space separated
}


class LedgerEntry(NamedTuple):
    fingerprint: str
    quick_key: str | None
    name: str
    bytes: int
    lines: int
    malformed: int
    conda_requests: int
    first_ts: int | None
    last_ts: int | None


class RawDatabase:
    def __init__(self, path: str) -> None:
        self.path = path
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.executescript(SCHEMA)
        self.key = self._key()

    def close(self) -> None:
        self.connection.close()

    def _key(self) -> bytes:
        query = "SELECT value FROM meta WHERE name = 'token_key'"
        row = self.connection.execute(query).fetchone()
        if row is None:
            self.connection.execute(
                "INSERT OR IGNORE INTO meta VALUES ('token_key', ?)",
                (os.urandom(32).hex(),),
            )
            row = self.connection.execute(query).fetchone()
        return bytes.fromhex(row[0])

    def hash_token(self, kind: str, value: str) -> int:
        """The keyed hash stored in place of a token: keyed BLAKE2b, 64 bits
        (a signed integer, never 0). Without the key it cannot be recomputed
        from a token, and no token can be recovered from it."""
        digest = hashlib.blake2b(
            f"{kind}/{value}".encode(), key=self.key, digest_size=8
        )
        return int.from_bytes(digest.digest(), "big", signed=True) or 1

    def add_batch(self, fingerprint: str, batch: pl.DataFrame) -> None:
        if batch.is_empty():
            return
        buffer = io.BytesIO()
        batch.select(
            pl.col(name).cast(kind) for name, kind in STORED.items()
        ).write_parquet(buffer, compression="zstd", statistics=False)
        days = batch.get_column("day")
        self.connection.execute(
            "INSERT INTO request_batches (fingerprint, first_day, last_day, rows, parquet) "
            "VALUES (?, ?, ?, ?, ?)",
            (fingerprint, days.min(), days.max(), len(batch), buffer.getvalue()),
        )

    def requests(self, first_day: int, end_day: int) -> pl.DataFrame:
        """Every stored request of the days [first_day, end_day)."""
        rows = self.connection.execute(
            "SELECT parquet FROM request_batches WHERE last_day >= ? AND first_day < ?",
            (first_day, end_day),
        )
        frames = [pl.read_parquet(io.BytesIO(blob)) for (blob,) in rows]
        if not frames:
            return pl.DataFrame(schema=STORED)
        table = pl.concat(frames)
        return table.filter((pl.col("day") >= first_day) & (pl.col("day") < end_day))

    def first_days(self) -> dict[int, int]:
        """Each client's first day in the whole database."""
        frames = [
            pl.read_parquet(io.BytesIO(blob), columns=["day", "client"])
            .filter(pl.col("client") != 0)
            .group_by("client")
            .agg(pl.col("day").min())
            for (blob,) in self.connection.execute(
                "SELECT parquet FROM request_batches"
            )
        ]
        if not frames:
            return {}
        first = pl.concat(frames).group_by("client").agg(pl.col("day").min())
        return dict(first.iter_rows())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One file, all or nothing. A killed process leaves no trace of it."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def knows_quick_key(self, quick_key: str) -> bool:
        query = "SELECT 1 FROM ledger WHERE quick_key = ?"
        return self.connection.execute(query, (quick_key,)).fetchone() is not None

    def knows_fingerprint(self, fingerprint: str) -> bool:
        query = "SELECT 1 FROM ledger WHERE fingerprint = ?"
        return self.connection.execute(query, (fingerprint,)).fetchone() is not None

    def record(self, entry: LedgerEntry) -> None:
        self.connection.execute(
            "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*entry, int(time.time())),
        )

    def ledger(self) -> list[LedgerEntry]:
        rows = self.connection.execute(
            "SELECT fingerprint, quick_key, name, bytes, lines, malformed, "
            "conda_requests, first_ts, last_ts FROM ledger ORDER BY first_ts"
        )
        return [LedgerEntry(*row) for row in rows]
