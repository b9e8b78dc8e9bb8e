"""`ibStaticData`: who we are at the broker — client id, account, broker name (pysystemtrade's class).

static = ibStaticData(conn)                  # or (conn, data_blob, log=...)
static.get_broker_clientid(), static.get_broker_account(), static.get_broker_name()   # 7, "DU123456", "IB"
"""

from __future__ import annotations

import logging
from typing import Any

from sysbrokers.IB.client.ib_client import ibClient
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_data_args import data_and_log

__all__ = ["ibStaticData"]


class ibStaticData:  # noqa: N801 - pysystemtrade's public name
    """Static facts of the connection; needs no IB request."""

    def __init__(self, ibconnection: connectionIB, data: Any = None, log: logging.Logger | None = None):
        self.data, log = data_and_log(data, log)
        self._connection = ibconnection
        self._client = ibClient(ibconnection, log)

    @property
    def ibconnection(self) -> connectionIB:
        return self._connection

    @property
    def ib_client(self) -> ibClient:
        return self._client

    def get_broker_clientid(self) -> int:
        return self._connection.client_id()

    def get_broker_account(self) -> str:
        return self._connection.account

    def get_broker_name(self) -> str:
        return "IB"
