"""Message ids, request decoders and reply encoders of the simulated gateway.

    request = decode_request(msg_id, fields, version=178)   # e.g. ReqHistoricalData
    frame = encode_frame(historical_data(req_id, start, end, rows))

Layouts follow tws-protocol.md section 4 at server versions 166..178 (ib_async negotiates
178, ib_insync 176). Decoders read requests sequentially, as TWS does, because conditional
blocks (combo legs, delta-neutral, algo, conditions...) shift every later field. Encoders
return the field list of one message (id first) for ``wire.encode_frame``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

from ibsim.wire import (
    UNSET_DOUBLE,
    UNSET_DOUBLE_STR,
    UNSET_INTEGER,
    FieldReader,
    ProtocolError,
    format_float,
)

# Encoders implement the layouts from here up to wire.SIM_MAX_VERSION.
MIN_LAYOUT_VERSION = 166

# Version thresholds (ibapi server_versions.py) that change layouts used here.
V_PRICE_MGMT_ALGO_DURATION = 158
V_POST_TO_ATS = 160
V_AUTO_CANCEL_PARENT = 162
V_SIZE_RULES = 164
V_ADVANCED_ORDER_REJECT = 166
V_MANUAL_ORDER_TIME = 169
V_PEGBEST_PEGMID_OFFSETS = 170
V_BOND_ISSUERID = 176
V_FA_PROFILE_DESUPPORT = 177
V_PENDING_PRICE_REVISION = 178


class In(enum.IntEnum):
    """Client→server message ids (ibapi ``OUT``)."""

    REQ_MKT_DATA = 1
    CANCEL_MKT_DATA = 2
    PLACE_ORDER = 3
    CANCEL_ORDER = 4
    REQ_OPEN_ORDERS = 5
    REQ_ACCT_DATA = 6
    REQ_EXECUTIONS = 7
    REQ_IDS = 8
    REQ_CONTRACT_DATA = 9
    REQ_MKT_DEPTH = 10
    CANCEL_MKT_DEPTH = 11
    REQ_AUTO_OPEN_ORDERS = 15
    REQ_ALL_OPEN_ORDERS = 16
    REQ_MANAGED_ACCTS = 17
    REQ_HISTORICAL_DATA = 20
    CANCEL_HISTORICAL_DATA = 25
    REQ_CURRENT_TIME = 49
    REQ_REAL_TIME_BARS = 50
    CANCEL_REAL_TIME_BARS = 51
    REQ_GLOBAL_CANCEL = 58
    REQ_MARKET_DATA_TYPE = 59
    REQ_POSITIONS = 61
    REQ_ACCOUNT_SUMMARY = 62
    CANCEL_ACCOUNT_SUMMARY = 63
    CANCEL_POSITIONS = 64
    START_API = 71
    REQ_POSITIONS_MULTI = 74
    CANCEL_POSITIONS_MULTI = 75
    REQ_ACCOUNT_UPDATES_MULTI = 76
    CANCEL_ACCOUNT_UPDATES_MULTI = 77
    REQ_SEC_DEF_OPT_PARAMS = 78
    REQ_MATCHING_SYMBOLS = 81
    REQ_HEAD_TIMESTAMP = 87
    CANCEL_HEAD_TIMESTAMP = 90
    REQ_MARKET_RULE = 91
    REQ_PNL = 92
    CANCEL_PNL = 93
    REQ_PNL_SINGLE = 94
    CANCEL_PNL_SINGLE = 95
    REQ_HISTORICAL_TICKS = 96
    REQ_TICK_BY_TICK_DATA = 97
    CANCEL_TICK_BY_TICK_DATA = 98
    REQ_COMPLETED_ORDERS = 99


class Out(enum.IntEnum):
    """Server→client message ids (ibapi ``IN``)."""

    TICK_PRICE = 1
    TICK_SIZE = 2
    ORDER_STATUS = 3
    ERR_MSG = 4
    OPEN_ORDER = 5
    ACCT_VALUE = 6
    PORTFOLIO_VALUE = 7
    ACCT_UPDATE_TIME = 8
    NEXT_VALID_ID = 9
    CONTRACT_DATA = 10
    EXECUTION_DATA = 11
    MANAGED_ACCTS = 15
    HISTORICAL_DATA = 17
    TICK_GENERIC = 45
    TICK_STRING = 46
    CURRENT_TIME = 49
    REAL_TIME_BARS = 50
    CONTRACT_DATA_END = 52
    OPEN_ORDER_END = 53
    ACCT_DOWNLOAD_END = 54
    EXECUTION_DATA_END = 55
    TICK_SNAPSHOT_END = 57
    MARKET_DATA_TYPE = 58
    COMMISSION_REPORT = 59
    POSITION_DATA = 61
    POSITION_END = 62
    ACCOUNT_SUMMARY = 63
    ACCOUNT_SUMMARY_END = 64
    POSITION_MULTI = 71
    POSITION_MULTI_END = 72
    ACCOUNT_UPDATE_MULTI = 73
    ACCOUNT_UPDATE_MULTI_END = 74
    SCANNER_PARAMETERS = 19
    DISPLAY_GROUP_LIST = 67
    DISPLAY_GROUP_UPDATED = 68
    SECURITY_DEFINITION_OPTION_PARAMETER_END = 76
    SOFT_DOLLAR_TIERS = 77
    FAMILY_CODES = 78
    SYMBOL_SAMPLES = 79
    MKT_DEPTH_EXCHANGES = 80
    TICK_REQ_PARAMS = 81
    SMART_COMPONENTS = 82
    NEWS_PROVIDERS = 85
    HISTORICAL_NEWS_END = 87
    HEAD_TIMESTAMP = 88
    HISTORICAL_DATA_UPDATE = 90
    MARKET_RULE = 93
    PNL = 94
    PNL_SINGLE = 95
    HISTORICAL_TICKS = 96
    HISTORICAL_TICKS_BID_ASK = 97
    HISTORICAL_TICKS_LAST = 98
    TICK_BY_TICK = 99
    COMPLETED_ORDER = 101
    COMPLETED_ORDERS_END = 102
    USER_INFO = 107


# ======================================================================================
# Shared data
# ======================================================================================


@dataclass
class ContractFields:
    """The 12 contract fields IB sends with most messages (``c12`` in the spec)."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date_or_contract_month: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""


@dataclass
class ComboLegSpec:
    con_id: int = 0
    ratio: int = 0
    action: str = ""
    exchange: str = ""
    open_close: int = 0
    short_sale_slot: int = 0
    designated_location: str = ""
    exempt_code: int = -1


@dataclass
class ContractSpec(ContractFields):
    """A contract as a client describes it in a request."""

    include_expired: bool = False
    sec_id_type: str = ""
    sec_id: str = ""
    issuer_id: str = ""
    combo_legs: list[ComboLegSpec] = field(default_factory=list)
    delta_neutral: tuple[int, float, float] | None = None  # (conId, delta, price)


_CONTRACT_FIELD_NAMES = tuple(f.name for f in fields(ContractFields))


def contract_kwargs(c: ContractFields) -> dict[str, object]:
    """The 12 contract fields of ``c`` as keyword arguments (for OpenOrderData etc.)."""
    return {name: getattr(c, name) for name in _CONTRACT_FIELD_NAMES}


# ======================================================================================
# Requests (client → server)
# ======================================================================================


@dataclass
class UnknownRequest:
    msg_id: int
    fields: list[str]


@dataclass
class ReqHistoricalTicks:
    req_id: int
    contract: ContractSpec
    start_date_time: str
    end_date_time: str
    number_of_ticks: int
    what_to_show: str
    use_rth: bool
    ignore_size: bool
    options: str


@dataclass
class ReqTickByTickData:
    req_id: int
    contract: ContractSpec
    tick_type: str
    number_of_ticks: int
    ignore_size: bool


@dataclass
class CancelTickByTickData:
    req_id: int


@dataclass
class ReqPositionsMulti:
    req_id: int
    account: str
    model_code: str


@dataclass
class CancelPositionsMulti:
    req_id: int


@dataclass
class ReqMarketRule:
    market_rule_id: int


@dataclass
class ReqMatchingSymbols:
    req_id: int
    pattern: str


@dataclass
class StartApi:
    client_id: int
    optional_capabilities: str = ""


@dataclass
class ReqContractDetails:
    req_id: int
    contract: ContractSpec


@dataclass
class ReqHistoricalData:
    req_id: int
    contract: ContractSpec
    end_date_time: str
    bar_size: str
    duration: str
    use_rth: bool
    what_to_show: str
    format_date: int
    keep_up_to_date: bool
    chart_options: str = ""


@dataclass
class CancelHistoricalData:
    req_id: int


@dataclass
class ReqHeadTimeStamp:
    req_id: int
    contract: ContractSpec
    use_rth: bool
    what_to_show: str
    format_date: int


@dataclass
class CancelHeadTimeStamp:
    req_id: int


@dataclass
class ReqMktData:
    req_id: int
    contract: ContractSpec
    generic_ticks: str
    snapshot: bool
    regulatory_snapshot: bool
    options: str = ""


@dataclass
class CancelMktData:
    req_id: int


@dataclass
class ReqMarketDataType:
    market_data_type: int


@dataclass
class ReqRealTimeBars:
    req_id: int
    contract: ContractSpec
    bar_size: int
    what_to_show: str
    use_rth: bool
    options: str = ""


@dataclass
class CancelRealTimeBars:
    req_id: int


