"""`Store`: a dict of rows by natural key that also finds them by secondary keys.

A store is a real `dict` (reads, `in`, iteration, `==` and `repr` are the
built-in ones, so tests and snapshots see plain dicts) whose every mutator also
keeps its indexes: a row is added, replaced or removed in exactly one place,
which is also where a persistence layer can later record the changed rows.

An index maps a secondary key to the primary keys of its rows, in the order
they entered the index. Its key function may read the row's fields; such a
field must then change through `modify`, never by assignment on the row.

A store may be watched (`watch`): its watcher hears of every key that enters,
changes or leaves it, which is how `--state` writes only the changed rows. So
every change of a stored row, indexed field or not, goes through a store method.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
KeyFunction = Callable[[Any, Any], Iterable[Hashable]]  # (primary key, row) -> its secondary keys
# What a watcher hears: (key, event); CLEARED comes with the key None.
ADDED, CHANGED, REMOVED, CLEARED = "added", "changed", "removed", "cleared"
Watcher = Callable[[Any, str], None]


class Store(dict[K, V], Generic[K, V]):
    __slots__ = ("_functions", "_buckets", "_positions", "_counter", "_watcher")

    def __init__(self, rows: Iterable[tuple[K, V]] = (), *, ordered: bool = False, **indexes: KeyFunction) -> None:
        super().__init__()
        self._functions = indexes
        # A secondary key held by one row maps to that row's key; by several, to a dict of them
        # (insertion-ordered): most indexes are unique, and a dict per row would double a row's size.
        self._buckets: dict[str, dict[Hashable, Any]] = {name: {} for name in indexes}
        # ordered: remember each row's rank, so index hits can be put back in store order cheaply.
        self._positions: dict[K, int] | None = {} if ordered else None
        self._counter = itertools.count()
        self._watcher: Watcher | None = None
        for key, row in rows:
            self[key] = row

    # --- reading by a secondary key -------------------------------------------

    def keys_by(self, index: str, value: Hashable) -> list[K]:
        return _keys(self._buckets[index].get(value, _EMPTY))

    def rows_by(self, index: str, value: Hashable) -> list[V]:
        return [dict.__getitem__(self, key) for key in self.keys_by(index, value)]

    def first_by(self, index: str, value: Hashable) -> V | None:
        bucket = self._buckets[index].get(value, _EMPTY)
        if type(bucket) is not dict:
            return dict.__getitem__(self, bucket)
        return dict.__getitem__(self, next(iter(bucket))) if bucket else None

    def first_rows(self, index: str) -> Iterator[tuple[Hashable, V]]:
        """Every secondary key of `index` with the row `first_by` gives for it: a listing's lookups in one pass."""
        get = dict.__getitem__
        for value, bucket in self._buckets[index].items():
            yield value, get(self, bucket if type(bucket) is not dict else next(iter(bucket)))

    def count_by(self, index: str, value: Hashable) -> int:
        bucket = self._buckets[index].get(value, _EMPTY)
        return len(bucket) if type(bucket) is dict else 1

    def values_of(self, index: str) -> list[Hashable]:
        """Every secondary key some row holds in `index`, in the order they first appeared."""
        return list(self._buckets[index])

    def in_order(self, keys: Iterable[K]) -> list[K]:
        """`keys` (all in the store) in store order; needs `ordered=True`."""
        assert self._positions is not None, "an unordered store has no ranks"
        return sorted(keys, key=self._positions.__getitem__)

    def indexes(self) -> dict[str, dict[Hashable, set[K]]]:
        """Every index as it is kept (for tests: compare with `rebuilt_indexes`)."""
        return {name: {v: set(_keys(keys)) for v, keys in buckets.items()} for name, buckets in self._buckets.items()}

    def rebuilt_indexes(self) -> dict[str, dict[Hashable, set[K]]]:
        """Every index computed again from the rows alone."""
        result: dict[str, dict[Hashable, set[K]]] = {}
        for name, function in self._functions.items():
            found: dict[Hashable, set[K]] = result.setdefault(name, {})
            for key, row in self.items():
                for value in function(key, row):
                    found.setdefault(value, set()).add(key)
        return result

    def watch(self, watcher: Watcher | None) -> None:
        """Tell `watcher(key, event)` of every later change (None: stop telling)."""
        self._watcher = watcher

    # --- the one place rows change -------------------------------------------

    def __setitem__(self, key: K, row: V) -> None:
        old = dict.get(self, key, _MISSING)
        dict.__setitem__(self, key, row)
        if old is _MISSING:
            if self._positions is not None:
                self._positions[key] = next(self._counter)
            self._link(key, _MISSING, row)
        else:
            self._link(key, old, row)
        if self._watcher is not None:
            self._watcher(key, ADDED if old is _MISSING else CHANGED)

    def __delitem__(self, key: K) -> None:
        row = dict.__getitem__(self, key)
        dict.__delitem__(self, key)
        self._link(key, row, _MISSING)
        if self._positions is not None:
            del self._positions[key]
        if self._watcher is not None:
            self._watcher(key, REMOVED)

    def modify(self, key: K, **fields: Any) -> V:
        """Change fields of a stored row in place, keeping its indexes right."""
        row = dict.__getitem__(self, key)
        before = self._keys_of(key, row)
        for name, value in fields.items():
            setattr(row, name, value)
        self._relink(key, before, self._keys_of(key, row))
        if self._watcher is not None:
            self._watcher(key, CHANGED)
        return row

    def _keys_of(self, key: K, row: Any) -> dict[str, dict[Hashable, None]]:
        return {name: dict.fromkeys(function(key, row)) for name, function in self._functions.items()}

    def _link(self, key: K, old: Any, new: Any) -> None:
        if not self._functions:
            return
        empty: dict[str, dict[Hashable, None]] = {name: {} for name in self._functions}
        self._relink(
            key,
            empty if old is _MISSING else self._keys_of(key, old),
            empty if new is _MISSING else self._keys_of(key, new),
        )

    def _relink(self, key: K, before: dict[str, dict[Hashable, None]], after: dict[str, dict[Hashable, None]]) -> None:
        for name, buckets in self._buckets.items():
            # Only what changed moves: an unchanged secondary key keeps the row's place in its bucket.
            for value in before[name]:
                if value not in after[name]:
                    bucket = buckets[value]
                    if type(bucket) is not dict:
                        del buckets[value]
                        continue
                    del bucket[key]
                    if len(bucket) == 1:
                        buckets[value] = next(iter(bucket))
            for value in after[name]:
                if value not in before[name]:
                    bucket = buckets.get(value, _MISSING)
                    if bucket is _MISSING:
                        buckets[value] = key
                    elif type(bucket) is dict:
                        bucket[key] = None
                    else:
                        buckets[value] = {bucket: None, key: None}

    # --- the rest of dict's mutators, through the two above ---------------------

    def pop(self, key: K, *default: Any) -> Any:
        if key not in self:
            if default:
                return default[0]
            raise KeyError(key)
        row = dict.__getitem__(self, key)
        del self[key]
        return row

    def popitem(self) -> tuple[K, V]:
        if not self:
            raise KeyError("popitem(): store is empty")
        key = next(reversed(self))
        return key, self.pop(key)

    def setdefault(self, key: K, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, row in dict(*args, **kwargs).items():
            self[key] = row

    def __ior__(self, other: Any) -> Store[K, V]:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        dict.clear(self)
        for buckets in self._buckets.values():
            buckets.clear()
        if self._positions is not None:
            self._positions.clear()
        if self._watcher is not None:
            self._watcher(None, CLEARED)

    def empty_copy(self) -> Store[K, V]:
        """A store with the same indexes and no rows."""
        return Store(ordered=self._positions is not None, **self._functions)

    def __copy__(self) -> Store[K, V]:
        new = self.empty_copy()
        new.update(self)
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Store[K, V]:
        new = self.empty_copy()
        memo[id(self)] = new
        for key, row in self.items():
            new[copy.deepcopy(key, memo)] = copy.deepcopy(row, memo)
        return new

    def __reduce__(self) -> Any:
        raise TypeError("a Store holds its index functions: copy it, do not pickle it")


_MISSING: Any = object()
_EMPTY: dict[Any, None] = {}


def _keys(bucket: Any) -> list[Any]:
    return list(bucket) if type(bucket) is dict else [bucket]
