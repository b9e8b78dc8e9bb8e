"""ibsim: a protocol-faithful simulated IB Gateway.

    from ibsim import IBSim
    with IBSim(port=0, start=datetime(2025, 3, 4, 15, tzinfo=timezone.utc)) as sim:
        ib.connect("127.0.0.1", sim.port, clientId=1)

It speaks the TWS API socket protocol (server version 178, negotiated down for older
clients), so ib_async, ib_insync and IB's own client run against it unchanged.
"""

from .config import SimConfig, Timing
from .pacing import PacingRules
from .server import IBSim

__all__ = ["IBSim", "PacingRules", "SimConfig", "Timing"]