@dataclass
class OrderSpec:
    """An order as placeOrder sends it. Unset prices/sizes are None."""

    action: str = ""
    total_quantity: float = 0.0
    order_type: str = ""
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = ""
    oca_group: str = ""
    account: str = ""
    open_close: str = ""
    origin: int = 0
    order_ref: str = ""
    transmit: bool = True
    parent_id: int = 0
    block_order: bool = False
    sweep_to_fill: bool = False
    display_size: int | None = None
    trigger_method: int = 0
    outside_rth: bool = False
    hidden: bool = False
    order_combo_leg_prices: list[float | None] = field(default_factory=list)
    smart_combo_routing_params: list[tuple[str, str]] = field(default_factory=list)
    discretionary_amt: float = 0.0
    good_after_time: str = ""
    good_till_date: str = ""
    fa_group: str = ""
    fa_method: str = ""
    fa_percentage: str = ""
    fa_profile: str = ""
    model_code: str = ""
    short_sale_slot: int = 0
    designated_location: str = ""
    exempt_code: int = -1
    oca_type: int = 0
    rule80a: str = ""
    settling_firm: str = ""
    all_or_none: bool = False
    min_qty: int | None = None
    percent_offset: float | None = None
    e_trade_only: bool = False
    firm_quote_only: bool = False
    nbbo_price_cap: float | None = None
    auction_strategy: int = 0
    starting_price: float | None = None
    stock_ref_price: float | None = None
    delta: float | None = None
    stock_range_lower: float | None = None
    stock_range_upper: float | None = None
    override_percentage_constraints: bool = False
    volatility: float | None = None
    volatility_type: int | None = None
    delta_neutral_order_type: str = ""
    delta_neutral_aux_price: float | None = None
    delta_neutral_fields: list[str] = field(default_factory=list)
    continuous_update: bool = False
    reference_price_type: int | None = None
    trail_stop_price: float | None = None
    trailing_percent: float | None = None
    scale_init_level_size: int | None = None
    scale_subs_level_size: int | None = None
    scale_price_increment: float | None = None
    scale_fields: list[str] = field(default_factory=list)
    scale_table: str = ""
    active_start_time: str = ""
    active_stop_time: str = ""
    hedge_type: str = ""
    hedge_param: str = ""
    opt_out_smart_routing: bool = False
    clearing_account: str = ""
    clearing_intent: str = ""
    not_held: bool = False
    algo_strategy: str = ""
    algo_params: list[tuple[str, str]] = field(default_factory=list)
    algo_id: str = ""
    what_if: bool = False
    order_misc_options: str = ""
    solicited: bool = False
    randomize_size: bool = False
    randomize_price: bool = False
    peg_bench_fields: list[str] = field(default_factory=list)
    conditions: list[list[str]] = field(default_factory=list)  # [condType, ...fields]
    conditions_ignore_rth: bool = False
    conditions_cancel_order: bool = False
    adjusted_order_type: str = ""
    trigger_price: float | None = None
    lmt_price_offset: float | None = None
    adjusted_stop_price: float | None = None
    adjusted_stop_limit_price: float | None = None
    adjusted_trailing_amount: float | None = None
    adjustable_trailing_unit: int = 0
    ext_operator: str = ""
    soft_dollar_tier_name: str = ""
    soft_dollar_tier_value: str = ""
    cash_qty: float | None = None
    mifid2_decision_maker: str = ""
    mifid2_decision_algo: str = ""
    mifid2_execution_trader: str = ""
    mifid2_execution_algo: str = ""
    dont_use_auto_price_for_hedge: bool = False
    is_oms_container: bool = False
    discretionary_up_to_limit_price: bool = False
    use_price_mgmt_algo: bool | None = None
    duration: int | None = None
    post_to_ats: int | None = None
    auto_cancel_parent: bool = False
    advanced_error_override: str = ""
    manual_order_time: str = ""
    min_trade_qty: int | None = None
    min_compete_size: int | None = None
    compete_against_best_offset: float | None = None
    mid_offset_at_whole: float | None = None
    mid_offset_at_half: float | None = None


@dataclass
class PlaceOrder:
    order_id: int
    contract: ContractSpec
    order: OrderSpec


@dataclass
class CancelOrder:
    order_id: int
    manual_order_cancel_time: str = ""


@dataclass
class ReqOpenOrders:
    """reqOpenOrders (5): no fields but its version."""


@dataclass
class ReqAllOpenOrders:
    """reqAllOpenOrders (16): no fields but its version."""


@dataclass
class ReqAutoOpenOrders:
    auto_bind: bool


@dataclass
class ReqCompletedOrders:
    api_only: bool


@dataclass
class ReqExecutions:
    req_id: int
    client_id: int = 0
    acct_code: str = ""
    time: str = ""
    symbol: str = ""
    sec_type: str = ""
    exchange: str = ""
    side: str = ""


@dataclass
class ReqIds:
    num_ids: int


@dataclass
class ReqPositions:
    """reqPositions (61): no fields but its version."""


@dataclass
class CancelPositions:
    """cancelPositions (64): no fields but its version."""


@dataclass
class ReqAccountUpdates:
    subscribe: bool
    acct_code: str


@dataclass
class ReqAccountUpdatesMulti:
    req_id: int
    account: str
    model_code: str
    ledger_and_nlv: bool


@dataclass
class CancelAccountUpdatesMulti:
    req_id: int


@dataclass
class ReqAccountSummary:
    req_id: int
    group: str
    tags: str


@dataclass
class CancelAccountSummary:
    req_id: int


@dataclass
class ReqCurrentTime:
    """reqCurrentTime (49): no fields but its version."""


@dataclass
class ReqPnL:
    req_id: int
    account: str
    model_code: str


@dataclass
class CancelPnL:
    req_id: int


@dataclass
class ReqPnLSingle:
    req_id: int
    account: str
    model_code: str
    con_id: int


@dataclass
class CancelPnLSingle:
    req_id: int


@dataclass
class ReqGlobalCancel:
    """reqGlobalCancel (58): no fields but its version."""


@dataclass
class ReqManagedAccts:
    """reqManagedAccts (17): no fields but its version."""


# -------------------------------------------------------------------------------------
# Request decoders
# -------------------------------------------------------------------------------------


def _read_contract(r: FieldReader) -> ContractSpec:
    return ContractSpec(
        con_id=r.int("conId"),
        symbol=r.str("symbol"),
        sec_type=r.str("secType"),
        last_trade_date_or_contract_month=r.str("lastTradeDateOrContractMonth"),
        strike=r.float("strike"),
        right=r.str("right"),
        multiplier=r.str("multiplier"),
        exchange=r.str("exchange"),
        primary_exchange=r.str("primaryExchange"),
        currency=r.str("currency"),
        local_symbol=r.str("localSymbol"),
        trading_class=r.str("tradingClass"),
    )


def _read_short_legs(r: FieldReader, c: ContractSpec) -> None:
    """BAG legs as reqMktData / reqHistoricalData send them (4 fields per leg)."""
    for _ in range(r.int("comboLegsCount")):
        c.combo_legs.append(
            ComboLegSpec(
                con_id=r.int("leg.conId"),
                ratio=r.int("leg.ratio"),
                action=r.str("leg.action"),
                exchange=r.str("leg.exchange"),
            )
        )


def _read_version(r: FieldReader) -> int:
    return r.int("version")


def decode_req_mkt_data(r: FieldReader, version: int) -> ReqMktData:
    _read_version(r)
    req_id = r.int("reqId")
    c = _read_contract(r)
    if c.sec_type == "BAG":
        _read_short_legs(r, c)
    if r.bool("deltaNeutralContractPresent"):
        c.delta_neutral = (
            r.int("dnc.conId"),
            r.float("dnc.delta"),
            r.float("dnc.price"),
        )
    return ReqMktData(
        req_id=req_id,
        contract=c,
        generic_ticks=r.str("genericTickList"),
        snapshot=r.bool("snapshot"),
        regulatory_snapshot=r.bool("regulatorySnapshot"),
        options=r.str("mktDataOptions"),
    )


def decode_cancel_mkt_data(r: FieldReader, version: int) -> CancelMktData:
    _read_version(r)
    return CancelMktData(r.int("reqId"))


# Number of fields after condType per order-condition type (ib_async order.py).
_CONDITION_FIELDS = {1: 6, 3: 3, 4: 3, 5: 4, 6: 5, 7: 5}


