"""pysystemtrade's `sysexecution` names this layer's callers import (tick data, order sentinels)."""
