"""`ibCapitalData`: account values, margin and what-if margin at IB (seed 001 "Capital data").

    ib_capital_data = ibCapitalData()        # opens (and owns) a connection from the configuration
    ib_capital_data = ibCapitalData(conn)    # uses an existing connection
    ib_capital_data.get_account_value_across_currency_across_accounts()

Amounts are `listOfCurrencyValues`, one `currencyValue` per currency, summed over the accounts
asked for (all managed accounts unless `account_id` is given), as pysystemtrade returns them.
Every call reads a fresh account summary from the gateway; a call that needs several figures
takes them from one snapshot. A connection opened here is closed by `close()`, by leaving a
`with` block, or when the object is garbage-collected.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from typing import Any

from sysbrokers.IB.client.ib_accounting_client import accountSummary, ibAccountingClient, parse_ib_amount
from sysbrokers.IB.client.ib_contracts_client import ibContractsClient
from sysbrokers.IB.ib_connection import connectionIB
from sysbrokers.IB.ib_data_args import data_and_log, data_object_repr, ibAsyncForms
from sysdata.config.configdata import Config, get_production_config
from sysobjects.contracts import futuresContract
from sysobjects.positions import listOfCurrencyValues, whatIfMargin

NET_LIQUIDATION = "NetLiquidation"
EXCESS_LIQUIDITY = "FullExcessLiquidity"  # pysystemtrade's choice: no look-ahead, whole account
INITIAL_MARGIN = "FullInitMarginReq"
MAINTENANCE_MARGIN = "FullMaintMarginReq"
CASH_BALANCE = "TotalCashBalance"  # ledger tag: cash per currency (pysystemtrade's FX balances)
NET_LIQUIDATION_BY_CURRENCY = "NetLiquidationByCurrency"  # ledger tag


class ibCapitalData(ibAsyncForms):  # noqa: N801 - pysystemtrade's public name
    """Capital, margin and cash at IB, per currency, for one or all managed accounts."""

    __repr__ = data_object_repr  # "<ibXxxData on 127.0.0.1:4001 client 999 connected>"

    def __init__(
        self,
        ibconnection: connectionIB | None = None,
        data: Any = None,
        log: logging.Logger | None = None,
        config: Config | None = None,
    ):
        self.data, log = data_and_log(data, log)  # (conn, data_blob, log=...) as pysystemtrade's blob calls it
        self._log = log or logging.getLogger("ibCapitalData")
        self._owns_connection = ibconnection is None
        if ibconnection is None:
            # pysystemtrade's form: host, port, account and a leased client id from the configuration.
            ibconnection = connectionIB(config or get_production_config(), log_name="ibCapitalData")
        self._connection = ibconnection
        self._client = ibAccountingClient(ibconnection, self._log)
        self._contracts_client = ibContractsClient(ibconnection, self._log)
        self._base_currencies: dict[str, str] = {}
        # A script that drops the object (seed 001 rebinds the name) must not leak the connection.
        self._finalizer = weakref.finalize(self, _close_quietly, ibconnection) if self._owns_connection else None

    @property
    def ibconnection(self) -> connectionIB:
        return self._connection

    @property
    def ib_client(self) -> ibAccountingClient:
        return self._client

    def close(self) -> None:
        """Close the connection if this object opened it (an injected connection stays open)."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> ibCapitalData:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ pysystemtrade API
    def get_account_value_across_currency_across_accounts(self) -> listOfCurrencyValues:
        """Net liquidation value per (base) currency, summed over every managed account.

        Example: ib_capital_data.get_account_value_across_currency_across_accounts()  # [1000000.00 USD]
        """
        return self.get_account_value_across_currency(None)

    def get_account_value_across_currency(self, account_id: str | None = None) -> listOfCurrencyValues:
        """Net liquidation value per (base) currency (None = all managed accounts)."""
        return self._across_currency(NET_LIQUIDATION, account_id)

    def get_excess_liquidity_value_across_currency(self, account_id: str | None = None) -> listOfCurrencyValues:
        """IB's FullExcessLiquidity per (base) currency."""
        return self._across_currency(EXCESS_LIQUIDITY, account_id)

    # --------------------------------------------------------------- capital / margin
    def get_net_liquidation(self, account_id: str | None = None) -> listOfCurrencyValues:
        return self._across_currency(NET_LIQUIDATION, account_id)

    def get_excess_liquidity(self, account_id: str | None = None) -> listOfCurrencyValues:
        return self._across_currency(EXCESS_LIQUIDITY, account_id)

    def get_margin_used(self, account_id: str | None = None) -> listOfCurrencyValues:
        """Net liquidation minus excess liquidity, per base currency (pysystemtrade's definition).

        For a futures-only account this is IB's maintenance margin requirement.
        """
        summary, accounts = self._snapshot(account_id)
        net = summary.across_currency(NET_LIQUIDATION, accounts).as_dict()
        excess = summary.across_currency(EXCESS_LIQUIDITY, accounts).as_dict()
        return listOfCurrencyValues.from_dict({ccy: net[ccy] - excess.get(ccy, 0.0) for ccy in net})

    def get_initial_margin(self, account_id: str | None = None) -> listOfCurrencyValues:
        return self._across_currency(INITIAL_MARGIN, account_id)

    def get_maintenance_margin(self, account_id: str | None = None) -> listOfCurrencyValues:
        return self._across_currency(MAINTENANCE_MARGIN, account_id)

    def get_account_values_for_tag(self, tag: str, account_id: str | None = None) -> listOfCurrencyValues:
        """Any account-summary tag (see `SUMMARY_TAGS`), e.g. "TotalCashValue" or "BuyingPower"."""
        return self._across_currency(tag, account_id)

    # ------------------------------------------------------------------ per currency
    def get_cash_balances(self, account_id: str | None = None) -> listOfCurrencyValues:
        """Cash held in each currency (IB's TotalCashBalance ledger), e.g. EUR paid in commissions."""
        return self._across_currency(CASH_BALANCE, account_id)

    def get_net_liquidation_by_currency(self, account_id: str | None = None) -> listOfCurrencyValues:
        """Net liquidation split by the currency it is held in (cash plus futures P&L per currency)."""
        return self._across_currency(NET_LIQUIDATION_BY_CURRENCY, account_id)

    def get_exchange_rates(self, account_id: str | None = None) -> dict[str, float]:
        """Base-currency units per unit of each currency held (IB's rates, as used in NetLiquidation).

        Accounts with different base currencies have no common rates: ask for one account.
        """
        summary, accounts = self._snapshot(account_id)
        bases = {summary.base_currency(account) for account in accounts}
        if len(bases) > 1:
            raise ValueError(f"accounts {accounts} have different base currencies {sorted(bases)}: pass account_id")
        rates: dict[str, float] = {}
        for account in accounts:
            rates.update(summary.exchange_rates(account))
        return rates

    def get_base_currency(self, account_id: str | None = None) -> str:
        summary, accounts = self._snapshot(account_id)
        bases = sorted({summary.base_currency(account) for account in accounts})
        if len(bases) > 1:
            raise ValueError(f"accounts {accounts} have different base currencies {bases}: pass account_id")
        return bases[0]

    def get_account_summary(self) -> accountSummary:
        """The raw snapshot: (account, tag, currency) -> value for every managed account."""
        return self._client.ib_get_account_summary()

    # --------------------------------------------------------------------- what-if
    def get_margin_for_order(
        self, contract: futuresContract, quantity: int, account_id: str | None = None
    ) -> whatIfMargin:
        """What a market order for `quantity` (signed: + buys) would do to margin; nothing is placed.

        Uses IB's what-if order. The account is `account_id`, else the connection's account, else
        the only managed account. Raises `IBReadOnlyError` on a read-only connection (a what-if is
        sent as an order), `ValueError` for a zero or non-integer quantity.
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
            raise ValueError(f"quantity must be a non-zero integer number of contracts, got {quantity!r}")
        self._connection.check_can_trade()
        account = self._order_account(account_id)
        ib_contract = self._contracts_client.ib_futures_contract(contract)
        state = self._client.ib_what_if_order(ib_contract, quantity, account)
        return whatIfMargin(
            account=account,
            contract=contract,
            quantity=quantity,
            currency=self._base_currency_of(account),
            init_margin_before=parse_ib_amount(state.initMarginBefore),
            init_margin_change=parse_ib_amount(state.initMarginChange),
            init_margin_after=parse_ib_amount(state.initMarginAfter),
            maint_margin_before=parse_ib_amount(state.maintMarginBefore),
            maint_margin_change=parse_ib_amount(state.maintMarginChange),
            maint_margin_after=parse_ib_amount(state.maintMarginAfter),
            equity_with_loan_before=parse_ib_amount(state.equityWithLoanBefore),
            equity_with_loan_change=parse_ib_amount(state.equityWithLoanChange),
            equity_with_loan_after=parse_ib_amount(state.equityWithLoanAfter),
            commission=parse_ib_amount(state.commission),
            commission_currency=state.commissionCurrency,
            warning_text=state.warningText,
        )

    # ------------------------------------------------------------------ internals
    def _snapshot(self, account_id: str | None) -> tuple[accountSummary, list[str]]:
        accounts = self._client.accounts_for(account_id)
        summary = self._client.ib_get_account_summary()
        for account in summary.accounts():
            with contextlib.suppress(KeyError):  # an account without NetLiquidation yet
                self._base_currencies[account] = summary.base_currency(account)
        return summary, accounts

    def _base_currency_of(self, account: str) -> str:
        # An account's base currency never changes: one summary request per object at most.
        if account not in self._base_currencies:
            summary = self._client.ib_get_account_summary((NET_LIQUIDATION,))
            self._base_currencies[account] = summary.base_currency(account)
        return self._base_currencies[account]

    def _across_currency(self, tag: str, account_id: str | None) -> listOfCurrencyValues:
        summary, accounts = self._snapshot(account_id)
        return summary.across_currency(tag, accounts)

    def _order_account(self, account_id: str | None) -> str:
        if account_id:
            return self._client.accounts_for(account_id)[0]
        if self._connection.account:
            return self._connection.account
        managed = self._client.managed_accounts()
        if len(managed) == 1:
            return managed[0]
        raise ValueError(f"the gateway manages several accounts ({', '.join(managed)}): pass account_id")


def _close_quietly(connection: connectionIB) -> None:
    try:
        connection.close_connection()
    except Exception as exc:  # at interpreter exit the loop may be gone; nothing to recover
        logging.getLogger("ibCapitalData").warning("closing the IB connection failed: %s", exc)