def decode_place_order(r: FieldReader, version: int) -> PlaceOrder:
    order_id = r.int("orderId")
    c = _read_contract(r)
    c.sec_id_type = r.str("secIdType")
    c.sec_id = r.str("secId")
    o = OrderSpec()
    o.action = r.str("action")
    o.total_quantity = r.decimal_qty("totalQuantity")
    o.order_type = r.str("orderType")
    o.lmt_price = r.opt_float("lmtPrice")
    o.aux_price = r.opt_float("auxPrice")
    o.tif = r.str("tif")
    o.oca_group = r.str("ocaGroup")
    o.account = r.str("account")
    o.open_close = r.str("openClose")
    o.origin = r.int("origin")
    o.order_ref = r.str("orderRef")
    o.transmit = r.bool("transmit", True)
    o.parent_id = r.int("parentId")
    o.block_order = r.bool("blockOrder")
    o.sweep_to_fill = r.bool("sweepToFill")
    o.display_size = r.opt_int("displaySize")
    o.trigger_method = r.int("triggerMethod")
    o.outside_rth = r.bool("outsideRth")
    o.hidden = r.bool("hidden")
    if c.sec_type == "BAG":
        for _ in range(r.int("comboLegsCount")):
            c.combo_legs.append(
                ComboLegSpec(
                    con_id=r.int("leg.conId"),
                    ratio=r.int("leg.ratio"),
                    action=r.str("leg.action"),
                    exchange=r.str("leg.exchange"),
                    open_close=r.int("leg.openClose"),
                    short_sale_slot=r.int("leg.shortSaleSlot"),
                    designated_location=r.str("leg.designatedLocation"),
                    exempt_code=r.int("leg.exemptCode", -1),
                )
            )
        for _ in range(r.int("orderComboLegsCount")):
            o.order_combo_leg_prices.append(r.opt_float("orderComboLeg.price"))
        for _ in range(r.int("smartComboRoutingParamsCount")):
            o.smart_combo_routing_params.append((r.str("tag"), r.str("value")))
    r.str("sharesAllocation")
    o.discretionary_amt = r.float("discretionaryAmt")
    o.good_after_time = r.str("goodAfterTime")
    o.good_till_date = r.str("goodTillDate")
    o.fa_group = r.str("faGroup")
    o.fa_method = r.str("faMethod")
    o.fa_percentage = r.str("faPercentage")
    if version < V_FA_PROFILE_DESUPPORT:
        o.fa_profile = r.str("faProfile")
    o.model_code = r.str("modelCode")
    o.short_sale_slot = r.int("shortSaleSlot")
    o.designated_location = r.str("designatedLocation")
    o.exempt_code = r.int("exemptCode", -1)
    o.oca_type = r.int("ocaType")
    o.rule80a = r.str("rule80A")
    o.settling_firm = r.str("settlingFirm")
    o.all_or_none = r.bool("allOrNone")
    o.min_qty = r.opt_int("minQty")
    o.percent_offset = r.opt_float("percentOffset")
    o.e_trade_only = r.bool("eTradeOnly")
    o.firm_quote_only = r.bool("firmQuoteOnly")
    o.nbbo_price_cap = r.opt_float("nbboPriceCap")
    o.auction_strategy = r.int("auctionStrategy")
    o.starting_price = r.opt_float("startingPrice")
    o.stock_ref_price = r.opt_float("stockRefPrice")
    o.delta = r.opt_float("delta")
    o.stock_range_lower = r.opt_float("stockRangeLower")
    o.stock_range_upper = r.opt_float("stockRangeUpper")
    o.override_percentage_constraints = r.bool("overridePercentageConstraints")
    o.volatility = r.opt_float("volatility")
    o.volatility_type = r.opt_int("volatilityType")
    o.delta_neutral_order_type = r.str("deltaNeutralOrderType")
    o.delta_neutral_aux_price = r.opt_float("deltaNeutralAuxPrice")
    if o.delta_neutral_order_type:
        # conId, settlingFirm, clearingAccount, clearingIntent, openClose,
        # shortSale, shortSaleSlot, designatedLocation
        o.delta_neutral_fields = [r.str("deltaNeutral") for _ in range(8)]
    o.continuous_update = r.bool("continuousUpdate")
    o.reference_price_type = r.opt_int("referencePriceType")
    o.trail_stop_price = r.opt_float("trailStopPrice")
    o.trailing_percent = r.opt_float("trailingPercent")
    o.scale_init_level_size = r.opt_int("scaleInitLevelSize")
    o.scale_subs_level_size = r.opt_int("scaleSubsLevelSize")
    o.scale_price_increment = r.opt_float("scalePriceIncrement")
    if o.scale_price_increment is not None and 0 < o.scale_price_increment < UNSET_DOUBLE:
        o.scale_fields = [r.str("scale") for _ in range(7)]
    o.scale_table = r.str("scaleTable")
    o.active_start_time = r.str("activeStartTime")
    o.active_stop_time = r.str("activeStopTime")
    o.hedge_type = r.str("hedgeType")
    if o.hedge_type:
        o.hedge_param = r.str("hedgeParam")
    o.opt_out_smart_routing = r.bool("optOutSmartRouting")
    o.clearing_account = r.str("clearingAccount")
    o.clearing_intent = r.str("clearingIntent")
    o.not_held = r.bool("notHeld")
    if r.bool("deltaNeutralContractPresent"):
        c.delta_neutral = (
            r.int("dnc.conId"),
            r.float("dnc.delta"),
            r.float("dnc.price"),
        )
    o.algo_strategy = r.str("algoStrategy")
    if o.algo_strategy:
        for _ in range(r.int("algoParamsCount")):
            o.algo_params.append((r.str("tag"), r.str("value")))
    o.algo_id = r.str("algoId")
    o.what_if = r.bool("whatIf")
    o.order_misc_options = r.str("orderMiscOptions")
    o.solicited = r.bool("solicited")
    o.randomize_size = r.bool("randomizeSize")
    o.randomize_price = r.bool("randomizePrice")
    if o.order_type in ("PEG BENCH", "PEGBENCH"):
        o.peg_bench_fields = [r.str("pegBench") for _ in range(5)]
    n_conditions = r.int("conditionsCount")
    if n_conditions > 0:
        for _ in range(n_conditions):
            cond_type = r.int("condType")
            if cond_type not in _CONDITION_FIELDS:
                raise ProtocolError(f"placeOrder: unknown order condition type {cond_type}")
            n = _CONDITION_FIELDS[cond_type]
            o.conditions.append([str(cond_type)] + [r.str("condition") for _ in range(n)])
        o.conditions_ignore_rth = r.bool("conditionsIgnoreRth")
        o.conditions_cancel_order = r.bool("conditionsCancelOrder")
    o.adjusted_order_type = r.str("adjustedOrderType")
    o.trigger_price = r.opt_float("triggerPrice")
    o.lmt_price_offset = r.opt_float("lmtPriceOffset")
    o.adjusted_stop_price = r.opt_float("adjustedStopPrice")
    o.adjusted_stop_limit_price = r.opt_float("adjustedStopLimitPrice")
    o.adjusted_trailing_amount = r.opt_float("adjustedTrailingAmount")
    o.adjustable_trailing_unit = r.int("adjustableTrailingUnit")
    o.ext_operator = r.str("extOperator")
    o.soft_dollar_tier_name = r.str("softDollarTier.name")
    o.soft_dollar_tier_value = r.str("softDollarTier.value")
    o.cash_qty = r.opt_float("cashQty")
    o.mifid2_decision_maker = r.str("mifid2DecisionMaker")
    o.mifid2_decision_algo = r.str("mifid2DecisionAlgo")
    o.mifid2_execution_trader = r.str("mifid2ExecutionTrader")
    o.mifid2_execution_algo = r.str("mifid2ExecutionAlgo")
    o.dont_use_auto_price_for_hedge = r.bool("dontUseAutoPriceForHedge")
    o.is_oms_container = r.bool("isOmsContainer")
    o.discretionary_up_to_limit_price = r.bool("discretionaryUpToLimitPrice")
    upma = r.opt_int("usePriceMgmtAlgo")
    o.use_price_mgmt_algo = None if upma is None else bool(upma)
    if version >= V_PRICE_MGMT_ALGO_DURATION:
        o.duration = r.opt_int("duration")
    if version >= V_POST_TO_ATS:
        o.post_to_ats = r.opt_int("postToAts")
    if version >= V_AUTO_CANCEL_PARENT:
        o.auto_cancel_parent = r.bool("autoCancelParent")
    if version >= V_ADVANCED_ORDER_REJECT:
        o.advanced_error_override = r.str("advancedErrorOverride")
    if version >= V_MANUAL_ORDER_TIME:
        o.manual_order_time = r.str("manualOrderTime")
    if version >= V_PEGBEST_PEGMID_OFFSETS:
        if c.exchange == "IBKRATS":
            o.min_trade_qty = r.opt_int("minTradeQty")
        if o.order_type in ("PEG BEST", "PEGBEST"):
            o.min_compete_size = r.opt_int("minCompeteSize")
            o.compete_against_best_offset = r.opt_float("competeAgainstBestOffset")
            if o.compete_against_best_offset == float("inf"):
                o.mid_offset_at_whole = r.opt_float("midOffsetAtWhole")
                o.mid_offset_at_half = r.opt_float("midOffsetAtHalf")
        elif o.order_type in ("PEG MID", "PEGMID"):
            o.mid_offset_at_whole = r.opt_float("midOffsetAtWhole")
            o.mid_offset_at_half = r.opt_float("midOffsetAtHalf")
    return PlaceOrder(order_id=order_id, contract=c, order=o)


def decode_cancel_order(r: FieldReader, version: int) -> CancelOrder:
    _read_version(r)
    order_id = r.int("orderId")
    manual = r.str("manualOrderCancelTime") if version >= V_MANUAL_ORDER_TIME else ""
    return CancelOrder(order_id, manual)


def decode_req_open_orders(r: FieldReader, version: int) -> ReqOpenOrders:
    _read_version(r)
    return ReqOpenOrders()


def decode_req_account_updates(r: FieldReader, version: int) -> ReqAccountUpdates:
    _read_version(r)
    return ReqAccountUpdates(subscribe=r.bool("subscribe"), acct_code=r.str("acctCode"))


