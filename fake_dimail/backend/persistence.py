"""`--state FILE`: the state kept in SQLite, each backend call's changed rows written before it returns.

The stores tell a watcher which keys changed (`Store.watch`); when the outermost
backend call ends (`base.atomic`), still under the lock, those rows alone are
written in one transaction. WAL with `synchronous=NORMAL`: a commit is in the
operating system's hands before the answer leaves, which a killed process
cannot lose (a power cut can lose the last commits: not the goal here).

A write the file refuses (a full disk, an I/O error) leaves nothing behind:
the transaction is rolled back and the memory is put back to what the file
holds, which is the state before the call; the call answers 507 (`StateWriteError`)
and one line is logged. Reads, tokens and refusals change nothing, so they
write nothing and keep answering while the disk is full.

File format, schema 1 (`PRAGMA user_version`; `PRAGMA application_id` says
the file is fake-dimail's): one table

    rows (store TEXT, key TEXT, parent TEXT, row TEXT, PRIMARY KEY (store, key))

`store` is a store of `backend/state.py`, `zones` for the simulated DNS, or
`contexts.users` for a store nested in rows (`snapshot.NESTED`); `key` is the
natural key as JSON (a nested row's: [parent key, its own]); `parent` the
holding row's key as JSON; `row` the row as `GET /_fake/state` has it
(`snapshot.encode`, nested stores apart). Rows are read back in rowid order,
which is store order. Loading builds a state document and `snapshot.load`s it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import errors
from ..store import ADDED, CHANGED, CLEARED, REMOVED, Store
from . import snapshot
from .state import STORES, State

log = logging.getLogger("fake_dimail.state")

SCHEMA_VERSION = 1
APPLICATION_ID = 0x66646D6C  # "fdml"
ZONES = "zones"
IN_USE = "in use by another fake-dimail (a file serves one at a time): stop it, or give another --state file"
# NORMAL in WAL: a commit survives the process being killed, not a power cut (FULL would fsync each one).
SYNCHRONOUS = "NORMAL"
_WAIT = 0.5  # seconds to wait for the file's lock: its owner holds it for its whole life
_MISSING: Any = object()

_SCHEMA = """
CREATE TABLE rows (store TEXT NOT NULL, key TEXT NOT NULL, parent TEXT, row TEXT NOT NULL, PRIMARY KEY (store, key));
CREATE INDEX rows_by_parent ON rows (store, parent) WHERE parent IS NOT NULL;
"""


class StateFileError(Exception):
    """A state file that cannot be used; the message is one line naming the file and the problem."""


class StateWriteError(errors.ApiError):
    """A backend call whose write the file refused: answered 507 Insufficient Storage, memory as before it
    (guess G-state-507: dimail would answer 500)."""

    def __init__(self, detail: str) -> None:
        super().__init__(507, detail)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return _first_line(error)


def _json(value: Any) -> str:
    return json.dumps(snapshot.plain(value), ensure_ascii=False, separators=(",", ":"))


def _mark(dirty: dict[Any, str], key: Any, event: str) -> None:
    if event == ADDED:
        dirty.pop(key, None)  # to the end: rows added in one call keep their order in the file
        dirty[key] = ADDED
    elif event == REMOVED:
        dirty[key] = REMOVED
    elif key not in dirty:
        dirty[key] = CHANGED


def read_document(path: Path) -> dict[str, Any] | None:
    """The state document a file holds, None for a missing or empty file; the file is only read."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return None
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=_WAIT)
        try:
            application = connection.execute("PRAGMA application_id").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if application != APPLICATION_ID:
                raise StateFileError(f"{path}: not a fake-dimail state file (another SQLite database): "
                                     "give another --state file")
            if version != SCHEMA_VERSION:
                raise StateFileError(f"{path}: schema version {version}, this fake-dimail reads version "
                                     f"{SCHEMA_VERSION}: use the fake-dimail that wrote it, or another --state file")
            rows = connection.execute("SELECT store, key, parent, row FROM rows ORDER BY rowid").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        if _locked(error):
            raise StateFileError(f"{path}: {IN_USE}") from None
        raise StateFileError(f"{path}: not a readable fake-dimail state file ({error}): "
                             "give another --state file") from None
    try:
        return _document(rows)
    except (ValueError, TypeError, KeyError) as error:
        raise StateFileError(f"{path}: inconsistent state file ({error}): give another --state file") from None


