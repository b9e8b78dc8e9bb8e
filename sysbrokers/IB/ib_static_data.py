"""`ibStaticData`: who we are at the broker — client id, account, broker name (pysystemtrade's class).

static = ibStaticData(conn)                  # or (conn, data_blob, log=...)
static.get_broker_clientid(), static.get_broker_account(), static.get_broker_name()   # 7, "DU123456", "IB"
"""

from __future__ import annotations

from sysbrokers.IB.client.ib_client import ibClient
from sysbrokers.IB.ib_data_args import ibDataObject

__all__ = ["ibStaticData"]


class ibStaticData(ibDataObject):  # noqa: N801 - pysystemtrade's public name
    """Static facts of the connection; needs no IB request."""

    client_class = ibClient
    _client: ibClient

    def get_broker_clientid(self) -> int:
        return self._connection.client_id()

    def get_broker_account(self) -> str:
        return self._connection.account

    def get_broker_name(self) -> str:
        return "IB"