def decode_req_executions(r: FieldReader, version: int) -> ReqExecutions:
    _read_version(r)
    return ReqExecutions(
        req_id=r.int("reqId"),
        client_id=r.int("clientId"),
        acct_code=r.str("acctCode"),
        time=r.str("time"),
        symbol=r.str("symbol"),
        sec_type=r.str("secType"),
        exchange=r.str("exchange"),
        side=r.str("side"),
    )


def decode_req_ids(r: FieldReader, version: int) -> ReqIds:
    _read_version(r)
    return ReqIds(r.int("numIds"))


def decode_req_contract_details(r: FieldReader, version: int) -> ReqContractDetails:
    _read_version(r)
    req_id = r.int("reqId")
    c = _read_contract(r)
    c.include_expired = r.bool("includeExpired")
    c.sec_id_type = r.str("secIdType")
    c.sec_id = r.str("secId")
    if version >= V_BOND_ISSUERID:
        c.issuer_id = r.str("issuerId")
    return ReqContractDetails(req_id, c)


def decode_req_auto_open_orders(r: FieldReader, version: int) -> ReqAutoOpenOrders:
    _read_version(r)
    return ReqAutoOpenOrders(r.bool("autoBind"))


def decode_req_all_open_orders(r: FieldReader, version: int) -> ReqAllOpenOrders:
    _read_version(r)
    return ReqAllOpenOrders()


def decode_req_managed_accts(r: FieldReader, version: int) -> ReqManagedAccts:
    _read_version(r)
    return ReqManagedAccts()


def decode_req_historical_data(r: FieldReader, version: int) -> ReqHistoricalData:
    req_id = r.int("reqId")
    c = _read_contract(r)
    c.include_expired = r.bool("includeExpired")
    end = r.str("endDateTime")
    bar_size = r.str("barSizeSetting")
    duration = r.str("durationStr")
    use_rth = r.bool("useRTH")
    what = r.str("whatToShow")
    fmt = r.int("formatDate", 1)
    if c.sec_type == "BAG":
        _read_short_legs(r, c)
    return ReqHistoricalData(
        req_id=req_id,
        contract=c,
        end_date_time=end,
        bar_size=bar_size,
        duration=duration,
        use_rth=use_rth,
        what_to_show=what,
        format_date=fmt,
        keep_up_to_date=r.bool("keepUpToDate"),
        chart_options=r.str("chartOptions"),
    )


def decode_cancel_historical_data(r: FieldReader, version: int) -> CancelHistoricalData:
    _read_version(r)
    return CancelHistoricalData(r.int("reqId"))


def decode_req_current_time(r: FieldReader, version: int) -> ReqCurrentTime:
    _read_version(r)
    return ReqCurrentTime()


def decode_req_real_time_bars(r: FieldReader, version: int) -> ReqRealTimeBars:
    _read_version(r)
    req_id = r.int("reqId")
    c = _read_contract(r)
    return ReqRealTimeBars(
        req_id=req_id,
        contract=c,
        bar_size=r.int("barSize", 5),
        what_to_show=r.str("whatToShow"),
        use_rth=r.bool("useRTH"),
        options=r.str("realTimeBarsOptions"),
    )


def decode_cancel_real_time_bars(r: FieldReader, version: int) -> CancelRealTimeBars:
    _read_version(r)
    return CancelRealTimeBars(r.int("reqId"))


def decode_req_global_cancel(r: FieldReader, version: int) -> ReqGlobalCancel:
    _read_version(r)
    return ReqGlobalCancel()


def decode_req_market_data_type(r: FieldReader, version: int) -> ReqMarketDataType:
    _read_version(r)
    return ReqMarketDataType(r.int("marketDataType"))


def decode_req_positions(r: FieldReader, version: int) -> ReqPositions:
    _read_version(r)
    return ReqPositions()


def decode_cancel_positions(r: FieldReader, version: int) -> CancelPositions:
    _read_version(r)
    return CancelPositions()


def decode_req_account_summary(r: FieldReader, version: int) -> ReqAccountSummary:
    _read_version(r)
    return ReqAccountSummary(r.int("reqId"), r.str("groupName"), r.str("tags"))


def decode_cancel_account_summary(r: FieldReader, version: int) -> CancelAccountSummary:
    _read_version(r)
    return CancelAccountSummary(r.int("reqId"))


def decode_start_api(r: FieldReader, version: int) -> StartApi:
    _read_version(r)
    client_id = r.int("clientId")
    # optionalCapabilities exists from server 72 on; tolerate its absence
    opt = "" if r.at_end else r.str("optionalCapabilities")
    return StartApi(client_id, opt)


def decode_req_account_updates_multi(r: FieldReader, version: int) -> ReqAccountUpdatesMulti:
    _read_version(r)
    return ReqAccountUpdatesMulti(
        req_id=r.int("reqId"),
        account=r.str("account"),
        model_code=r.str("modelCode"),
        ledger_and_nlv=r.bool("ledgerAndNLV"),
    )


def decode_cancel_account_updates_multi(r: FieldReader, version: int) -> CancelAccountUpdatesMulti:
    _read_version(r)
    return CancelAccountUpdatesMulti(r.int("reqId"))


def decode_req_head_timestamp(r: FieldReader, version: int) -> ReqHeadTimeStamp:
    req_id = r.int("reqId")
    c = _read_contract(r)
    c.include_expired = r.bool("includeExpired")
    return ReqHeadTimeStamp(
        req_id=req_id,
        contract=c,
        use_rth=r.bool("useRTH"),
        what_to_show=r.str("whatToShow"),
        format_date=r.int("formatDate", 1),
    )


def decode_cancel_head_timestamp(r: FieldReader, version: int) -> CancelHeadTimeStamp:
    return CancelHeadTimeStamp(r.int("reqId"))


def decode_req_pnl(r: FieldReader, version: int) -> ReqPnL:
    return ReqPnL(r.int("reqId"), r.str("account"), r.str("modelCode"))


def decode_cancel_pnl(r: FieldReader, version: int) -> CancelPnL:
    return CancelPnL(r.int("reqId"))


def decode_req_pnl_single(r: FieldReader, version: int) -> ReqPnLSingle:
    return ReqPnLSingle(r.int("reqId"), r.str("account"), r.str("modelCode"), r.int("conId"))


def decode_cancel_pnl_single(r: FieldReader, version: int) -> CancelPnLSingle:
    return CancelPnLSingle(r.int("reqId"))


def decode_req_completed_orders(r: FieldReader, version: int) -> ReqCompletedOrders:
    return ReqCompletedOrders(r.bool("apiOnly"))


def decode_req_historical_ticks(r: FieldReader, version: int) -> ReqHistoricalTicks:
    req_id = r.int("reqId")
    c = _read_contract(r)
    c.include_expired = r.bool("includeExpired")
    return ReqHistoricalTicks(
        req_id=req_id,
        contract=c,
        start_date_time=r.str("startDateTime"),
        end_date_time=r.str("endDateTime"),
        number_of_ticks=r.int("numberOfTicks"),
        what_to_show=r.str("whatToShow"),
        use_rth=r.bool("useRth"),
        ignore_size=r.bool("ignoreSize"),
        options=r.str("miscOptions"),
    )


def decode_req_tick_by_tick_data(r: FieldReader, version: int) -> ReqTickByTickData:
    req_id = r.int("reqId")
    c = _read_contract(r)
    return ReqTickByTickData(req_id, c, r.str("tickType"), r.int("numberOfTicks"), r.bool("ignoreSize"))


def decode_cancel_tick_by_tick_data(r: FieldReader, version: int) -> CancelTickByTickData:
    return CancelTickByTickData(r.int("reqId"))


def decode_req_positions_multi(r: FieldReader, version: int) -> ReqPositionsMulti:
    _read_version(r)
    return ReqPositionsMulti(r.int("reqId"), r.str("account"), r.str("modelCode"))


def decode_cancel_positions_multi(r: FieldReader, version: int) -> CancelPositionsMulti:
    _read_version(r)
    return CancelPositionsMulti(r.int("reqId"))


def decode_req_market_rule(r: FieldReader, version: int) -> ReqMarketRule:
    return ReqMarketRule(r.int("marketRuleId"))


def decode_req_matching_symbols(r: FieldReader, version: int) -> ReqMatchingSymbols:
    return ReqMatchingSymbols(r.int("reqId"), r.str("pattern"))


