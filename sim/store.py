"""The results store: every ensemble, sweep, sensitivity analysis or game, with all its per-run
rows, in one embedded DuckDB file (``negsim-results.duckdb`` in the working directory unless
``NEGSIM_STORE`` or the caller names another).

Tables (schema version ``SCHEMA_VERSION``)::

    meta(key VARCHAR PRIMARY KEY, value VARCHAR)          -- ('schema_version', '1')
    experiments(id BIGINT PRIMARY KEY,                    -- from SEQUENCE experiment_ids
                kind VARCHAR,                             -- ensemble | sweep | sensitivity | game
                created TIMESTAMP,                        -- UTC, when saved
                started TIMESTAMP, elapsed_s DOUBLE,      -- UTC start of the command, duration
                scenario_name VARCHAR, scenario_sha256 VARCHAR,
                scenario_text VARCHAR,                    -- the full resolved scenario YAML
                negsim_version VARCHAR, seed HUGEINT,
                runs BIGINT,                              -- number of rows saved
                settings VARCHAR, summary VARCHAR)        -- JSON text
    runs(experiment_id BIGINT, pos BIGINT,                -- pos: position in the saved list
         "index" BIGINT, seed BIGINT, status VARCHAR, outcome_class VARCHAR, "round" BIGINT,
         meetings BIGINT, deal BIGINT, error VARCHAR, elapsed_ms DOUBLE,
         extra VARCHAR,                                   -- JSON object: every other field
         absent VARCHAR[],                                -- fixed fields the row did not have
         PRIMARY KEY (experiment_id, pos))

Class sessions (:mod:`sim.classroom`) have three tables of their own; their games are not
experiments (so ``negsim history`` is not flooded by a class's games)::

    sessions(code VARCHAR PRIMARY KEY,                    -- e.g. 'K7QX2M'
             created TIMESTAMP,                           -- UTC
             scenario_name VARCHAR, scenario_sha256 VARCHAR,
             scenario_text VARCHAR,                       -- the full resolved scenario YAML
             negsim_version VARCHAR,
             parties VARCHAR,                             -- JSON list of party ids, in order
             side_rule VARCHAR,                           -- alternate | random | a party id
             seed_policy VARCHAR,                         -- class | student
             seed BIGINT)                                 -- the class seed, or NULL
    seats(session_code VARCHAR, name_key VARCHAR,         -- name_key: the name, case-folded
          name VARCHAR,                                   -- the display name as first given
          number BIGINT,                                  -- join order, from 1
          side VARCHAR, seed BIGINT, joined TIMESTAMP,
          PRIMARY KEY (session_code, name_key), UNIQUE (session_code, number))
    games(id VARCHAR PRIMARY KEY,                         -- hash of session, student, moves
          session_code VARCHAR, name_key VARCHAR,         -- the seat that played it
          side VARCHAR, seed BIGINT,
          attempt BIGINT,                                 -- the seat's 1st, 2nd, ... game
          created TIMESTAMP,                              -- UTC, when saved
          status VARCHAR, outcome_class VARCHAR, "round" BIGINT,
          result VARCHAR,                                 -- the full RunResult JSON
          UNIQUE (session_code, name_key, attempt))

These tables were added without a new schema version: any write creates them when missing
(``CREATE TABLE IF NOT EXISTS``), and reading a store without them reads no sessions. Taking a
seat and saving a game are each one transaction that first reads what is there: the same name
gets its seat back, and a game whose id is already stored is not stored again (the primary key
would refuse it anyway).

A row is stored losslessly: each fixed field goes to its typed column when its value has that
column's type (``None`` is NULL); any other value of a fixed field (a float round, a NaN
``elapsed_ms``, a seed beyond 64 bits, ...) and every other field (``utility_<party>``,
``approval_<party>``, ``support_<party>``, ``ratified_<party>``, ``parameters``, a sweep's
``point``, ...) go to the JSON object ``extra``; fixed fields missing from the row (a failed run
has no ``outcome_class``) are listed in ``absent``. ``Store.rows`` puts the row back together,
dict-equal to what was saved. Values must be JSON-like (None, bool, int, float, str, lists, dicts
with str keys; numpy scalars and arrays are converted); tuples come back as lists.
Non-finite floats are kept (``extra`` is Python's JSON with ``NaN``/``Infinity``), so use
``json.loads`` rather than DuckDB's JSON functions on rows that have them.

Concurrency. DuckDB lets one process at a time open a database file for writing (and readers
only while no writer holds it). A ``Store`` therefore holds no connection: each ``save`` and each
read opens the file, does its work (a save in ONE transaction: the experiment and all its rows,
or nothing) and closes it. When another process holds the file, opening raises DuckDB's lock
error; the store then retries with exponential backoff and full jitter, for at most ``timeout``
seconds (60 by default), and then raises ``StoreBusyError`` naming the file. Two processes
saving at once thus serialise; neither experiment is lost, and the ids (from a sequence) are
unique. Within one process (the dashboard serves every user from threads of one process) DuckDB
shares one database instance between connections, so its file lock does not separate threads,
and it refuses a read-only and a read-write connection to one file at the same time: every
connection a ``Store`` opens is therefore also held under a per-file lock of the process (any
``Store`` object on the same path shares it; threads get it first come, first served). Across
processes, DuckDB's lock alone proved not enough under load (with 30 processes writing at once,
one failed reading the file: "Could not read enough bytes from file"): so every connection is also
held under ``flock`` on a lock file beside the store (``.<store name>.lock``, left in place;
shared for reading, exclusive for writing), from before DuckDB opens the file until after it
has closed it. All of these waits share the one ``timeout``.
A process killed during a save leaves the store as it was (DuckDB's write-ahead log discards
the uncommitted transaction).

Exports are atomic: written to a temporary file in the target directory and ``os.replace``-d
onto the target, so the target is either complete or absent (or, when it existed, the old file).
"""

