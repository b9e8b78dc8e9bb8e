"""Constructor arguments of the IB data objects in both calling forms.

    ibFuturesContractPriceData(conn)                       # seed 001
    ibFuturesContractPriceData(conn, log)                  # seed 001, a logger second
    ibFuturesContractPriceData(conn, data_blob, log=log)   # pysystemtrade's dataBlob

`data_and_log(data, log)` tells the two apart: a `logging.Logger` (or adapter) in the second
place is the log; anything else there is the data blob, which the object keeps as `.data` and
uses to reach its sibling objects (`data.broker_futures_contract`, ...) as pysystemtrade's do.
`ibDataObject` is the constructor and the two properties the data objects share:

    class ibFxPricesData(ibDataObject):
        client_class = ibFxClient                      # self.ib_client is one, on self.ibconnection
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["data_and_log", "ibDataObject"]


class ibDataObject:  # noqa: N801 - in the style of pysystemtrade's public names
    """A data object over one client of its own class (`client_class`) on one connection."""

    client_class: type = object  # set by each data object

    def __init__(self, ibconnection: Any, data: Any = None, log: logging.Logger | None = None):
        self.data, log = data_and_log(data, log)
        self._connection = ibconnection
        self._client = self.client_class(ibconnection, log)

    @property
    def ibconnection(self) -> Any:
        return self._connection

    @property
    def ib_client(self) -> Any:
        return self._client


def data_and_log(data: Any, log: Any) -> tuple[Any, logging.Logger | None]:
    """`(data_blob or None, log or None)` from the second positional argument and `log=`."""
    if isinstance(data, logging.Logger | logging.LoggerAdapter):
        if log is not None:
            raise TypeError("two loggers given: pass the data blob second, or the logger once")
        return None, data
    if log is None and data is not None:
        log = getattr(data, "log", None)
    if not isinstance(log, logging.Logger | logging.LoggerAdapter):
        log = None  # pysystemtrade's own logger objects: use the connection's
    return data, log
