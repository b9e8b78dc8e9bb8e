"""pysystemtrade's `syscore.dateutils` names for bar frequencies.

    from syscore.dateutils import DAILY_PRICE_FREQ, HOURLY_FREQ, Frequency

    prices.get_prices_at_frequency_for_contract_object(contract, HOURLY_FREQ)

`Frequency` is this layer's own enum (sysobjects.futures_per_contract_prices), not a copy. It also
accepts pysystemtrade's forms wherever a frequency is taken: member names ("Day", "Hour",
"Minutes_15"), pysystemtrade's integer enum values (6 = Day, 7 = Hour, ...), and members of
pysystemtrade's own `Frequency` enum (matched by name).
"""

from __future__ import annotations

from sysobjects.futures_per_contract_prices import Frequency

__all__ = ["DAILY_PRICE_FREQ", "HOURLY_FREQ", "MIXED_FREQ", "Frequency", "from_config_frequency_to_frequency"]

DAILY_PRICE_FREQ = Frequency.Day
HOURLY_FREQ = Frequency.Hour
MIXED_FREQ = Frequency.Mixed


def from_config_frequency_to_frequency(freq_as_str: str) -> Frequency:
    """pysystemtrade's config spelling ("D", "H", "5M", "15M", "M", "10S", "S") as a `Frequency`."""
    return Frequency(_CONFIG_NAMES.get(freq_as_str, freq_as_str))


_CONFIG_NAMES = {"5M": "5min", "15M": "15min", "M": "1min", "10S": "10s", "S": "1s"}
