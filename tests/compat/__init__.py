"""pysystemtrade's current calling forms of the broker layer, called against ibsim over sockets."""