_DECODERS: dict[int, tuple[str, Callable[[FieldReader, int], object]]] = {
    In.REQ_MKT_DATA: ("reqMktData", decode_req_mkt_data),
    In.CANCEL_MKT_DATA: ("cancelMktData", decode_cancel_mkt_data),
    In.PLACE_ORDER: ("placeOrder", decode_place_order),
    In.CANCEL_ORDER: ("cancelOrder", decode_cancel_order),
    In.REQ_OPEN_ORDERS: ("reqOpenOrders", decode_req_open_orders),
    In.REQ_ACCT_DATA: ("reqAccountUpdates", decode_req_account_updates),
    In.REQ_EXECUTIONS: ("reqExecutions", decode_req_executions),
    In.REQ_IDS: ("reqIds", decode_req_ids),
    In.REQ_CONTRACT_DATA: ("reqContractDetails", decode_req_contract_details),
    In.REQ_AUTO_OPEN_ORDERS: ("reqAutoOpenOrders", decode_req_auto_open_orders),
    In.REQ_ALL_OPEN_ORDERS: ("reqAllOpenOrders", decode_req_all_open_orders),
    In.REQ_MANAGED_ACCTS: ("reqManagedAccts", decode_req_managed_accts),
    In.REQ_HISTORICAL_DATA: ("reqHistoricalData", decode_req_historical_data),
    In.CANCEL_HISTORICAL_DATA: ("cancelHistoricalData", decode_cancel_historical_data),
    In.REQ_CURRENT_TIME: ("reqCurrentTime", decode_req_current_time),
    In.REQ_REAL_TIME_BARS: ("reqRealTimeBars", decode_req_real_time_bars),
    In.CANCEL_REAL_TIME_BARS: ("cancelRealTimeBars", decode_cancel_real_time_bars),
    In.REQ_GLOBAL_CANCEL: ("reqGlobalCancel", decode_req_global_cancel),
    In.REQ_MARKET_DATA_TYPE: ("reqMarketDataType", decode_req_market_data_type),
    In.REQ_POSITIONS: ("reqPositions", decode_req_positions),
    In.REQ_ACCOUNT_SUMMARY: ("reqAccountSummary", decode_req_account_summary),
    In.CANCEL_ACCOUNT_SUMMARY: ("cancelAccountSummary", decode_cancel_account_summary),
    In.CANCEL_POSITIONS: ("cancelPositions", decode_cancel_positions),
    In.START_API: ("startApi", decode_start_api),
    In.REQ_ACCOUNT_UPDATES_MULTI: (
        "reqAccountUpdatesMulti",
        decode_req_account_updates_multi,
    ),
    In.CANCEL_ACCOUNT_UPDATES_MULTI: (
        "cancelAccountUpdatesMulti",
        decode_cancel_account_updates_multi,
    ),
    In.REQ_HEAD_TIMESTAMP: ("reqHeadTimeStamp", decode_req_head_timestamp),
    In.CANCEL_HEAD_TIMESTAMP: ("cancelHeadTimeStamp", decode_cancel_head_timestamp),
    In.REQ_PNL: ("reqPnL", decode_req_pnl),
    In.CANCEL_PNL: ("cancelPnL", decode_cancel_pnl),
    In.REQ_PNL_SINGLE: ("reqPnLSingle", decode_req_pnl_single),
    In.CANCEL_PNL_SINGLE: ("cancelPnLSingle", decode_cancel_pnl_single),
    In.REQ_COMPLETED_ORDERS: ("reqCompletedOrders", decode_req_completed_orders),
    In.REQ_HISTORICAL_TICKS: ("reqHistoricalTicks", decode_req_historical_ticks),
    In.REQ_TICK_BY_TICK_DATA: ("reqTickByTickData", decode_req_tick_by_tick_data),
    In.CANCEL_TICK_BY_TICK_DATA: ("cancelTickByTickData", decode_cancel_tick_by_tick_data),
    In.REQ_POSITIONS_MULTI: ("reqPositionsMulti", decode_req_positions_multi),
    In.CANCEL_POSITIONS_MULTI: ("cancelPositionsMulti", decode_cancel_positions_multi),
    In.REQ_MARKET_RULE: ("reqMarketRule", decode_req_market_rule),
    In.REQ_MATCHING_SYMBOLS: ("reqMatchingSymbols", decode_req_matching_symbols),
}


def decode_request(msg_id: int, fields: Sequence[str], version: int, strict: bool = True) -> object:
    """Decode one client message. ``fields`` is the whole message as FrameReader returns it
    (``fields[0]`` is the message id text).

    Unknown ids give ``UnknownRequest``. Raises ProtocolError on a bad or missing field and,
    when ``strict``, on fields left over after the layout of the negotiated ``version``.
    """
    entry = _DECODERS.get(msg_id)
    if entry is None:
        return UnknownRequest(msg_id, list(fields[1:]))
    name, decoder = entry
    r = FieldReader(fields, name, start=1)
    req = decoder(r, version)
    if strict:
        r.expect_end()
    return req


def decode_message(fields: Sequence[str], version: int, strict: bool = True) -> object:
    """``decode_request`` with the message id taken from ``fields[0]``."""
    if not fields:
        raise ProtocolError("empty message")
    try:
        msg_id = int(fields[0])
    except ValueError:
        raise ProtocolError(f"message id {fields[0]!r} is not an integer") from None
    return decode_request(msg_id, fields, version, strict)


# ======================================================================================
# Replies (server → client)
# ======================================================================================

Fields = list[object]


def _unset_double(v: float | None) -> object:
    """An optional double as TWS writes it: Java's Double.MAX_VALUE when unset."""
    return UNSET_DOUBLE_STR if v is None else v


def _unset_int(v: int | None) -> object:
    return UNSET_INTEGER if v is None else v


def _c11(c: ContractFields) -> Fields:
    """Contract as openOrder/execDetails/position send it: c12 without primaryExchange."""
    return [
        c.con_id,
        c.symbol,
        c.sec_type,
        c.last_trade_date_or_contract_month,
        c.strike,
        c.right,
        c.multiplier,
        c.exchange,
        c.currency,
        c.local_symbol,
        c.trading_class,
    ]


def handshake_reply(version: int, conn_time: str) -> Fields:
    """The 2-field reply to the version string (no message id)."""
    return [version, conn_time]


def managed_accounts(accounts: Sequence[str]) -> Fields:
    return [Out.MANAGED_ACCTS.value, 1, ",".join(accounts)]


def next_valid_id(order_id: int) -> Fields:
    return [Out.NEXT_VALID_ID.value, 1, order_id]


def error(req_id: int, code: int, text: str, version: int, advanced_json: str = "") -> Fields:
    """errMsg: ``4|2|id|code|text|json`` (json field from 166 on)."""
    out: Fields = [Out.ERR_MSG.value, 2, req_id, code, text]
    if version >= V_ADVANCED_ORDER_REJECT:
        out.append(advanced_json)
    return out


@dataclass
class ContractDetailsData:
    """Everything contractData (10) carries. CASH pairs use the same layout."""

    symbol: str = ""
    sec_type: str = "FUT"
    last_trade_date_or_contract_month: str = ""
    strike: float = 0.0
    right: str = ""
    exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    market_name: str = ""
    trading_class: str = ""
    con_id: int = 0
    min_tick: float = 0.01
    multiplier: str = ""
    order_types: str = ""
    valid_exchanges: str = ""
    price_magnifier: int = 1
    under_con_id: int = 0
    long_name: str = ""
    primary_exchange: str = ""
    contract_month: str = ""
    industry: str = ""
    category: str = ""
    subcategory: str = ""
    time_zone_id: str = ""
    trading_hours: str = ""
    liquid_hours: str = ""
    ev_rule: str = ""
    ev_multiplier: str = ""
    sec_id_list: list[tuple[str, str]] = field(default_factory=list)
    agg_group: int | None = None
    under_symbol: str = ""
    under_sec_type: str = ""
    market_rule_ids: str = ""
    real_expiration_date: str = ""
    stock_type: str = ""
    min_size: float = 1.0
    size_increment: float = 1.0
    suggested_size_increment: float = 1.0


def contract_data(req_id: int, d: ContractDetailsData, version: int) -> Fields:
    """contractData: 40 fields without secIds at 164..178 (no version field)."""
    _check_layout(version)
    out: Fields = [
        Out.CONTRACT_DATA.value,
        req_id,
        d.symbol,
        d.sec_type,
        d.last_trade_date_or_contract_month,
        _decimal_text(d.strike),  # "0" for futures, as TWS writes it
        d.right,
        d.exchange,
        d.currency,
        d.local_symbol,
        d.market_name,
        d.trading_class,
        d.con_id,
        d.min_tick,
        d.multiplier,
        d.order_types,
        d.valid_exchanges,
        d.price_magnifier,
        d.under_con_id,
        d.long_name,
        d.primary_exchange,
        d.contract_month,
        d.industry,
        d.category,
        d.subcategory,
        d.time_zone_id,
        d.trading_hours,
        d.liquid_hours,
        d.ev_rule,
        d.ev_multiplier,
        len(d.sec_id_list),
    ]
    for tag, value in d.sec_id_list:
        out += [tag, value]
    out += [
        _unset_int(d.agg_group),
        d.under_symbol,
        d.under_sec_type,
        d.market_rule_ids,
        d.real_expiration_date,
        d.stock_type,
        _decimal_text(d.min_size),  # Decimals: "1", not "1.0"
        _decimal_text(d.size_increment),
        _decimal_text(d.suggested_size_increment),
    ]
    return out


def _decimal_text(v: float) -> str:
    """A quantity or strike as TWS writes its Decimals: no trailing zeros (1 -> "1", 0.5 -> "0.5")."""
    text = format_float(float(v))
    return text[:-2] if text.endswith(".0") else text


def contract_data_end(req_id: int) -> Fields:
    return [Out.CONTRACT_DATA_END.value, 1, req_id]


def _num(v: object) -> str:
    # Hot path of historical_data: floats via repr, ints (incl. numpy) via int().
    if type(v) is float:
        return format_float(v)  # type: ignore[arg-type]
    if type(v) is int:
        return int.__repr__(v)  # type: ignore[arg-type]
    if isinstance(v, float):
        return format_float(float(v))
    try:
        return int.__repr__(int(v))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return format_float(float(v))  # type: ignore[arg-type]


