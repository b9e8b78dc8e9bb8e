"""The market-data service's parts: the fan-out hub, SSE framing, request checks, upstream
streams and the aiohttp application (`python -m sysproduction.market_data_service`).

    from sysproduction.mds import MarketDataService
    service = await MarketDataService(conn).start_async()

See docs/market_data_service.md.
"""

from sysproduction.mds.hub import Hub, TopicKey
from sysproduction.mds.service import MarketDataService

__all__ = ["Hub", "MarketDataService", "TopicKey"]