from __future__ import annotations

import collections
import contextlib
import csv
import json
import math
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

DEFAULT_STORE = "negsim-results.duckdb"
ENV_VAR = "NEGSIM_STORE"
SCHEMA_VERSION = 1
KINDS = ("ensemble", "sweep", "sensitivity", "game")
FORMATS = ("csv", "parquet", "json")

#: The per-run fields with typed columns, in the order of ``Runner.row``, and their SQL types.
FIXED: dict[str, str] = {
    "index": "BIGINT",
    "seed": "BIGINT",
    "status": "VARCHAR",
    "outcome_class": "VARCHAR",
    "round": "BIGINT",
    "meetings": "BIGINT",
    "deal": "BIGINT",
    "error": "VARCHAR",
    "elapsed_ms": "DOUBLE",
}
#: Fixed fields that come before the other fields in a rebuilt row (``Runner.row`` order).
_HEAD = ("index", "seed", "status", "outcome_class", "round", "meetings", "deal")
_TAIL = ("error", "elapsed_ms")
_INT64 = (-(2**63), 2**63 - 1)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE SEQUENCE IF NOT EXISTS experiment_ids START 1;
CREATE TABLE IF NOT EXISTS experiments (
    id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL,
    started TIMESTAMP,
    elapsed_s DOUBLE,
    scenario_name VARCHAR NOT NULL,
    scenario_sha256 VARCHAR NOT NULL,
    scenario_text VARCHAR NOT NULL,
    negsim_version VARCHAR NOT NULL,
    seed HUGEINT,
    runs BIGINT NOT NULL,
    settings VARCHAR NOT NULL,
    summary VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    experiment_id BIGINT NOT NULL,
    pos BIGINT NOT NULL,
    {", ".join(f'"{name}" {sqltype}' for name, sqltype in FIXED.items())},
    extra VARCHAR NOT NULL,
    absent VARCHAR[],
    PRIMARY KEY (experiment_id, pos)
);
CREATE TABLE IF NOT EXISTS sessions (
    code VARCHAR PRIMARY KEY,
    created TIMESTAMP NOT NULL,
    scenario_name VARCHAR NOT NULL,
    scenario_sha256 VARCHAR NOT NULL,
    scenario_text VARCHAR NOT NULL,
    negsim_version VARCHAR NOT NULL,
    parties VARCHAR NOT NULL,
    side_rule VARCHAR NOT NULL,
    seed_policy VARCHAR NOT NULL,
    seed BIGINT
);
CREATE TABLE IF NOT EXISTS seats (
    session_code VARCHAR NOT NULL,
    name_key VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    number BIGINT NOT NULL,
    side VARCHAR NOT NULL,
    seed BIGINT NOT NULL,
    joined TIMESTAMP NOT NULL,
    PRIMARY KEY (session_code, name_key),
    UNIQUE (session_code, number)
);
CREATE TABLE IF NOT EXISTS games (
    id VARCHAR PRIMARY KEY,
    session_code VARCHAR NOT NULL,
    name_key VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    seed BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    created TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    outcome_class VARCHAR NOT NULL,
    "round" BIGINT,
    result VARCHAR NOT NULL,
    UNIQUE (session_code, name_key, attempt)
);
"""

_LIST_COLUMNS = ("id", "kind", "created", "scenario_name", "scenario_sha256", "negsim_version",
                 "seed", "runs", "elapsed_s")
_META_COLUMNS = (*_LIST_COLUMNS, "started", "scenario_text", "settings", "summary")
_SESSION_COLUMNS = ("code", "created", "scenario_name", "scenario_sha256", "scenario_text",
                    "negsim_version", "parties", "side_rule", "seed_policy", "seed")
_SEAT_COLUMNS = ("session_code", "name_key", "name", "number", "side", "seed", "joined")
_GAME_COLUMNS = ("id", "session_code", "name_key", "side", "seed", "attempt", "created",
                 "status", "outcome_class", "round", "result")
_CLASS_TABLES = ("sessions", "seats", "games")



class _FairLock:
    """A reentrant lock that waiting threads get in the order they asked for it (a plain
    ``threading.RLock`` makes no such promise: under load one thread could wait for ever while
    the others keep taking it)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._owner: int | None = None
        self._count = 0
        self._waiters: collections.deque[tuple[int, threading.Event]] = collections.deque()

    def acquire(self, timeout: float) -> bool:
        me = threading.get_ident()
        with self._guard:
            if self._owner == me:
                self._count += 1
                return True
            if self._owner is None and not self._waiters:
                self._owner, self._count = me, 1
                return True
            turn = threading.Event()
            self._waiters.append((me, turn))
        turn.wait(max(timeout, 0.0))
        with self._guard:
            if turn.is_set():  # handed over by release()
                return True
            self._waiters.remove((me, turn))
            return False

    def release(self) -> None:
        with self._guard:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a store lock this thread does not hold")
            self._count -= 1
            if self._count:
                return
            if self._waiters:
                ident, turn = self._waiters.popleft()
                self._owner, self._count = ident, 1
                turn.set()
            else:
                self._owner = None


