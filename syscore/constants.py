"""pysystemtrade's `syscore.constants`: named sentinels compared with `is`.

from syscore.constants import arg_not_supplied, success

def f(account_id=arg_not_supplied): ...
"""

from __future__ import annotations

__all__ = ["arg_not_supplied", "failure", "named_object", "success"]


class named_object:  # noqa: N801 - pysystemtrade's public name
    """A sentinel with a readable repr (`missing order`, `arg not supplied`, ...)."""

    def __init__(self, name: str) -> None:
        self._name = str(name)

    def __repr__(self) -> str:
        return self._name

    __str__ = __repr__


arg_not_supplied = named_object("arg not supplied")
success = named_object("success")
failure = named_object("failure")


def supplied(value: object) -> bool:
    """False for `arg_not_supplied` and None: both mean "use the default"."""
    return value is not None and value is not arg_not_supplied
