"""`ibPositionsClient`: positions as the gateway holds them now, across managed accounts."""

from __future__ import annotations

from ib_async import Contract, ContractDetails, Position

from sysbrokers.IB.client.ib_client import ibClient
from sysbrokers.IB.ib_errors import IBAccountNotManaged

FUTURES_SEC_TYPE = "FUT"


class ibPositionsClient(ibClient):  # noqa: N801 - pysystemtrade's public name
    """Reads positions from IB; knows nothing about instrument codes."""

    def managed_accounts(self) -> list[str]:
        self.ib_connection.ensure_connected()
        return self.ib.managedAccounts()

    def check_account(self, account_id: str | None) -> None:
        """Raise `IBAccountNotManaged` for an account the gateway does not manage (None = all)."""
        if not account_id:
            return
        managed = self.managed_accounts()
        if account_id not in managed:
            raise IBAccountNotManaged(
                message=f"account {account_id!r} is not managed by this IB gateway; managed: {', '.join(managed)}"
            )

    def broker_get_positions(self, account_id: str | None = None) -> list[Position]:
        """Every non-zero position, all asset classes, of one account (None = all managed accounts).

        Asks the gateway afresh (reqPositions) rather than reading ib_async's cache, so a fill
        that has just happened is included once the gateway has booked it.
        """
        self.check_account(account_id)
        rows = self.run_request(self.ib.reqPositionsAsync, "positions")
        # IB sends closed positions as 0 until the day changes; a resent row replaces the earlier.
        latest: dict[tuple[str, int], Position] = {}
        for row in rows:
            latest[(row.account, row.contract.conId)] = row
        return [row for row in latest.values() if row.position != 0 and (not account_id or row.account == account_id)]

    def broker_get_futures_positions(self, account_id: str | None = None) -> list[Position]:
        """The futures (secType FUT) positions of `broker_get_positions`."""
        return [row for row in self.broker_get_positions(account_id) if row.contract.secType == FUTURES_SEC_TYPE]

    def ib_contract_details_for_con_id(self, con_id: int) -> ContractDetails | None:
        """Contract details of one conId (expired contracts included); None if IB has none."""
        pattern = Contract(conId=con_id, includeExpired=True)
        details = self.run_request(
            lambda: self.ib.reqContractDetailsAsync(pattern), f"contract details of conId {con_id}"
        )
        return details[0] if details else None
