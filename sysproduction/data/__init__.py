"""pysystemtrade's production data layer (`sysproduction.data`): facades over the dataBlob."""