def historical_data(req_id: int, start: str, end: str, rows: Sequence[Sequence[object]]) -> Fields:
    """historicalData (17) at 124..195: header + 8 fields per bar.

    Each row is (date_str, open, high, low, close, volume, wap, count); numbers are
    formatted here so the frame encoder only joins strings.
    """
    # All-text fields let the frame encoder join them in one go (the hot path of big replies).
    out: Fields = [str(Out.HISTORICAL_DATA.value), str(req_id), start, end, str(len(rows))]
    ff = format_float
    fn = _num
    append = out.extend
    if rows and all(type(v) is str for v in rows[0]):
        # Pre-formatted rows (ibsim.history.format_rows produces text throughout).
        for row in rows:
            append(row)
        return out
    for row in rows:
        date, o, h, lo, c, vol, wap, cnt = row
        if type(o) is float and type(h) is float and type(lo) is float and type(c) is float:
            append((date, ff(o), ff(h), ff(lo), ff(c), fn(vol), fn(wap), str(int(cnt))))
        else:
            append((date, fn(o), fn(h), fn(lo), fn(c), fn(vol), fn(wap), str(int(cnt))))
    return out


def historical_data_update(
    req_id: int,
    bar_count: int,
    date_str: str,
    open_: float,
    close: float,
    high: float,
    low: float,
    wap: float,
    volume: float,
) -> Fields:
    """historicalDataUpdate (90): note close comes before high."""
    return [
        Out.HISTORICAL_DATA_UPDATE.value,
        req_id,
        bar_count,
        date_str,
        open_,
        close,
        high,
        low,
        wap,
        volume,
    ]


def head_timestamp(req_id: int, ts: str) -> Fields:
    return [Out.HEAD_TIMESTAMP.value, req_id, ts]


def tick_req_params(req_id: int, min_tick: float, bbo_exchange: str, snapshot_permissions: int) -> Fields:
    return [
        Out.TICK_REQ_PARAMS.value,
        req_id,
        min_tick,
        bbo_exchange,
        snapshot_permissions,
    ]


def market_data_type(req_id: int, md_type: int) -> Fields:
    return [Out.MARKET_DATA_TYPE.value, 1, req_id, md_type]


def tick_price(req_id: int, tick_type: int, price: float, size: float | None, attr_mask: int = 0) -> Fields:
    """tickPrice: exactly 7 fields (ib_async unpacks a fixed tuple)."""
    return [Out.TICK_PRICE.value, 6, req_id, tick_type, price, size, attr_mask]


def tick_size(req_id: int, tick_type: int, size: float) -> Fields:
    return [Out.TICK_SIZE.value, 6, req_id, tick_type, size]


def tick_string(req_id: int, tick_type: int, value: str) -> Fields:
    return [Out.TICK_STRING.value, 6, req_id, tick_type, value]


def tick_generic(req_id: int, tick_type: int, value: float) -> Fields:
    return [Out.TICK_GENERIC.value, 6, req_id, tick_type, value]


def tick_snapshot_end(req_id: int) -> Fields:
    return [Out.TICK_SNAPSHOT_END.value, 1, req_id]


def real_time_bar(
    req_id: int,
    time_epoch: int,
    open_: float,
    high: float,
    low: float,
    close: float,
    volume: float,
    wap: float,
    count: int,
) -> Fields:
    return [
        Out.REAL_TIME_BARS.value,
        3,
        req_id,
        time_epoch,
        open_,
        high,
        low,
        close,
        volume,
        wap,
        count,
    ]


@dataclass
class OpenOrderData:
    """An order as openOrder (5) / completedOrder (101) report it.

    Defaults are the values a real IB Gateway sends for a plain futures order; None means
    unset and is written the way TWS writes that field ("" or 1.7976931348623157E308).
    """

    order_id: int = 0
    # contract
    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date_or_contract_month: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    # order
    action: str = "BUY"
    total_quantity: float = 0.0
    order_type: str = "LMT"
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = "DAY"
    oca_group: str = ""
    account: str = ""
    open_close: str = ""
    origin: int = 0
    order_ref: str = ""
    client_id: int = 0
    perm_id: int = 0
    outside_rth: bool = False
    hidden: bool = False
    discretionary_amt: float = 0.0
    good_after_time: str = ""
    shares_allocation: str = ""
    fa_group: str = ""
    fa_method: str = ""
    fa_percentage: str = ""
    fa_profile: str = ""
    model_code: str = ""
    good_till_date: str = ""
    rule80a: str = ""
    percent_offset: float | None = None
    settling_firm: str = ""
    short_sale_slot: int = 0
    designated_location: str = ""
    exempt_code: int = -1
    auction_strategy: int = 0
    starting_price: float | None = None
    stock_ref_price: float | None = None
    delta: float | None = None
    stock_range_lower: float | None = None
    stock_range_upper: float | None = None
    display_size: int | None = None
    block_order: bool = False
    sweep_to_fill: bool = False
    all_or_none: bool = False
    min_qty: int | None = None
    oca_type: int = 3
    e_trade_only: bool = False
    firm_quote_only: bool = False
    nbbo_price_cap: float | None = None
    parent_id: int = 0
    trigger_method: int = 0
    volatility: float | None = None
    volatility_type: int = 0
    # TWS sends "None" (non-empty), so the delta-neutral block always follows
    delta_neutral_order_type: str = "None"
    delta_neutral_aux_price: float | None = None
    continuous_update: bool = False
    reference_price_type: int = 0
    trail_stop_price: float | None = None
    trailing_percent: float | None = None
    basis_points: float | None = None
    basis_points_type: int | None = None
    combo_legs_descrip: str = ""
    combo_legs: list[ComboLegSpec] = field(default_factory=list)  # a BAG order's legs
    scale_init_level_size: int | None = None
    scale_subs_level_size: int | None = None
    scale_price_increment: float | None = None
    hedge_type: str = ""
    hedge_param: str = ""
    opt_out_smart_routing: bool = False
    clearing_account: str = ""
    clearing_intent: str = "IB"
    not_held: bool = False
    algo_strategy: str = ""
    algo_params: list[tuple[str, str]] = field(default_factory=list)
    solicited: bool = False
    what_if: bool = False
    status: str = "Submitted"
    init_margin_before: str = UNSET_DOUBLE_STR
    maint_margin_before: str = UNSET_DOUBLE_STR
    equity_with_loan_before: str = UNSET_DOUBLE_STR
    init_margin_change: str = UNSET_DOUBLE_STR
    maint_margin_change: str = UNSET_DOUBLE_STR
    equity_with_loan_change: str = UNSET_DOUBLE_STR
    init_margin_after: str = UNSET_DOUBLE_STR
    maint_margin_after: str = UNSET_DOUBLE_STR
    equity_with_loan_after: str = UNSET_DOUBLE_STR
    commission: float | None = None
    min_commission: float | None = None
    max_commission: float | None = None
    commission_currency: str = ""
    warning_text: str = ""
    randomize_size: bool = False
    randomize_price: bool = False
    adjusted_order_type: str = "None"
    trigger_price: float | None = None
    lmt_price_offset: float | None = None
    adjusted_stop_price: float | None = None
    adjusted_stop_limit_price: float | None = None
    adjusted_trailing_amount: float | None = None
    adjustable_trailing_unit: int = 0
    soft_dollar_tier_name: str = ""
    soft_dollar_tier_value: str = ""
    soft_dollar_tier_display_name: str = ""
    cash_qty: float | None = None
    dont_use_auto_price_for_hedge: bool = True
    is_oms_container: bool = False
    discretionary_up_to_limit_price: bool = False
    use_price_mgmt_algo: bool = False
    duration: int | None = None
    post_to_ats: int | None = None
    auto_cancel_parent: bool = False
    min_trade_qty: int | None = None
    min_compete_size: int | None = None
    compete_against_best_offset: float | None = None
    mid_offset_at_whole: float | None = None
    mid_offset_at_half: float | None = None
    # completedOrder only
    auto_cancel_date: str = ""
    filled_quantity: float | None = None
    ref_futures_con_id: int = 0
    shareholder: str = ""
    imbalance_only: bool = False
    route_marketable_to_bbo: bool = False
    parent_perm_id: int | None = None
    completed_time: str = ""
    completed_status: str = ""


def _check_layout(version: int) -> None:
    if version < MIN_LAYOUT_VERSION:
        raise ValueError(f"message layouts are implemented for server versions >= {MIN_LAYOUT_VERSION}, not {version}")


def _combo_legs(o: OpenOrderData) -> Fields:
    """comboLegsCount and, per leg, conId ratio action exchange openClose shortSaleSlot
    designatedLocation exemptCode (openOrder and completedOrder alike)."""
    out: Fields = [len(o.combo_legs)]
    for leg in o.combo_legs:
        out += [
            leg.con_id,
            leg.ratio,
            leg.action,
            leg.exchange,
            leg.open_close,
            leg.short_sale_slot,
            leg.designated_location,
            leg.exempt_code,
        ]
    return out


