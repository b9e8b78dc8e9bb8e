"""pysystemtrade's `sysexecution.orders` names (the order sentinels)."""
