"""`ibAccountingClient`: account values and what-if margins from IB.

Account values come from a one-shot account summary (reqAccountSummary for the group "All",
then cancel), so every call sees the gateway's current figures: IB pushes updates of a standing
summary subscription only every three minutes, and allows two such subscriptions at a time.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ib_async import AccountValue, Contract, MarketOrder, OrderState

from sysbrokers.IB.client.ib_client import ibClient
from sysbrokers.IB.ib_errors import IBAccountNotManaged
from sysobjects.positions import listOfCurrencyValues, sum_currency_values

# The ledger rows of each currency carry this instead of a currency for the base-currency total.
BASE_LEDGER = "BASE"
LEDGER_ALL = "$LEDGER:ALL"
SUMMARY_TAGS = (
    "NetLiquidation",
    "TotalCashValue",
    "EquityWithLoanValue",
    "BuyingPower",
    "AvailableFunds",
    "InitMarginReq",
    "MaintMarginReq",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "ExcessLiquidity",
    "FullExcessLiquidity",
    LEDGER_ALL,  # CashBalance, TotalCashBalance, NetLiquidationByCurrency, ExchangeRate, ... per currency
)
# IB's "no value" for doubles, also sent as text in what-if order states.
UNSET_DOUBLE = 1.7976931348623157e308


@dataclass(frozen=True)
class accountSummary:  # noqa: N801 - pysystemtrade style name
    """One snapshot of IB account values: (account, tag, currency) -> value.

    Base-currency tags (NetLiquidation, FullExcessLiquidity, ...) come with the account's base
    currency; ledger tags (TotalCashBalance, NetLiquidationByCurrency, ExchangeRate, ...) come
    once per currency held and once more with currency "BASE" for the total.
    """

    values: Mapping[tuple[str, str, str], float]
    taken_at: dt.datetime  # UTC, local clock

    @classmethod
    def from_rows(cls, rows: Iterable[AccountValue], taken_at: dt.datetime) -> accountSummary:
        values: dict[tuple[str, str, str], float] = {}
        for row in rows:
            number = _number(row.value)
            if number is not None:  # AccountType and such are text
                values[(row.account, row.tag, row.currency)] = number
        return cls(values, taken_at)

    def accounts(self) -> list[str]:
        return sorted({account for account, _, _ in self.values})

    def base_currency(self, account: str) -> str:
        """The currency IB reports the account's NetLiquidation in."""
        for (acct, tag, ccy), _ in self.values.items():
            if acct == account and tag == "NetLiquidation" and ccy and ccy != BASE_LEDGER:
                return ccy
        raise KeyError(f"no NetLiquidation reported for account {account!r}")

    def by_currency(self, tag: str, account: str) -> dict[str, float]:
        """{currency: value} of `tag` for one account, without the ledger's "BASE" total."""
        return {
            ccy: value
            for (acct, t, ccy), value in self.values.items()
            if acct == account and t == tag and ccy and ccy != BASE_LEDGER
        }

    def across_currency(self, tag: str, accounts: Iterable[str]) -> listOfCurrencyValues:
        """pysystemtrade's shape: one `currencyValue` per currency, summed over `accounts`."""
        return sum_currency_values(self.by_currency(tag, account) for account in accounts)

    def exchange_rates(self, account: str) -> dict[str, float]:
        """Base-currency units per unit of each currency the account holds (IB's ExchangeRate)."""
        rates = self.by_currency("ExchangeRate", account)
        rates.setdefault(self.base_currency(account), 1.0)
        return rates


class ibAccountingClient(ibClient):  # noqa: N801 - pysystemtrade's public name
    """Account summaries and what-if orders."""

    def managed_accounts(self) -> list[str]:
        self.ib_connection.ensure_connected()
        return self.ib.managedAccounts()

    def accounts_for(self, account_id: str | None) -> list[str]:
        """[account_id] if the gateway manages it (else `IBAccountNotManaged`); None = all managed."""
        managed = self.managed_accounts()
        if not account_id:
            return managed
        if account_id not in managed:
            raise IBAccountNotManaged(
                message=f"account {account_id!r} is not managed by this IB gateway; managed: {', '.join(managed)}"
            )
        return [account_id]

    def ib_get_account_summary(self, tags: Iterable[str] = SUMMARY_TAGS) -> accountSummary:
        """A fresh snapshot of the account values of every managed account."""
        tag_list = ",".join(tags)
        rows = self.run_request(lambda: self._summary_once(tag_list), "account summary")
        return accountSummary.from_rows(rows, dt.datetime.now(dt.UTC))

    async def _summary_once(self, tags: str) -> list[AccountValue]:
        ib = self.ib
        wrapper = ib.wrapper
        # ib_async subscribes on demand only while its own table is empty: leave it as found.
        table_was_empty = not wrapper.acctSummary
        rows: list[AccountValue] = []

        def collect(value: AccountValue) -> None:
            rows.append(value)

        req_id = ib.client.getReqId()
        done = wrapper.startReq(req_id)
        ib.accountSummaryEvent += collect
        try:
            ib.client.reqAccountSummary(req_id, "All", tags)
            await done
        finally:
            ib.accountSummaryEvent -= collect
            if ib.isConnected():
                ib.client.cancelAccountSummary(req_id)
            if table_was_empty:
                wrapper.acctSummary.clear()
        return rows

    # ------------------------------------------------------------ pysystemtrade's names
    def broker_get_account_value_across_currency(self, account_id: str | None = None) -> listOfCurrencyValues:
        """NetLiquidation per currency, summed over `account_id` (default: every managed account)."""
        return self.ib_get_account_summary().across_currency("NetLiquidation", self.accounts_for(account_id))

    def broker_get_excess_liquidity_value_across_currency(self, account_id: str | None = None) -> listOfCurrencyValues:
        """FullExcessLiquidity per currency, summed over `account_id` (default: every managed account)."""
        return self.ib_get_account_summary().across_currency("FullExcessLiquidity", self.accounts_for(account_id))

    def account_summary_data(self) -> dict[str, dict[str, dict[str, float]]]:
        """pysystemtrade's shape: {account: {tag: {currency: value}}} from a fresh summary."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for (account, tag, currency), value in self.ib_get_account_summary().values.items():
            out.setdefault(account, {}).setdefault(tag, {})[currency] = value
        return out

    def ib_what_if_order(self, ib_contract: Contract, quantity: int, account: str) -> OrderState:
        """IB's what-if answer for a market order of `quantity` (signed) in `account`; nothing is placed."""
        order = MarketOrder("BUY" if quantity > 0 else "SELL", abs(quantity), account=account)
        return self.run_request(
            lambda: self.ib.whatIfOrderAsync(ib_contract, order), f"what-if order for {ib_contract.localSymbol}"
        )


def parse_ib_amount(value: object) -> float | None:
    """A number from IB's what-if / account fields; None for blank, unset or unparsable values."""
    return _number(value)


def _number(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number >= UNSET_DOUBLE:
        return None
    return number


__all__ = ["SUMMARY_TAGS", "accountSummary", "ibAccountingClient", "parse_ib_amount"]