def open_order(o: OpenOrderData, version: int) -> Fields:
    """openOrder (5): 136 fields at 176, 135 at 177+ (faProfile dropped)."""
    _check_layout(version)
    out: Fields = [Out.OPEN_ORDER.value, o.order_id]
    out += _c11(o)  # type: ignore[arg-type]
    out += [
        o.action,
        o.total_quantity,
        o.order_type,
        0.0 if o.lmt_price is None else o.lmt_price,
        0.0 if o.aux_price is None else o.aux_price,
        o.tif,
        o.oca_group,
        o.account,
        o.open_close,
        o.origin,
        o.order_ref,
        o.client_id,
        o.perm_id,
        o.outside_rth,
        o.hidden,
        o.discretionary_amt,
        o.good_after_time,
        o.shares_allocation,
        o.fa_group,
        o.fa_method,
        o.fa_percentage,
    ]
    if version < V_FA_PROFILE_DESUPPORT:
        out.append(o.fa_profile)
    out += [
        o.model_code,
        o.good_till_date,
        o.rule80a,
        o.percent_offset,
        o.settling_firm,
        o.short_sale_slot,
        o.designated_location,
        o.exempt_code,
        o.auction_strategy,
        o.starting_price,
        o.stock_ref_price,
        o.delta,
        o.stock_range_lower,
        o.stock_range_upper,
        _unset_int(o.display_size),
        o.block_order,
        o.sweep_to_fill,
        o.all_or_none,
        o.min_qty,
        o.oca_type,
        o.e_trade_only,
        o.firm_quote_only,
        o.nbbo_price_cap,
        o.parent_id,
        o.trigger_method,
        o.volatility,
        o.volatility_type,
        o.delta_neutral_order_type,
        o.delta_neutral_aux_price,
    ]
    if o.delta_neutral_order_type:
        # conId, settlingFirm, clearingAccount, clearingIntent, openClose, shortSale,
        # shortSaleSlot, designatedLocation
        out += [0, "", "", "", "?", 0, 0, ""]
    out += [
        o.continuous_update,
        o.reference_price_type,
        o.trail_stop_price,
        o.trailing_percent,
        o.basis_points,
        o.basis_points_type,
        o.combo_legs_descrip,
        *_combo_legs(o),
        0,  # orderComboLegsCount
        0,  # smartComboRoutingParamsCount
        _unset_int(o.scale_init_level_size),
        _unset_int(o.scale_subs_level_size),
        o.scale_price_increment,
    ]
    out += _scale_extra(o)
    out.append(o.hedge_type)
    if o.hedge_type:
        out.append(o.hedge_param)
    out += [
        o.opt_out_smart_routing,
        o.clearing_account,
        o.clearing_intent,
        o.not_held,
        0,  # deltaNeutralContractPresent
    ]
    out += _algo(o)
    out += [
        o.solicited,
        o.what_if,
        o.status,
        o.init_margin_before,
        o.maint_margin_before,
        o.equity_with_loan_before,
        o.init_margin_change,
        o.maint_margin_change,
        o.equity_with_loan_change,
        o.init_margin_after,
        o.maint_margin_after,
        o.equity_with_loan_after,
        o.commission,
        o.min_commission,
        o.max_commission,
        o.commission_currency,
        o.warning_text,
        o.randomize_size,
        o.randomize_price,
    ]
    out += _peg_bench(o)
    out += [
        0,  # conditionsCount
        o.adjusted_order_type,
        _unset_double(o.trigger_price),
        _unset_double(o.trail_stop_price),
        _unset_double(o.lmt_price_offset),
        _unset_double(o.adjusted_stop_price),
        _unset_double(o.adjusted_stop_limit_price),
        _unset_double(o.adjusted_trailing_amount),
        o.adjustable_trailing_unit,
        o.soft_dollar_tier_name,
        o.soft_dollar_tier_value,
        o.soft_dollar_tier_display_name,
        o.cash_qty,
        o.dont_use_auto_price_for_hedge,
        o.is_oms_container,
        o.discretionary_up_to_limit_price,
        o.use_price_mgmt_algo,
        o.duration,
        o.post_to_ats,
        o.auto_cancel_parent,
    ]
    out += _peg_best_mid(o, version)
    return out


def _scale_extra(o: OpenOrderData) -> Fields:
    inc = o.scale_price_increment
    if inc is not None and 0 < inc < UNSET_DOUBLE:
        # adjustValue, adjustInterval, profitOffset, autoReset, initPosition,
        # initFillQty, randomPercent
        return [None, None, None, False, None, None, False]
    return []


def _algo(o: OpenOrderData) -> Fields:
    out: Fields = [o.algo_strategy]
    if o.algo_strategy:
        out.append(len(o.algo_params))
        for tag, value in o.algo_params:
            out += [tag, value]
    return out


def _peg_bench(o: OpenOrderData) -> Fields:
    if o.order_type in ("PEG BENCH", "PEGBENCH"):
        # referenceContractId, isPeggedChangeAmountDecrease, peggedChangeAmount,
        # referenceChangeAmount, referenceExchangeId
        return [0, False, 0.0, 0.0, ""]
    return []


def _peg_best_mid(o: OpenOrderData, version: int) -> Fields:
    if version < V_PEGBEST_PEGMID_OFFSETS:
        return []
    return [
        o.min_trade_qty,
        o.min_compete_size,
        o.compete_against_best_offset,
        o.mid_offset_at_whole,
        o.mid_offset_at_half,
    ]


def completed_order(o: OpenOrderData, version: int) -> Fields:
    """completedOrder (101): no order id, no version; ends with completedTime/Status.

    Only send inside a reqCompletedOrders request (ib_async crashes on unsolicited ones).
    """
    _check_layout(version)
    out: Fields = [Out.COMPLETED_ORDER.value]
    out += _c11(o)  # type: ignore[arg-type]
    out += [
        o.action,
        o.total_quantity,
        o.order_type,
        0.0 if o.lmt_price is None else o.lmt_price,
        0.0 if o.aux_price is None else o.aux_price,
        o.tif,
        o.oca_group,
        o.account,
        o.open_close,
        o.origin,
        o.order_ref,
        o.perm_id,
        o.outside_rth,
        o.hidden,
        o.discretionary_amt,
        o.good_after_time,
        o.fa_group,
        o.fa_method,
        o.fa_percentage,
    ]
    if version < V_FA_PROFILE_DESUPPORT:
        out.append(o.fa_profile)
    out += [
        o.model_code,
        o.good_till_date,
        o.rule80a,
        o.percent_offset,
        o.settling_firm,
        o.short_sale_slot,
        o.designated_location,
        o.exempt_code,
        o.starting_price,
        o.stock_ref_price,
        o.delta,
        o.stock_range_lower,
        o.stock_range_upper,
        _unset_int(o.display_size),
        o.sweep_to_fill,
        o.all_or_none,
        o.min_qty,
        o.oca_type,
        o.trigger_method,
        o.volatility,
        o.volatility_type,
        o.delta_neutral_order_type,
        o.delta_neutral_aux_price,
    ]
    if o.delta_neutral_order_type:
        out += [0, 0, 0, ""]  # conId, shortSale, shortSaleSlot, designatedLocation
    out += [
        o.continuous_update,
        o.reference_price_type,
        o.trail_stop_price,
        o.trailing_percent,
        o.combo_legs_descrip,
        *_combo_legs(o),
        0,  # orderComboLegsCount
        0,  # smartComboRoutingParamsCount
        _unset_int(o.scale_init_level_size),
        _unset_int(o.scale_subs_level_size),
        o.scale_price_increment,
    ]
    out += _scale_extra(o)
    out.append(o.hedge_type)
    if o.hedge_type:
        out.append(o.hedge_param)
    out += [o.clearing_account, o.clearing_intent, o.not_held, 0]
    out += _algo(o)
    out += [o.solicited, o.status, o.randomize_size, o.randomize_price]
    out += _peg_bench(o)
    out += [
        0,  # conditionsCount
        _unset_double(o.trail_stop_price),
        _unset_double(o.lmt_price_offset),
        o.cash_qty,
        o.dont_use_auto_price_for_hedge,
        o.is_oms_container,
        o.auto_cancel_date,
        o.filled_quantity,
        o.ref_futures_con_id,
        o.auto_cancel_parent,
        o.shareholder,
        o.imbalance_only,
        o.route_marketable_to_bbo,
        o.parent_perm_id,
        o.completed_time,
        o.completed_status,
    ]
    out += _peg_best_mid(o, version)
    return out


def completed_orders_end() -> Fields:
    return [Out.COMPLETED_ORDERS_END.value]


def order_status(
    order_id: int,
    status: str,
    filled: float,
    remaining: float,
    avg_fill_price: float,
    perm_id: int,
    parent_id: int,
    last_fill_price: float,
    client_id: int,
    why_held: str = "",
    mkt_cap_price: float = 0.0,
) -> Fields:
    """orderStatus (3): no version field from 131 on; 12 fields."""
    return [
        Out.ORDER_STATUS.value,
        order_id,
        status,
        filled,
        remaining,
        avg_fill_price,
        perm_id,
        parent_id,
        last_fill_price,
        client_id,
        why_held,
        mkt_cap_price,
    ]


def open_order_end() -> Fields:
    return [Out.OPEN_ORDER_END.value, 1]


@dataclass
class ExecutionData:
    """One fill as execDetails (11) reports it.

    ``exchange`` is the contract's exchange; ``exec_exchange`` the execution venue
    (empty = same as ``exchange``). ``time_str`` is ``yyyyMMdd HH:mm:ss <zone>``.
    """

    order_id: int = 0
    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date_or_contract_month: str = ""
    strike: float = 0.0
    right: str = ""
    multiplier: str = ""
    exchange: str = ""
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    exec_id: str = ""
    time_str: str = ""
    account: str = ""
    exec_exchange: str = ""
    side: str = "BOT"
    shares: float = 0.0
    price: float = 0.0
    perm_id: int = 0
    client_id: int = 0
    liquidation: int = 0
    cum_qty: float = 0.0
    avg_price: float = 0.0
    order_ref: str = ""
    ev_rule: str = ""
    ev_multiplier: float | None = None
    model_code: str = ""
    last_liquidity: int = 1
    pending_price_revision: bool = False


