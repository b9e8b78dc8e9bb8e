"""The embedded default: with `ib_gateway: ibsim` the production scripts start the simulated
gateway in-process and point the configuration at it.

Only production scripts use this; the broker layer itself never imports the simulator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

from sysdata.config.configdata import Config

EMBEDDED_ACCOUNT = "DU123456"
log = logging.getLogger("embedded_gateway")


@contextlib.contextmanager
def gateway_for(config: Config) -> Iterator[Config]:
    """Yield the configuration to connect with; starts (and stops) ibsim when configured."""
    if config.ib_gateway != "ibsim":
        yield config
        return
    from ibsim import IBSim, PacingRules, SimConfig

    folder = Path(config.data_folder)
    folder.mkdir(parents=True, exist_ok=True)
    account = config.broker_account or EMBEDDED_ACCOUNT
    sim = IBSim(
        SimConfig(
            port=0,
            accounts=(account,),
            state_file=str(folder / "ibsim.state.json"),
            # The gateway paces as IB documents its rules when the client does, else strictly.
            pacing=(PacingRules.documented if config.ib_pacing_profile == "documented" else PacingRules.scaled)(
                config.ib_pacing_scale
            ),
        )
    ).start_in_thread()
    log.info("embedded ibsim gateway on 127.0.0.1:%d (simulated account %s)", sim.port, account)
    try:
        yield dataclasses.replace(config, ib_ipaddress="127.0.0.1", ib_port=sim.port, broker_account=account)
    finally:
        sim.stop_in_thread()
