"""pysystemtrade's `syscore.cache.Cache`: memoise a parent object's method calls.

    cache = Cache(client)
    details = cache.get(client.ib_get_contract_details, contract)   # asked once, then remembered

Results are kept per (method name, arguments) for the life of the cache; `clear()` forgets them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Cache"]


class Cache:
    """Results of a parent object's methods, by method name and arguments."""

    def __init__(self, parent: Any) -> None:
        self.parent = parent
        self._results: dict[tuple, Any] = {}

    def get(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        key = (getattr(method, "__name__", repr(method)), _hashable(args), _hashable(tuple(sorted(kwargs.items()))))
        if key not in self._results:
            self._results[key] = method(*args, **kwargs)
        return self._results[key]

    def clear(self) -> None:
        self._results.clear()

    def __len__(self) -> int:
        return len(self._results)


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)
