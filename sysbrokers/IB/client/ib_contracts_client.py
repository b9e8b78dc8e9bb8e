"""`ibContractsClient`: futures contracts at IB — resolution, expiries, ticks, trading hours.

Contract details are cached per process (per gateway address), so resolving the same contract
twice costs one request.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from ib_async import Contract, ContractDetails

from sysbrokers.IB.client.ib_client import ibClient
from sysbrokers.IB.contract_resolution import (
    ResolvedContract,
    choose_contract,
    contract_pattern,
    instrument_pattern,
    parse_trading_hours,
    resolve_spread,
    resolved,
)
from sysbrokers.IB.ib_errors import IBNoSecurityDefinition
from sysbrokers.IB.ib_instrument_config import load_futures_config, load_trading_hours_overrides
from sysobjects.contract_dates import expiryDate
from sysobjects.contracts import futuresContract
from sysobjects.instruments import futuresInstrumentWithIBConfigData
from sysobjects.trading_hours import listOfTradingHours

# Listings change once a day at most; a contract's details never change.
LISTING_CACHE_SECONDS = 3600.0

_cache_lock = threading.Lock()
_resolved_cache: dict[tuple, ResolvedContract] = {}
_listing_cache: dict[tuple, tuple[float, list[ContractDetails]]] = {}


def clear_contract_cache() -> None:
    """Forget every cached contract (tests; or after changing the instrument config)."""
    with _cache_lock:
        _resolved_cache.clear()
        _listing_cache.clear()


class ibContractsClient(ibClient):  # noqa: N801 - pysystemtrade's public name
    """Finds the one IB contract behind a `futuresContract` and reports its IB details."""

    # ------------------------------------------------------------ instruments
    def instrument_with_ib_data(self, instrument_code: str) -> futuresInstrumentWithIBConfigData:
        """The instrument's IB configuration (raises `UnknownInstrument` naming the code and file)."""
        config = self.__dict__.get("_futures_config")
        if config is None:
            # Read once per client object: the loader would look for private overrides on disk per call.
            config = self._futures_config = load_futures_config()
        return config.get(instrument_code)

    # -------------------------------------------------------------- resolving
    def resolve(self, contract: futuresContract, allow_expired: bool = False) -> ResolvedContract:
        """The IB contract for `contract` (its month, or exact expiry when the date has a day)."""
        key = self._cache_key(contract)
        hit = _resolved_cache.get(key)
        if hit is not None:  # no request and no event-loop run for a contract seen before
            return self._unexpired(contract, hit, allow_expired, self.ib_connection.now())
        instrument, pattern = self._pattern(contract, allow_expired)
        try:
            details = self.run_request(lambda: self.ib.reqContractDetailsAsync(pattern), _what(contract), pattern)
        except IBNoSecurityDefinition:
            details = []
        return self._remember(key, instrument, contract, details)

    async def resolve_async(self, contract: futuresContract, allow_expired: bool = False) -> ResolvedContract:
        """`resolve` for code running inside the event loop."""
        key = self._cache_key(contract)
        hit = _resolved_cache.get(key)
        if hit is not None:
            return self._unexpired(contract, hit, allow_expired, await self.ib_connection.now_async())
        instrument, pattern = self._pattern(contract, allow_expired)
        try:
            details = await self.request_async(
                lambda: self.ib.reqContractDetailsAsync(pattern), _what(contract), pattern
            )
        except IBNoSecurityDefinition:
            details = []
        return self._remember(key, instrument, contract, details)

    def _pattern(
        self, contract: futuresContract, allow_expired: bool
    ) -> tuple[futuresInstrumentWithIBConfigData, Contract]:
        instrument = self.instrument_with_ib_data(contract.instrument_code)
        return instrument, contract_pattern(instrument, contract.contract_date, include_expired=allow_expired)

    @staticmethod
    def _remember(
        key: tuple, instrument: futuresInstrumentWithIBConfigData, contract: futuresContract, details: list
    ) -> ResolvedContract:
        """The one contract among IB's answer, cached under its month and its exact expiry."""
        chosen = resolved(choose_contract(details, instrument, contract.contract_date))
        with _cache_lock:
            _resolved_cache[key] = chosen
            # The exact-expiry form finds the same contract next time without a request.
            _resolved_cache[(key[0], key[1], chosen.expiry_key)] = chosen
        return chosen

    def _cache_key(self, contract: futuresContract) -> tuple:
        return (self._gateway_key(), contract.instrument_code, contract.contract_date.date_str)

    @staticmethod
    def _unexpired(
        contract: futuresContract, found: ResolvedContract, allow_expired: bool, now: dt.datetime
    ) -> ResolvedContract:
        if not allow_expired and found.expiry_utc is not None and found.expiry_utc <= now:
            raise IBNoSecurityDefinition(
                message=f"{contract.key} expired on {found.expiry_date}: ask with allow_expired=True"
            )
        return found

    def ib_futures_contract(
        self,
        contract: futuresContract,
        allow_expired: bool = False,
        always_return_single_leg: bool = False,
        trade_list_for_multiple_legs: Any = None,
    ) -> Contract:
        """The qualified ib_async `Contract` (with conId) for `contract`; for a calendar spread
        ("20250600_20250900") the IB BAG with the legs' conIds and the trade list's ratios
        (default [1, -1]), or its first leg with `always_return_single_leg`."""
        if contract.is_spread_contract():
            if always_return_single_leg:
                return self.resolve(contract.as_list_of_individual_contracts()[0], allow_expired).contract
            return self._spread(contract, allow_expired, trade_list_for_multiple_legs).contract
        _refuse_spread(contract, trade_list_for_multiple_legs)
        return self.resolve(contract, allow_expired).contract

    def _spread(self, contract: futuresContract, allow_expired: bool, trade_list: Any):
        legs = None if trade_list is None or isinstance(trade_list, int | float) else list(trade_list)
        return resolve_spread(contract, legs, lambda leg: self.resolve(leg, allow_expired))

    def ib_get_contract_details(self, contract: futuresContract, allow_expired: bool = False) -> ContractDetails:
        return self.resolve(contract, allow_expired).details

    def listed_contracts(self, instrument_code: str, allow_expired: bool = False) -> list[ResolvedContract]:
        """Every contract IB lists for the instrument (expired ones too with `allow_expired`)."""
        instrument = self.instrument_with_ib_data(instrument_code)
        key = (self._gateway_key(), instrument_code, allow_expired)
        with _cache_lock:
            hit = _listing_cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < LISTING_CACHE_SECONDS:
            details = hit[1]
        else:
            pattern = instrument_pattern(instrument, include_expired=allow_expired)
            details = self._contract_details(pattern, f"contracts of {instrument_code}", allow_missing=True)
            with _cache_lock:
                _listing_cache[key] = (time.monotonic(), details)
        chosen = [
            d
            for d in details
            if not instrument.ib_data.trading_class or d.contract.tradingClass == instrument.ib_data.trading_class
        ]
        listed = sorted((resolved(d) for d in chosen), key=lambda r: r.expiry_date)
        self._remember_listed(instrument_code, listed)
        return listed

    def _remember_listed(self, instrument_code: str, listed: list[ResolvedContract]) -> None:
        """Resolving a listed contract later needs no request: cache each one by its expiry, and
        by its contract month where that month has only this contract."""
        by_month: dict[str, list[ResolvedContract]] = {}
        for found in listed:
            by_month.setdefault(found.details.contractMonth or "", []).append(found)
        gateway = self._gateway_key()
        with _cache_lock:
            for found in listed:
                _resolved_cache[(gateway, instrument_code, found.expiry_key)] = found
            for month, contracts in by_month.items():
                if month and len(contracts) == 1:
                    _resolved_cache[(gateway, instrument_code, f"{month}00")] = contracts[0]

    # ----------------------------------------------------- pysystemtrade API
    def broker_get_futures_contract_list(
        self, instrument_code: str | futuresInstrumentWithIBConfigData, allow_expired: bool = False
    ) -> list[str]:
        """IB's expiries (YYYYMMDD) of the instrument's listed contracts, nearest first (an
        instrument code, or pysystemtrade's instrument object with IB data)."""
        code = getattr(instrument_code, "instrument_code", instrument_code)
        return [r.expiry_key for r in self.listed_contracts(code, allow_expired)]

    def broker_get_single_contract_expiry_date(
        self, contract: futuresContract, allow_expired: bool = True
    ) -> expiryDate:
        return expiryDate.from_date(self.resolve(contract, allow_expired).expiry_date)

    def ib_get_min_tick_size(self, contract: futuresContract, allow_expired: bool = False) -> float:
        """The minimum price move in the layer's price units (IB's minTick / price magnifier)."""
        found = self.resolve(contract, allow_expired)
        return found.min_tick / found.price_magnifier

    def ib_get_price_magnifier(self, contract: futuresContract, allow_expired: bool = False) -> int:
        return self.resolve(contract, allow_expired).price_magnifier

    def ib_get_trading_hours(self, contract: futuresContract) -> listOfTradingHours:
        """The coming trading sessions as UTC (start, end) pairs (a `listOfTradingHours` on the gateway's clock).

        IB's tradingHours, narrowed to the instrument's entry in the trading-hours overrides
        (ib_config_trading_hours.yaml, then private_config_trading_hours.yaml) when it has one.
        """
        found = self.resolve(contract)
        hours = parse_trading_hours(found.details.tradingHours, found.time_zone)
        if hours and hours[-1][1] <= self.ib_connection.now():
            # Cached details list about a week of sessions: a process running longer asks again.
            found = self._resolve_afresh(contract)
            hours = parse_trading_hours(found.details.tradingHours, found.time_zone)
        override = load_trading_hours_overrides().for_instrument(contract.instrument_code)
        if override is None or not hours:
            return listOfTradingHours(hours, clock=self.ib_connection.now)
        allowed: list[tuple[dt.datetime, dt.datetime]] = []
        day = hours[0][0].date() - dt.timedelta(days=1)
        while day <= hours[-1][1].date() + dt.timedelta(days=1):
            allowed.extend(override.sessions_on(day))
            day += dt.timedelta(days=1)
        return listOfTradingHours(_intersect(hours, allowed), clock=self.ib_connection.now)

    def _resolve_afresh(self, contract: futuresContract) -> ResolvedContract:
        """`resolve` with a new request, replacing the cached details (and the hours they list)."""
        key = self._cache_key(contract)
        with _cache_lock:
            old = _resolved_cache.pop(key, None)
            if old is not None:
                _resolved_cache.pop((key[0], key[1], old.expiry_key), None)
        return self.resolve(contract)

    def ib_get_liquid_hours(self, contract: futuresContract) -> list[tuple[dt.datetime, dt.datetime]]:
        found = self.resolve(contract)
        return parse_trading_hours(found.details.liquidHours, found.time_zone)

    # ----------------------------------------------------- pysystemtrade's other names
    def ib_futures_contract_with_legs(
        self,
        futures_contract_with_ib_data: futuresContract,
        allow_expired: bool = False,
        trade_list_for_multiple_legs: Any = None,
    ):
        """`ibcontractWithLegs(ibcontract, legs)`: a calendar spread's IB BAG with its legs' contracts,
        or a single contract with no legs."""
        from sysbrokers.IB.ib_translate_broker_order_objects import ibcontractWithLegs

        if futures_contract_with_ib_data.is_spread_contract():
            spread = self._spread(futures_contract_with_ib_data, allow_expired, trade_list_for_multiple_legs)
            return ibcontractWithLegs(spread.contract, [leg.contract for leg in spread.legs])
        _refuse_spread(futures_contract_with_ib_data, trade_list_for_multiple_legs)
        return ibcontractWithLegs(self.ib_futures_contract(futures_contract_with_ib_data, allow_expired))

    def ib_resolve_unique_contract(self, ibcontract_pattern: Contract, allow_expired: bool = False) -> Contract:
        """The one contract matching an ib_async pattern; `IBNoSecurityDefinition` (a
        `missingContract`) for none or several."""
        chain = self.ib_get_contract_chain(ibcontract_pattern, allow_expired)
        if len(chain) != 1:
            raise IBNoSecurityDefinition(
                message=f"{len(chain)} contracts match {ibcontract_pattern}: need exactly one",
                contract=ibcontract_pattern,
            )
        return chain[0]

    def ib_get_contract_chain(self, ibcontract_pattern: Contract, allow_expired: bool = False) -> list[Contract]:
        """Every contract matching an ib_async pattern (expired ones too with `allow_expired`)."""
        pattern = Contract(**{**ibcontract_pattern.__dict__, "includeExpired": allow_expired})
        details = self._contract_details(pattern, f"contracts matching {pattern}", allow_missing=True)
        return [d.contract for d in details]

    def ib_get_contract_with_conId(self, symbol: str, conId: int) -> Contract:  # noqa: N802, N803
        """The contract with IB's id `conId` (`IBNoSecurityDefinition` if IB has none)."""
        details = self._contract_details(Contract(symbol=symbol, conId=conId), f"conId {conId}", allow_missing=False)
        return details[0].contract

    def ib_get_trading_hours_from_IB(self, contract: futuresContract) -> listOfTradingHours:  # noqa: N802
        """IB's own tradingHours for the contract, without the configured overrides."""
        found = self.resolve(contract)
        return listOfTradingHours(
            parse_trading_hours(found.details.tradingHours, found.time_zone), clock=self.ib_connection.now
        )

    def ib_get_timezoneid(self, contract: futuresContract) -> str:
        """The exchange's time zone as an IANA name (IB's legacy names are mapped)."""
        return self.resolve(contract).time_zone

    def get_all_saved_weekly_trading_hours(self):
        """The trading-hours overrides (ib_config_trading_hours.yaml + private), by instrument and zone."""
        return load_trading_hours_overrides()

    def ib_get_saved_weekly_trading_hours_custom_for_contract(self, contract: futuresContract):
        """The instrument's own override entry (a `WeeklyTradingHours`), or None."""
        return load_trading_hours_overrides().for_instrument(contract.instrument_code)

    def ib_get_saved_weekly_trading_hours_for_timezone_of_contract(self, contract: futuresContract):
        """The override entry for the contract's exchange time zone, or None."""
        return load_trading_hours_overrides().for_time_zone(self.ib_get_timezoneid(contract))

    def ib_get_saved_weekly_trading_hours_for_contract(self, contract: futuresContract):
        """The instrument's entry, else its time zone's, else None (pysystemtrade's precedence)."""
        return self.ib_get_saved_weekly_trading_hours_custom_for_contract(
            contract
        ) or self.ib_get_saved_weekly_trading_hours_for_timezone_of_contract(contract)

    # ------------------------------------------------------------- internals
    def _contract_details(self, pattern: Contract, what: str, allow_missing: bool) -> list[ContractDetails]:
        try:
            return self.run_request(lambda: self.ib.reqContractDetailsAsync(pattern), what, contract=pattern)
        except IBNoSecurityDefinition:
            if allow_missing:
                return []
            raise

    def _gateway_key(self) -> tuple[Any, ...]:
        return self.ib_connection.address


def _what(contract: futuresContract) -> str:
    return f"contract details for {contract.key}"


def _intersect(
    a: list[tuple[dt.datetime, dt.datetime]], b: list[tuple[dt.datetime, dt.datetime]]
) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    for start_a, end_a in a:
        for start_b, end_b in b:
            start, end = max(start_a, start_b), min(end_a, end_b)
            if end > start:
                out.append((start, end))
    return sorted(out)


def _refuse_spread(contract: futuresContract, trade_list: Any) -> None:
    legs = [] if trade_list is None or isinstance(trade_list, int | float) else list(trade_list)
    if len(legs) > 1:
        raise IBNoSecurityDefinition(
            message=f"{contract} is a single contract: a trade list of {len(legs)} legs needs a spread contract"
        )