def _document(rows: list[tuple[str, str, str | None, str]]) -> dict[str, Any]:
    document: dict[str, Any] = {name: [] for name in snapshot.ENCODERS}
    document[ZONES] = {}
    holders: dict[tuple[str, str], dict[str, Any]] = {}
    children: dict[tuple[str, str], list[Any]] = {}
    for store, key, parent, text in rows:
        row = json.loads(text)
        if store == ZONES:
            document[ZONES][json.loads(key)] = row
        elif parent is not None:
            children.setdefault((store, parent), []).append(row)
        elif store in snapshot.ENCODERS:
            document[store].append(row)
            holders[(store, key)] = row
        else:
            raise ValueError(f"rows of a store this fake-dimail does not know: {store!r}")
    for (store, key), row in holders.items():
        for field in snapshot.NESTED.get(store, ()):
            row[field] = children.pop((f"{store}.{field}", key), [])
    if children:
        (store, parent), _ = next(iter(children.items()))
        raise ValueError(f"{store} rows of {parent}, which is not there")
    return document


class StateFile:
    """The SQLite file one `State` is kept in; every write happens under the state's lock."""

    def __init__(self, state: State, path: Path, connection: sqlite3.Connection) -> None:
        self.state = state
        self.path = path
        self._db = connection
        self._units = [*STORES, *(f"{s}.{f}" for s, fields in snapshot.NESTED.items() for f in fields), ZONES]
        self._dirty: dict[str, dict[Any, str]] = {unit: {} for unit in self._units}
        self._cleared: set[str] = set()
        self._rewrite: set[tuple[str, Any]] = set()  # (store, key): rows whose nested stores are written again
        self._attached: dict[tuple[str, str, Any], Store[Any, Any]] = {}
        self._pending = False
        self._whole = False  # write everything again (a new file, or after a failed write)

    @classmethod
    def open(cls, state: State, path: str | Path) -> tuple[StateFile, bool]:
        """Load the file into `state` (if it holds one) and keep it from now on; True if it was loaded."""
        path = Path(path)
        if path.is_dir():
            raise StateFileError(f"{path}: is a directory: give a file for --state")
        if not path.parent.is_dir():
            raise StateFileError(f"{path}: its directory {path.parent} does not exist: create it, or give another "
                                 "--state file")
        document = read_document(path)
        if document is not None:
            try:
                snapshot.load(state, document)
            except ValueError as error:
                raise StateFileError(f"{path}: inconsistent state file ({_first_line(error)}): "
                                     "give another --state file") from None
        try:
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=_WAIT)
            connection.execute("PRAGMA locking_mode = EXCLUSIVE")  # one fake per file: a second one is refused
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
            if document is None:
                connection.executescript(f"BEGIN; {_SCHEMA} PRAGMA application_id = {APPLICATION_ID}; "
                                         f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            else:
                connection.execute("BEGIN IMMEDIATE").execute("COMMIT")  # takes the lock now, not at the first write
        except sqlite3.Error as error:
            if _locked(error):
                raise StateFileError(f"{path}: {IN_USE}") from None
            raise StateFileError(f"{path}: cannot write the state file ({error}): give another --state file") \
                from None
        except OSError as error:
            raise StateFileError(f"{path}: cannot write the state file ({error.strerror}): "
                                 "give another --state file") from None
        kept = cls(state, path, connection)
        kept._watch_all()
        if document is None:
            kept._whole = kept._pending = True
            try:
                kept.flush()
            except StateWriteError as error:
                kept.close()
                raise StateFileError(f"{path}: {error.detail}") from None
        return kept, document is not None

    def close(self) -> None:
        with self.state.lock:
            try:
                self.flush()
            except StateWriteError:
                pass  # logged; every call was written or undone, only changes made beside the calls are lost
            self.state.on_settle = self.state.on_install = None
            for name in STORES:
                getattr(self.state, name).watch(None)
            self.state.dns.watch(None)
            for child in self._attached.values():
                child.watch(None)
            self._attached.clear()
            self._db.close()

    # --- hearing of changes --------------------------------------------------------

    def _watch_all(self) -> None:
        for name in STORES:
            getattr(self.state, name).watch(self._noter(name))
        dirty = self._dirty[ZONES]

        def zone_changed(key: Any, event: str) -> None:
            self._pending = True
            if event == CLEARED:
                dirty.clear()
                self._cleared.add(ZONES)
            else:
                _mark(dirty, key, event)

        self.state.dns.watch(zone_changed)
        for name, fields in snapshot.NESTED.items():
            for key, row in getattr(self.state, name).items():
                for field in fields:
                    self._attach(name, field, key, getattr(row, field))
        self.state.on_install = self._installed
        self.state.on_settle = self.flush

    def _noter(self, name: str) -> Any:
        dirty = self._dirty[name]

        def changed(key: Any, event: str) -> None:
            self._pending = True
            if event == CLEARED:
                self._wipe(name)
            else:
                _mark(dirty, key, event)

        return changed

    def _child_noter(self, name: str, field: str, parent: Any) -> Any:
        dirty = self._dirty[f"{name}.{field}"]

        def changed(key: Any, event: str) -> None:
            self._pending = True
            if event == CLEARED:
                self._rewrite.add((name, parent))
            else:
                _mark(dirty, (parent, key), event)

        return changed

    def _wipe(self, name: str) -> None:
        self._dirty[name].clear()
        self._cleared.add(name)
        for field in snapshot.NESTED.get(name, ()):
            self._dirty[f"{name}.{field}"].clear()
            self._cleared.add(f"{name}.{field}")
        for attached in [a for a in self._attached if a[0] == name]:
            self._attached.pop(attached).watch(None)

    def _installed(self, name: str) -> None:
        store = getattr(self.state, name)
        store.watch(self._noter(name))
        self._pending = True
        self._wipe(name)
        self._dirty[name].update(dict.fromkeys(store, ADDED))

    def _attach(self, name: str, field: str, key: Any, child: Store[Any, Any]) -> None:
        child.watch(self._child_noter(name, field, key))
        self._attached[(name, field, key)] = child

    # --- writing ---------------------------------------------------------------------

    def flush(self) -> None:
        """Write what changed since the last flush, in one transaction (the caller holds the lock).

        A write the file refuses (a full disk, an I/O error) is undone in memory too: the state goes back
        to what the file holds, which is what it was before the call, and `StateWriteError` (507) says so.
        """
        if not self._pending:
            return
        db = self._db
        try:
            db.execute("BEGIN")
            if self._whole:
                self._everything()
            self._write()
            db.execute("COMMIT")
        except (sqlite3.Error, OSError) as error:
            reason = _reason(error)
            self._abandon()
            if not self._restore():
                raise StateWriteError(errors.state_not_written(reason, undone=False)) from None
            log.error("--state %s: cannot write (%s): the call was undone and answered 507", self.path, reason)
            raise StateWriteError(errors.state_not_written(reason)) from None
        except BaseException:
            self._abandon()
            raise
        self._forget()
        self._whole = self._pending = False

    def _abandon(self) -> None:
        """Roll the transaction back; what was heard is spent: the next flush writes the whole state again."""
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite rolled it back itself
        self._forget()
        self._whole = True

    def _forget(self) -> None:
        for dirty in self._dirty.values():
            dirty.clear()
        self._cleared.clear()
        self._rewrite.clear()

    def _restore(self) -> bool:
        """Put back the state the file holds (the state before the call whose write failed); False if the
        file cannot be read either, and then memory keeps the call and the next flush writes everything."""
        try:
            rows = self._db.execute("SELECT store, key, parent, row FROM rows ORDER BY rowid").fetchall()
            snapshot.load(self.state, _document(rows))  # nothing changes unless it loads whole
        except (sqlite3.Error, OSError, ValueError, TypeError, KeyError) as error:
            log.error("--state %s: cannot write it, nor read it back (%s): the change stays in memory, written "
                      "once the file can be", self.path, _reason(error))
            return False
        for attached in self._attached.values():
            attached.watch(None)
        self._attached.clear()
        for name, fields in snapshot.NESTED.items():
            for key, row in getattr(self.state, name).items():
                for field in fields:
                    self._attach(name, field, key, getattr(row, field))
        self._forget()
        self._whole = self._pending = False
        return True

    def _everything(self) -> None:
        self._db.execute("DELETE FROM rows")
        for attached in list(self._attached):
            self._attached.pop(attached).watch(None)
        self._cleared.clear()
        for name in STORES:
            self._dirty[name].clear()
            self._dirty[name].update(dict.fromkeys(getattr(self.state, name), ADDED))
        self._dirty[ZONES].clear()
        self._dirty[ZONES].update(dict.fromkeys(self.state.dns.all_zones(), ADDED))

    def _write(self) -> None:
        db = self._db
        for unit in self._cleared:
            db.execute("DELETE FROM rows WHERE store = ?", (unit,))
        rewritten: set[tuple[str, Any]] = set()
        for name in STORES:
            store = getattr(self.state, name)
            encode = snapshot.ENCODERS[name]
            fields = snapshot.NESTED.get(name, ())
            for key, event in self._dirty[name].items():
                row = dict.get(store, key, _MISSING)
                self._put(name, _json(key), None, event, row, None if row is _MISSING else encode(key, row))
                for field in fields:
                    if row is _MISSING:
                        db.execute("DELETE FROM rows WHERE store = ? AND parent = ?", (f"{name}.{field}", _json(key)))
                        if (child := self._attached.pop((name, field, key), None)) is not None:
                            child.watch(None)
                    elif self._attached.get((name, field, key)) is not getattr(row, field):
                        self._children(name, field, key, getattr(row, field), rewritten)
        for name, key in self._rewrite - rewritten:
            row = dict.get(getattr(self.state, name), key, _MISSING)
            for field in snapshot.NESTED[name] if row is not _MISSING else ():
                self._children(name, field, key, getattr(row, field), rewritten)
        for name, fields in snapshot.NESTED.items():
            store = getattr(self.state, name)
            for field in fields:
                unit = f"{name}.{field}"
                for (parent, key), event in self._dirty[unit].items():
                    holder = dict.get(store, parent, _MISSING)
                    if (name, parent) in rewritten or holder is _MISSING:
                        continue
                    child = getattr(holder, field)
                    if self._attached.get((name, field, parent)) is not child:
                        continue
                    row = dict.get(child, key, _MISSING)
                    self._put(unit, _json([parent, key]), _json(parent), event, row,
                              None if row is _MISSING else snapshot.plain(row))
        dns = self.state.dns
        for zone, event in self._dirty[ZONES].items():
            records = dns.records(zone)
            row = _MISSING if records is None else records
            self._put(ZONES, _json(zone), None, event, row, None if records is None else snapshot.plain(records))

    def _put(self, unit: str, key: str, parent: str | None, event: str, row: Any, plain: Any) -> None:
        db = self._db
        if row is _MISSING:
            db.execute("DELETE FROM rows WHERE store = ? AND key = ?", (unit, key))
            return
        text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
        if event == ADDED or db.execute("UPDATE rows SET row = ? WHERE store = ? AND key = ?",
                                        (text, unit, key)).rowcount == 0:
            # REPLACE gives a new rowid, the last: a row added again goes to the end, as in the store.
            db.execute("INSERT OR REPLACE INTO rows (store, key, parent, row) VALUES (?, ?, ?, ?)",
                       (unit, key, parent, text))

    def _children(self, name: str, field: str, key: Any, child: Store[Any, Any], rewritten: set[tuple[str, Any]]) -> None:
        unit, parent = f"{name}.{field}", _json(key)
        self._db.execute("DELETE FROM rows WHERE store = ? AND parent = ?", (unit, parent))
        self._db.executemany(
            "INSERT INTO rows (store, key, parent, row) VALUES (?, ?, ?, ?)",
            [(unit, _json([key, k]), parent, json.dumps(snapshot.plain(r), ensure_ascii=False, separators=(",", ":")))
             for k, r in child.items()],
        )
        self._attach(name, field, key, child)
        rewritten.add((name, key))


def _locked(error: sqlite3.Error) -> bool:
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


def _first_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__
