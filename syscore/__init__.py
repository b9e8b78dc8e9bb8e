"""pysystemtrade's `syscore` names this layer's callers import: exceptions, constants, dates."""