def exec_details(req_id: int, e: ExecutionData, version: int) -> Fields:
    """execDetails (11): 31 fields at 176, 32 at 178 (pendingPriceRevision)."""
    _check_layout(version)
    out: Fields = [Out.EXECUTION_DATA.value, req_id, e.order_id]
    out += _c11(e)  # type: ignore[arg-type]
    out += [
        e.exec_id,
        e.time_str,
        e.account,
        e.exec_exchange or e.exchange,
        e.side,
        e.shares,
        e.price,
        e.perm_id,
        e.client_id,
        e.liquidation,
        e.cum_qty,
        e.avg_price,
        e.order_ref,
        e.ev_rule,
        e.ev_multiplier,
        e.model_code,
        e.last_liquidity,
    ]
    if version >= V_PENDING_PRICE_REVISION:
        out.append(e.pending_price_revision)
    return out


def exec_details_end(req_id: int) -> Fields:
    return [Out.EXECUTION_DATA_END.value, 1, req_id]


def commission_report(
    exec_id: str,
    commission: float,
    currency: str,
    realized_pnl: float | None = None,
    yield_: float | None = None,
    yield_redemption_date: int | None = None,
) -> Fields:
    """commissionReport (59): exactly 8 fields; unset PnL/yield as Double.MAX_VALUE."""
    return [
        Out.COMMISSION_REPORT.value,
        1,
        exec_id,
        commission,
        currency,
        _unset_double(realized_pnl),
        _unset_double(yield_),
        yield_redemption_date or None,
    ]


def position(account: str, c: ContractFields, position: float, avg_cost: float) -> Fields:
    """position (61): exactly 16 fields."""
    return [Out.POSITION_DATA.value, 3, account, *_c11(c), position, avg_cost]


def position_end() -> Fields:
    return [Out.POSITION_END.value, 1]


def update_account_value(key: str, value: str, currency: str, account: str) -> Fields:
    return [Out.ACCT_VALUE.value, 2, key, value, currency, account]


def update_portfolio(
    c: ContractFields,
    position: float,
    market_price: float,
    market_value: float,
    average_cost: float,
    unrealized_pnl: float,
    realized_pnl: float,
    account: str,
) -> Fields:
    """updatePortfolio (7): exactly 20 fields; primaryExchange instead of exchange."""
    return [
        Out.PORTFOLIO_VALUE.value,
        8,
        c.con_id,
        c.symbol,
        c.sec_type,
        c.last_trade_date_or_contract_month,
        c.strike,
        c.right,
        c.multiplier,
        c.primary_exchange,
        c.currency,
        c.local_symbol,
        c.trading_class,
        position,
        market_price,
        market_value,
        average_cost,
        unrealized_pnl,
        realized_pnl,
        account,
    ]


def update_account_time(hhmm: str) -> Fields:
    return [Out.ACCT_UPDATE_TIME.value, 1, hhmm]


def account_download_end(account: str) -> Fields:
    return [Out.ACCT_DOWNLOAD_END.value, 1, account]


def account_update_multi(req_id: int, account: str, model_code: str, key: str, value: str, currency: str) -> Fields:
    return [
        Out.ACCOUNT_UPDATE_MULTI.value,
        1,
        req_id,
        account,
        model_code,
        key,
        value,
        currency,
    ]


def account_update_multi_end(req_id: int) -> Fields:
    return [Out.ACCOUNT_UPDATE_MULTI_END.value, 1, req_id]


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> Fields:
    return [Out.ACCOUNT_SUMMARY.value, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id: int) -> Fields:
    return [Out.ACCOUNT_SUMMARY_END.value, 1, req_id]


def current_time(epoch: int) -> Fields:
    return [Out.CURRENT_TIME.value, 1, int(epoch)]


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> Fields:
    return [Out.PNL.value, req_id, daily, unrealized, realized]


def pnl_single(
    req_id: int,
    pos: float,
    daily: float,
    unrealized: float,
    realized: float,
    value: float,
) -> Fields:
    return [Out.PNL_SINGLE.value, req_id, pos, daily, unrealized, realized, value]


# -------------------------------------------------------------- ticks, rules, symbols, misc


def historical_ticks(req_id: int, ticks: Sequence[tuple[int, float, float]], done: bool) -> Fields:
    """historicalTicks (96), MIDPOINT: (time, price, size) per tick; an empty attribute field each."""
    out: Fields = [Out.HISTORICAL_TICKS.value, req_id, len(ticks)]
    for t, price, size in ticks:
        out += [t, "", price, size]
    out.append(done)
    return out


def historical_ticks_bid_ask(
    req_id: int, ticks: Sequence[tuple[int, int, float, float, float, float]], done: bool
) -> Fields:
    """historicalTicksBidAsk (97): (time, mask, bid, ask, bidSize, askSize) per tick."""
    out: Fields = [Out.HISTORICAL_TICKS_BID_ASK.value, req_id, len(ticks)]
    for tick in ticks:
        out += list(tick)
    out.append(done)
    return out


def historical_ticks_last(req_id: int, ticks: Sequence[tuple[int, int, float, float, str, str]], done: bool) -> Fields:
    """historicalTicksLast (98): (time, mask, price, size, exchange, specialConditions) per tick."""
    out: Fields = [Out.HISTORICAL_TICKS_LAST.value, req_id, len(ticks)]
    for tick in ticks:
        out += list(tick)
    out.append(done)
    return out


def tick_by_tick_last(
    req_id: int, tick_type: int, time: int, price: float, size: float, mask: int, exchange: str, special: str
) -> Fields:
    """tickByTick (99) for Last (1) / AllLast (2)."""
    return [Out.TICK_BY_TICK.value, req_id, tick_type, time, price, size, mask, exchange, special]


def tick_by_tick_bid_ask(
    req_id: int, time: int, bid: float, ask: float, bid_size: float, ask_size: float, mask: int
) -> Fields:
    """tickByTick (99) for BidAsk (3)."""
    return [Out.TICK_BY_TICK.value, req_id, 3, time, bid, ask, bid_size, ask_size, mask]


def tick_by_tick_mid_point(req_id: int, time: int, mid: float) -> Fields:
    """tickByTick (99) for MidPoint (4)."""
    return [Out.TICK_BY_TICK.value, req_id, 4, time, mid]


def position_multi(req_id: int, account: str, c: ContractFields, position: float, avg_cost: float) -> Fields:
    """positionMulti (71): 18 fields."""
    return [Out.POSITION_MULTI.value, 1, req_id, account, *_c11(c), position, avg_cost, ""]


def position_multi_end(req_id: int) -> Fields:
    return [Out.POSITION_MULTI_END.value, 1, req_id]


def market_rule(market_rule_id: int, increments: Sequence[tuple[float, float]]) -> Fields:
    """marketRule (93): (lowEdge, increment) pairs."""
    out: Fields = [Out.MARKET_RULE.value, market_rule_id, len(increments)]
    for low_edge, increment in increments:
        out += [low_edge, increment]
    return out


def symbol_samples(
    req_id: int, rows: Sequence[tuple[int, str, str, str, str, Sequence[str], str]], version: int
) -> Fields:
    """symbolSamples (79): (conId, symbol, secType, primaryExchange, currency, derivative secTypes,
    description); description and issuerId only from server version 176."""
    out: Fields = [Out.SYMBOL_SAMPLES.value, req_id, len(rows)]
    for con_id, symbol, sec_type, primary, currency, derivatives, description in rows:
        out += [con_id, symbol, sec_type, primary, currency, len(derivatives), *derivatives]
        if version >= V_BOND_ISSUERID:
            out += [description, ""]
    return out


def sec_def_opt_params_end(req_id: int) -> Fields:
    return [Out.SECURITY_DEFINITION_OPTION_PARAMETER_END.value, req_id]


def soft_dollar_tiers(req_id: int) -> Fields:
    return [Out.SOFT_DOLLAR_TIERS.value, req_id, 0]


def family_codes(accounts: Sequence[str]) -> Fields:
    out: Fields = [Out.FAMILY_CODES.value, len(accounts)]
    for account in accounts:
        out += [account, ""]
    return out


def mkt_depth_exchanges() -> Fields:
    return [Out.MKT_DEPTH_EXCHANGES.value, 0]


def smart_components(req_id: int) -> Fields:
    return [Out.SMART_COMPONENTS.value, req_id, 0]


def news_providers() -> Fields:
    return [Out.NEWS_PROVIDERS.value, 0]


def historical_news_end(req_id: int, has_more: bool = False) -> Fields:
    return [Out.HISTORICAL_NEWS_END.value, req_id, has_more]


def scanner_parameters(xml: str) -> Fields:
    return [Out.SCANNER_PARAMETERS.value, 1, xml]


def display_group_list(req_id: int, groups: str) -> Fields:
    return [Out.DISPLAY_GROUP_LIST.value, 1, req_id, groups]


def display_group_updated(req_id: int, contract_info: str) -> Fields:
    return [Out.DISPLAY_GROUP_UPDATED.value, 1, req_id, contract_info]


def user_info(req_id: int, white_branding_id: str = "") -> Fields:
    return [Out.USER_INFO.value, req_id, white_branding_id]


def scanner_data_empty(req_id: int) -> Fields:
    """scannerData (20) with no rows: a scan that found nothing."""
    return [20, 3, req_id, 0]