_PROCESS_LOCKS: dict[str, _FairLock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


def _process_lock(path: Path) -> _FairLock:
    """The lock that serialises this process's connections to the store file ``path``."""
    key = os.path.normcase(str(path))
    with _PROCESS_LOCKS_GUARD:
        lock = _PROCESS_LOCKS.get(key)
        if lock is None:
            lock = _PROCESS_LOCKS[key] = _FairLock()
        return lock


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class StoreError(RuntimeError):
    """The results store cannot be used (a newer schema, not a negsim store, ...)."""


class StoreBusyError(StoreError, TimeoutError):
    """Another process kept the store file locked for longer than the store's timeout."""


class ExperimentNotFound(KeyError):
    """No experiment with this id in the store."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else "experiment not found"


def default_store_path() -> Path:
    """``$NEGSIM_STORE`` if set (and not empty), else ``negsim-results.duckdb`` in the current
    working directory."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_STORE)


# --------------------------------------------------------------------------- JSON helpers

def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a value of type {type(value).__name__}: {value!r}")


_ENCODER = json.JSONEncoder(default=_json_default, ensure_ascii=False)
_SIMPLE = frozenset({type(None), bool, int, float, str, list, dict})


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def _plain(value: Any) -> Any:
    """numpy scalars as the Python value they hold."""
    if type(value) in _SIMPLE:
        return value
    return value.item() if isinstance(value, np.generic) else value


def _fits(sqltype: str, value: Any) -> bool:
    """Whether ``value`` (not None) goes into a typed column of ``sqltype`` and comes back equal
    and of the same type."""
    if sqltype == "BIGINT":
        return type(value) is int and _INT64[0] <= value <= _INT64[1]
    if sqltype == "DOUBLE":
        return type(value) is float and math.isfinite(value)
    if sqltype == "VARCHAR":
        return type(value) is str
    return False


def _split(row: Mapping) -> tuple[dict, str, list[str] | None]:
    """A row as (typed values, extra JSON, absent fixed fields)."""
    if not isinstance(row, Mapping):
        raise TypeError(f"a run row must be a dict, not {type(row).__name__}")
    typed: dict[str, Any] = dict.fromkeys(FIXED)
    extra: dict[str, Any] = {}
    for key, value in row.items():
        if not isinstance(key, str):
            raise TypeError(f"run row keys must be strings, not {key!r}")
        value = _plain(value)
        sqltype = FIXED.get(key)
        if sqltype is not None and (value is None or _fits(sqltype, value)):
            typed[key] = value
        else:
            extra[key] = value
    absent = [k for k in FIXED if k not in row] or None
    return typed, _dumps(extra), absent


def _join(values: dict, extra_text: str, absent: list[str] | None) -> dict:
    """The inverse of ``_split``."""
    extra = json.loads(extra_text)
    skip = set(absent or ()) | extra.keys()
    row = {k: values[k] for k in _HEAD if k not in skip}
    row.update(extra)
    row.update((k, values[k]) for k in _TAIL if k not in skip)
    return row


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.replace(tzinfo=UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the store

class Store:
    """The results store at ``path`` (default: ``default_store_path()``).

    It holds no open connection: every call opens the file, works in one transaction and
    closes it, retrying while another process has the file locked (see the module docstring).
    ``with Store(...) as store:`` is supported for symmetry and closes nothing.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 60.0,
                 max_delay: float = 0.5) -> None:
        self.path = Path(os.path.abspath(os.path.expanduser(
            default_store_path() if path is None else path)))
        self.timeout = float(timeout)
        self.max_delay = float(max_delay)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    # ----------------------------------------------------------------------- connections
    @contextlib.contextmanager
    def _connect(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection held under this process's lock on the file (see the module docstring),
        closed on leaving; waits at most ``self.timeout`` seconds in all."""
        deadline = time.monotonic() + self.timeout
        lock = _process_lock(self.path)
        if not lock.acquire(timeout=self.timeout):
            raise StoreBusyError(
                f"the results store {self.path} stayed busy in this process for "
                f"{self.timeout:g} s; try again, or set ${ENV_VAR} to use another store.")
        try:
            with self._file_lock(shared=read_only, deadline=deadline):
                con = self._open(read_only, deadline)
                try:
                    yield con
                finally:
                    con.close()
        finally:
            lock.release()

    @property
    def lock_path(self) -> Path:
        """The lock file beside the store (see the module docstring)."""
        return self.path.with_name(f".{self.path.name}.lock")

    @contextlib.contextmanager
    def _file_lock(self, shared: bool, deadline: float) -> Iterator[None]:
        """Hold ``flock`` on the lock file (shared for reading, exclusive for writing) while a
        connection is open, retrying with backoff and jitter until ``deadline``. Without
        ``fcntl`` (Windows) or a writable directory, DuckDB's own lock is all there is."""
        if fcntl is None:
            yield
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            yield
            return
        try:
            cap = 0.005
            attempts = 0
            while True:
                attempts += 1
                try:
                    fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise StoreBusyError(
                            f"the results store {self.path} stayed locked by another process "
                            f"for {self.timeout:g} s ({attempts} attempts); try again when it "
                            f"has finished, or set ${ENV_VAR} to use another store.") from None
                    time.sleep(min(left, random.uniform(0, cap)))
                    cap = min(cap * 2, self.max_delay, 0.1)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _open(self, read_only: bool, deadline: float | None = None) -> duckdb.DuckDBPyConnection:
        """Open the file, retrying with exponential backoff and full jitter while another
        process holds its lock, for at most ``self.timeout`` seconds (or until ``deadline``,
        a ``time.monotonic()`` time). Use ``_connect``, which also takes the process lock."""
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        cap = 0.02
        attempts = 0
        while True:
            attempts += 1
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as e:
                text = str(e)
                if "lock" not in text.lower():
                    raise StoreError(f"cannot open the results store {self.path}: {e}") from e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreBusyError(
                        f"the results store {self.path} stayed locked by another process for "
                        f"{self.timeout:g} s ({attempts} attempts); try again when it has "
                        f"finished, or set ${ENV_VAR} to use another store. "
                        f"DuckDB said: {text}") from e
                time.sleep(min(left, random.uniform(0, cap)))
                cap = min(cap * 2, self.max_delay)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read-only connection, or None when there is no store file yet (so reading never
        creates one) or it has no negsim tables."""
        if not self.path.exists():
            yield None
            return
        with self._connect(read_only=True) as con:
            yield con if self._check_schema(con) else None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection in one transaction (created tables included), committed on
        leaving the block, rolled back on an exception."""
        self._create_file()
        with self._connect(read_only=False) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                self._create_schema(con)
                yield con
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    con.execute("ROLLBACK")
                raise

    def _check_schema(self, con: duckdb.DuckDBPyConnection) -> bool:
        """True when the negsim tables exist (in a version this code reads)."""
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()").fetchall()}
        if "meta" not in tables:
            if tables & {"experiments", "runs"}:
                raise StoreError(f"{self.path} has no negsim meta table: not a negsim store")
            return False
        got = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(got[0]) if got else 0
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {version}; this negsim reads "
                             f"up to {SCHEMA_VERSION}: upgrade negsim")
        if version < SCHEMA_VERSION:  # no older versions exist yet; migrations go here
            raise StoreError(f"{self.path} has unknown schema version {version}")
        return True

    def _create_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(_SCHEMA)
        self._check_schema_writable(con)

    def _check_schema_writable(self, con: duckdb.DuckDBPyConnection) -> None:
        got = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if got is None:
            con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        else:
            self._check_schema(con)

    def _create_file(self) -> None:
        """Create the store file, with its tables, if it does not exist yet, atomically.

        DuckDB writes a new database file's header after creating it, so a second process that
        opens the file in between finds "not a valid DuckDB database file". So a new store is
        built under a temporary name and hard-linked into place (``os.link`` fails when the name
        exists: of two processes creating the store at once, one wins and the other uses its
        file). Where hard links are not supported, DuckDB creates the file in place.
        """
        if self.path.exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".new",
                                    dir=self.path.parent)
        os.close(fd)
        tmp = Path(name)
        tmp.unlink()  # DuckDB creates it (an empty file is not a valid database)
        try:
            con = duckdb.connect(str(tmp))
            try:
                con.execute("BEGIN TRANSACTION")
                self._create_schema(con)
                con.execute("COMMIT")
                con.execute("CHECKPOINT")
            finally:
                con.close()
            with contextlib.suppress(FileExistsError):
                os.link(tmp, self.path)
        except OSError:
            if not self.path.exists():  # no hard links here: let DuckDB create it in place
                return
        finally:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)

    # ----------------------------------------------------------------------- writing
    def save(self, kind: str, *, scenario_name: str, scenario_sha256: str, scenario_text: str,
             negsim_version: str, seed: int | None, settings: dict, summary: dict,
             rows: list[dict], started: float | None = None,
             elapsed_s: float | None = None) -> int:
        """Save one experiment and all its rows in one transaction; return its id.

        ``started`` is a Unix time (``time.time()``) of the command's start; ``settings`` the
        command's parameters; ``summary`` its result (EnsembleResult, sweep table, ...).
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        seed = _plain(seed)
        if seed is not None and (type(seed) is not int or abs(seed) >= 2**127):
            raise TypeError(f"seed must be an int or None, not {seed!r}")
        rows = list(rows)
        settings_text, summary_text = _dumps(settings), _dumps(summary)
        frame = _runs_frame(rows)  # everything that can fail on bad input, before locking
        created = datetime.now(UTC).replace(tzinfo=None)
        start = (None if started is None
                 else datetime.fromtimestamp(float(started), UTC).replace(tzinfo=None))
        with self._writing() as con:
            (exp_id,) = con.execute("SELECT nextval('experiment_ids')").fetchone()
            con.execute(
                f"INSERT INTO experiments ({', '.join(_META_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_META_COLUMNS))})",
                [exp_id, kind, created, scenario_name, scenario_sha256, negsim_version,
                 seed, len(rows), None if elapsed_s is None else float(elapsed_s), start,
                 scenario_text, settings_text, summary_text])
            if rows:
                con.register("negsim_incoming", frame)
                casts = ", ".join(f'CAST("{k}" AS {t})' for k, t in FIXED.items())
                con.execute(
                    f"INSERT INTO runs SELECT ?, pos, {casts}, extra, "
                    f"CAST(absent AS VARCHAR[]) FROM negsim_incoming ORDER BY pos",
                    [exp_id])
                con.unregister("negsim_incoming")
        return int(exp_id)

    # ----------------------------------------------------------------------- reading
    def experiments(self, limit: int | None = None) -> list[dict]:
        """All experiments, newest first: id, kind, created (UTC ISO), scenario_name,
        scenario_sha256, negsim_version, seed, runs (row count), elapsed_s."""
        with self._reading() as con:
            if con is None:
                return []
            sql = f"SELECT {', '.join(_LIST_COLUMNS)} FROM experiments ORDER BY id DESC"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            out = [dict(zip(_LIST_COLUMNS, r, strict=True)) for r in con.execute(sql).fetchall()]
        for e in out:
            e["created"] = _iso(e["created"])
        return out

    def experiment(self, id: int) -> dict:
        """An experiment's metadata: the ``experiments()`` fields plus started (UTC ISO or
        None), scenario_text, settings and summary (as saved) and path (the store file)."""
        with self._reading() as con:
            return self._experiment(con, id)

    def rows(self, id: int) -> list[dict]:
        """An experiment's rows as saved (dict-equal to the input rows), in index order."""
        with self._reading() as con:
            self._experiment(con, id)  # KeyError for a missing id, also when it has no rows
            return self._rows(con, id)

    def _experiment(self, con: duckdb.DuckDBPyConnection | None, id: int) -> dict:
        exp_id = self._id(id)
        got = None if con is None else con.execute(
            f"SELECT {', '.join(_META_COLUMNS)} FROM experiments WHERE id = ?",
            [exp_id]).fetchone()
        if got is None:
            raise ExperimentNotFound(f"no experiment with id {id!r} in the results store "
                                     f"{self.path} (see `negsim history`)")
        meta = dict(zip(_META_COLUMNS, got, strict=True))
        meta["created"] = _iso(meta["created"])
        meta["started"] = _iso(meta["started"])
        meta["settings"] = json.loads(meta["settings"])
        meta["summary"] = json.loads(meta["summary"])
        meta["path"] = str(self.path)
        return meta

    def _rows(self, con: duckdb.DuckDBPyConnection, id: int) -> list[dict]:
        names = list(FIXED)
        cols = ", ".join(f'"{k}"' for k in names)
        result = con.execute(
            f'SELECT {cols}, extra, absent FROM runs WHERE experiment_id = ? '
            f'ORDER BY "index" NULLS LAST, pos', [self._id(id)])
        n = len(names)
        out = []
        while batch := result.fetchmany(10_000):
            out.extend(_join(dict(zip(names, r[:n], strict=True)), r[n], r[n + 1])
                       for r in batch)
        return out

    @staticmethod
    def _id(id: Any) -> int:
        try:
            value = int(id)
        except (TypeError, ValueError):
            raise ExperimentNotFound(f"{id!r} is not an experiment id (a number, see "
                                     f"`negsim history`)") from None
        if not _INT64[0] <= value <= _INT64[1]:
            raise ExperimentNotFound(f"no experiment with id {value}")
        return value

    # ----------------------------------------------------------------------- class sessions
    @staticmethod
    def _has_class_tables(con: duckdb.DuckDBPyConnection | None) -> bool:
        if con is None:
            return False
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()").fetchall()}
        return set(_CLASS_TABLES) <= tables

    @staticmethod
    def _record(columns: tuple[str, ...], row: tuple) -> dict:
        out = dict(zip(columns, row, strict=True))
        for key in ("created", "joined"):
            if key in out:
                out[key] = _iso(out[key])
        return out

    def add_session(self, record: Mapping, new_code: Callable[[], str],
                    attempts: int = 100) -> dict:
        """Insert a class session (``record``: every ``sessions`` column but code and created)
        under a code from ``new_code()`` that no session has yet, drawn again while taken (at
        most ``attempts`` times), in one transaction; return the session as stored."""
        fields = {k: record[k] for k in _SESSION_COLUMNS if k not in ("code", "created")}
        created = _now()
        with self._writing() as con:
            for _ in range(attempts):
                code = new_code()
                if con.execute("SELECT 1 FROM sessions WHERE code = ?", [code]).fetchone() is None:
                    break
            else:
                raise StoreError(f"no free class session code after {attempts} attempts")
            values = {"code": code, "created": created, **fields}
            con.execute(f"INSERT INTO sessions ({', '.join(_SESSION_COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(_SESSION_COLUMNS))})",
                        [values[k] for k in _SESSION_COLUMNS])
        return {**values, "created": _iso(created)}

    def session(self, code: str) -> dict | None:
        """A class session's row (``sessions`` columns), or None."""
        with self._reading() as con:
            if not self._has_class_tables(con):
                return None
            got = con.execute(f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions "
                              f"WHERE code = ?", [code]).fetchone()
        return None if got is None else self._record(_SESSION_COLUMNS, got)

    def sessions(self) -> list[dict]:
        """Every class session, newest first: code, created, scenario_name, side_rule,
        seed_policy, seed, seats and games (counts)."""
        with self._reading() as con:
            if not self._has_class_tables(con):
                return []
            cols = ("code", "created", "scenario_name", "side_rule", "seed_policy", "seed",
                    "seats", "games")
            got = con.execute(
                "SELECT s.code, s.created, s.scenario_name, s.side_rule, s.seed_policy, s.seed, "
                "(SELECT count(*) FROM seats WHERE session_code = s.code), "
                "(SELECT count(*) FROM games WHERE session_code = s.code) "
                "FROM sessions s ORDER BY s.created DESC, s.code").fetchall()
        return [self._record(cols, r) for r in got]

    def take_seat(self, code: str, name_key: str, name: str,
                  assign: Callable[[dict, int], tuple[str, int]]) -> tuple[dict, dict, bool]:
        """The seat of ``name_key`` in session ``code``: the existing one, or a new one with the
        next number, whose side and seed ``assign(session, number)`` gives (``session``: the
        session's row); in one transaction. Returns (the session's row, the seat's row,
        whether the seat is new); KeyError when there is no such session."""
        where = "WHERE session_code = ? AND name_key = ?"
        select = f"SELECT {', '.join(_SEAT_COLUMNS)} FROM seats {where}"
        with self._writing() as con:
            found = con.execute(f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions "
                                f"WHERE code = ?", [code]).fetchone()
            if found is None:
                raise KeyError(f"no class session with code {code}")
            session = self._record(_SESSION_COLUMNS, found)
            got = con.execute(select, [code, name_key]).fetchone()
            if got is None:
                (number,) = con.execute("SELECT coalesce(max(number), 0) + 1 FROM seats "
                                        "WHERE session_code = ?", [code]).fetchone()
                side, seed = assign(session, int(number))
                con.execute(f"INSERT INTO seats ({', '.join(_SEAT_COLUMNS)}) "
                            f"VALUES ({', '.join('?' * len(_SEAT_COLUMNS))})",
                            [code, name_key, name, number, side, int(seed), _now()])
                got = con.execute(select, [code, name_key]).fetchone()
                new = True
            else:
                new = False
        return session, self._record(_SEAT_COLUMNS, got), new

    def seats(self, code: str) -> list[dict]:
        """A session's seats (``seats`` rows), in join order."""
        with self._reading() as con:
            if not self._has_class_tables(con):
                return []
            got = con.execute(f"SELECT {', '.join(_SEAT_COLUMNS)} FROM seats "
                              f"WHERE session_code = ? ORDER BY number", [code]).fetchall()
        return [self._record(_SEAT_COLUMNS, r) for r in got]

    def add_game(self, record: Mapping) -> tuple[dict, bool]:
        """Save a class game once: ``record`` has the ``games`` columns but attempt and created.
        In one transaction: when a game with this id exists nothing is written; else the seat
        (session_code, name_key) must exist with this side and seed, and the game is stored as
        the seat's next attempt. Returns (the stored game, whether it is new)."""
        fields = {k: record[k] for k in _GAME_COLUMNS if k not in ("attempt", "created")}
        columns = ", ".join(f'"{c}"' for c in _GAME_COLUMNS)
        select = f"SELECT {columns} FROM games WHERE id = ?"
        with self._writing() as con:
            got = con.execute(select, [fields["id"]]).fetchone()
            new = got is None
            if new:
                seat = con.execute("SELECT side, seed FROM seats WHERE session_code = ? AND "
                                   "name_key = ?",
                                   [fields["session_code"], fields["name_key"]]).fetchone()
                if seat is None:
                    raise KeyError(f"no seat {fields['name_key']!r} in class session "
                                   f"{fields['session_code']}")
                if tuple(seat) != (fields["side"], fields["seed"]):
                    raise ValueError(f"the seat plays {seat[0]} with seed {seat[1]}, not "
                                     f"{fields['side']} with seed {fields['seed']}")
                (attempt,) = con.execute(
                    "SELECT coalesce(max(attempt), 0) + 1 FROM games WHERE session_code = ? "
                    "AND name_key = ?", [fields["session_code"], fields["name_key"]]).fetchone()
                values = {**fields, "attempt": attempt, "created": _now()}
                con.execute(f"INSERT INTO games ({columns}) "
                            f"VALUES ({', '.join('?' * len(_GAME_COLUMNS))})",
                            [values[k] for k in _GAME_COLUMNS])
                got = con.execute(select, [fields["id"]]).fetchone()
        return self._record(_GAME_COLUMNS, got), new

    def games(self, code: str) -> list[dict]:
        """A session's games (``games`` rows plus the seat's name and number), in the order
        they were saved."""
        cols = (*_GAME_COLUMNS, "name", "number")
        game_cols = ", ".join(f'g."{c}"' for c in _GAME_COLUMNS)
        with self._reading() as con:
            if not self._has_class_tables(con):
                return []
            got = con.execute(
                f"SELECT {game_cols}, s.name, s.number "
                "FROM games g JOIN seats s ON s.session_code = g.session_code "
                "AND s.name_key = g.name_key WHERE g.session_code = ? "
                "ORDER BY g.created, s.number, g.attempt", [code]).fetchall()
        return [self._record(cols, r) for r in got]

    # ----------------------------------------------------------------------- export
    def export(self, id: int, path: str | os.PathLike, fmt: str = "csv") -> Path:
        """Write an experiment's rows to ``path`` (a file, or a directory to write
        ``negsim-experiment-<id>.<fmt>`` into), atomically; return the file written.

        csv / parquet: one row per run, one column per field; dict fields are flattened into
        ``<field>.<key>`` columns (``parameters.<path>``, ``point.<path>``; an empty dict adds
        none); lists and values of mixed types are JSON text; a missing field is empty/NULL.
        json: ``{"experiment": metadata, "rows": [...]}`` with the rows exactly as saved.
        """
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        with self._reading() as con:
            meta = self._experiment(con, id)
            rows = self._rows(con, id)
        target = Path(path).expanduser()
        if target.is_dir():
            target = target / f"negsim-experiment-{meta['id']}.{fmt}"
        if fmt == "json":
            return _atomic(target, lambda tmp: _write_json({"experiment": meta, "rows": rows},
                                                           tmp))
        table = flat_table(rows)
        writer = _write_csv if fmt == "csv" else _write_parquet
        return _atomic(target, lambda tmp: writer(table, tmp))


