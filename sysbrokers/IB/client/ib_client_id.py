"""IB flavour of the client-id tracker: offset and lease length come from the configuration."""

from __future__ import annotations

import logging

from sysdata.config.configdata import Config, get_production_config
from sysdata.production.broker_client_id import (
    Clock,
    LeaseTable,
    brokerClientIdData,
    utc_now,
)


class ibBrokerClientIdData(brokerClientIdData):  # noqa: N801 - pysystemtrade's public name
    """Client ids for IB connections; `idoffset` defaults to config `ib_idoffset` (100)."""

    def __init__(
        self,
        lease_table: LeaseTable,
        idoffset: int | None = None,
        lease_seconds: float | None = None,
        config: Config | None = None,
        refused_hold_seconds: float | None = None,
        process_name: str | None = None,
        log: logging.Logger | logging.LoggerAdapter | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if idoffset is None or lease_seconds is None:
            config = config or get_production_config()
            idoffset = config.ib_idoffset if idoffset is None else idoffset
            lease_seconds = config.client_id_lease_seconds if lease_seconds is None else lease_seconds
        super().__init__(
            lease_table,
            idoffset=idoffset,
            lease_seconds=lease_seconds,
            refused_hold_seconds=refused_hold_seconds,
            process_name=process_name,
            log=log,
            clock=clock,
        )
