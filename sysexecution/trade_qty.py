"""pysystemtrade's `tradeQuantity`: one signed quantity per leg of an order.

    trade = tradeQuantity([-1, 1])      # a roll spread: sell the front leg, buy the next
    trade.spread_quantity, trade.ratios # -1, (1, -1): SELL one combo whose legs are BUY / SELL
    bool(tradeQuantity([0, 0]))         # False: nothing to trade (or nothing filled yet)

A list of ints. Compared with a number (`trade > 0`), it is its first leg's quantity, so code
written for single-contract orders reads a spread's side the way pysystemtrade resolves it (the
combo is bought when the first leg is bought).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

__all__ = ["tradeQuantity"]


class tradeQuantity(list):  # noqa: N801 - pysystemtrade's public name
    """Signed quantities, one per leg."""

    def __init__(self, quantities: Iterable[int] | int = ()) -> None:
        if isinstance(quantities, numbers.Integral):
            quantities = [quantities]
        values = []
        for qty in quantities:
            if isinstance(qty, bool) or not isinstance(qty, numbers.Integral):
                raise TypeError(f"leg quantities must be whole numbers, got {qty!r}")
            values.append(int(qty))
        super().__init__(values)

    # -- pysystemtrade's helpers -----------------------------------------------------------------

    def total_abs_qty(self) -> int:
        return sum(abs(q) for q in self)

    def equals_zero(self) -> bool:
        return all(q == 0 for q in self)

    def zero_version(self) -> tradeQuantity:
        return tradeQuantity([0] * len(self))

    @property
    def spread_quantity(self) -> int:
        """The number of combos: the legs' highest common factor, signed like the first leg."""
        hcf = math.gcd(*(abs(q) for q in self)) if self else 0
        return hcf if not self or self[0] >= 0 else -hcf

    @property
    def ratios(self) -> tuple[int, ...]:
        """The legs of one combo bought: quantities / spread quantity (the first leg positive)."""
        quantity = self.spread_quantity
        return tuple(q // quantity for q in self) if quantity else tuple(0 for _ in self)

    # -- a number's view: the first leg ----------------------------------------------------------

    def __bool__(self) -> bool:
        return not self.equals_zero()

    def _first(self) -> int:
        return self[0] if self else 0

    def __gt__(self, other: object) -> bool:
        if isinstance(other, numbers.Real):
            return self._first() > other
        return list.__gt__(self, other)  # type: ignore[operator]

    def __lt__(self, other: object) -> bool:
        if isinstance(other, numbers.Real):
            return self._first() < other
        return list.__lt__(self, other)  # type: ignore[operator]

    def __ge__(self, other: object) -> bool:
        if isinstance(other, numbers.Real):
            return self._first() >= other
        return list.__ge__(self, other)  # type: ignore[operator]

    def __le__(self, other: object) -> bool:
        if isinstance(other, numbers.Real):
            return self._first() <= other
        return list.__le__(self, other)  # type: ignore[operator]

    def __abs__(self) -> tradeQuantity:
        return tradeQuantity(abs(q) for q in self)

    def __neg__(self) -> tradeQuantity:
        return tradeQuantity(-q for q in self)

    def __sub__(self, other: Iterable[int]) -> tradeQuantity:
        return tradeQuantity(a - b for a, b in zip(self, other, strict=True))

    def __add__(self, other: Iterable[int]) -> tradeQuantity:  # type: ignore[override]
        return tradeQuantity(a + b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"tradeQuantity({list(self)})"

    def __str__(self) -> str:
        return str(list(self))