# --------------------------------------------------------------------------- rows to frames

def _runs_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as a DataFrame shaped like the runs table (typed columns as nullable pandas
    arrays, so integers stay exact)."""
    split = [_split(r) for r in rows]
    data: dict[str, Any] = {"pos": pd.array(range(len(rows)), dtype="Int64")}
    for k, sqltype in FIXED.items():
        values = [typed[k] for typed, _, _ in split]
        if sqltype == "BIGINT":
            data[k] = pd.array(values, dtype="Int64")
        elif sqltype == "DOUBLE":
            data[k] = pd.array(values, dtype="Float64")
        else:
            data[k] = pd.Series(values, dtype=object)
    data["extra"] = pd.Series([e for _, e, _ in split], dtype=object)
    data["absent"] = pd.Series([a for _, _, a in split], dtype=object)
    return pd.DataFrame(data)


def _flatten(row: Mapping, prefix: str = "", out: dict | None = None) -> dict:
    out = {} if out is None else out
    for key, value in row.items():
        name = f"{prefix}{key}"
        value = _plain(value)
        if type(value) is dict or (type(value) not in _SIMPLE and isinstance(value, Mapping)):
            # an empty dict adds no column
            _flatten(value, f"{name}.", out)
        else:
            out[name] = value
    return out


def _column_type(name: str, values: list) -> str:
    """The SQL type of an export column: the fixed type where every value fits it, else the
    common type of the values; JSON (text) for lists, dicts and mixed columns."""
    present = [v for v in values if v is not None]
    if name in FIXED and all(_fits(FIXED[name], v) or (FIXED[name] == "DOUBLE" and
                                                        type(v) is float) for v in present):
        return FIXED[name]
    types = {type(v) for v in present}
    if not types:
        return "VARCHAR"
    if types == {bool}:
        return "BOOLEAN"
    if types == {int} and all(_INT64[0] <= v <= _INT64[1] for v in present):
        return "BIGINT"
    if types <= {int, float} and float in types:
        return "DOUBLE"
    if types == {str}:
        return "VARCHAR"
    return "JSON"


def flat_table(rows: list[dict]) -> list[tuple[str, str, list]]:
    """The rows as columns ``(name, type, values)`` for CSV/Parquet: one value per row,
    ``None`` where a row lacks the field; types BIGINT, DOUBLE, BOOLEAN, VARCHAR or JSON (a
    column of JSON text)."""
    flat = [_flatten(r) for r in rows]
    names: dict[str, None] = {}
    for k in FIXED:  # the fixed columns first, in their usual order
        if any(k in f for f in flat):
            names[k] = None
    for f in flat:
        names.update(dict.fromkeys(f))
    table = []
    for name in names:
        values = [f.get(name) for f in flat]
        sqltype = _column_type(name, values)
        if sqltype == "JSON":
            values = [None if v is None else _dumps(v) for v in values]
        elif sqltype == "DOUBLE":
            values = [None if v is None else float(v) for v in values]
        table.append((name, sqltype, values))
    return table


# --------------------------------------------------------------------------- writers

def _atomic(target: Path, write) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``target``, fsync it and move it onto
    ``target``; on any failure remove the temporary file and leave ``target`` untouched."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _write_json(doc: dict, tmp: Path) -> None:
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, default=_json_default, ensure_ascii=False, indent=1)
        f.write("\n")


def _csv_cell(sqltype: str, value: Any) -> str:
    if value is None:
        return ""
    if sqltype == "BOOLEAN":
        return "true" if value else "false"
    if sqltype == "DOUBLE":
        return repr(float(value))  # shortest repr that reads back to the same float
    return str(value)


def _write_csv(table: list[tuple[str, str, list]], tmp: Path) -> None:
    """RFC 4180 CSV with a header; empty cells are missing values."""
    n = len(table[0][2]) if table else 0
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow([name for name, _, _ in table])
        for i in range(n):
            out.writerow([_csv_cell(t, values[i]) for _, t, values in table])


def _write_parquet(table: list[tuple[str, str, list]], tmp: Path) -> None:
    """Parquet through DuckDB (no pyarrow needed) with the columns' types; JSON columns are
    strings. NaN floats are kept as NaN (pandas would turn them into NULL)."""
    data: dict[str, Any] = {}
    select = []
    for j, (name, sqltype, values) in enumerate(table):
        col = f"c{j}"
        quoted = '"' + name.replace('"', '""') + '"'
        if sqltype == "BIGINT":
            data[col] = pd.array(values, dtype="Int64")
        elif sqltype == "BOOLEAN":
            data[col] = pd.array(values, dtype="boolean")
        elif sqltype == "DOUBLE":
            data[col] = pd.array(values, dtype="Float64")
            nan = [v is not None and math.isnan(v) for v in values]
            if any(nan):
                data[f"{col}_nan"] = pd.array(nan, dtype="boolean")
                select.append(f"CASE WHEN {col}_nan THEN 'NaN'::DOUBLE "
                              f"ELSE CAST({col} AS DOUBLE) END AS {quoted}")
                continue
        else:
            data[col] = pd.Series(values, dtype=object)
        select.append(f"CAST({col} AS {'VARCHAR' if sqltype == 'JSON' else sqltype}) "
                      f"AS {quoted}")
    if not select:  # an experiment without rows: a one-column empty file
        select.append('CAST(NULL AS BIGINT) AS "index"')
        data["c0"] = pd.array([], dtype="Int64")
    frame = pd.DataFrame(data)
    con = duckdb.connect()
    try:
        con.register("negsim_export", frame)
        where = "" if table else " WHERE false"
        target = str(tmp).replace("'", "''")
        con.execute(f"COPY (SELECT {', '.join(select)} FROM negsim_export{where}) "
                    f"TO '{target}' (FORMAT parquet)")
    finally:
        con.close()
