"""pysystemtrade's import path for `ibContractPositionData` (this layer's module: ib_position_data.py).

from sysbrokers.IB.ib_contract_position_data import ibContractPositionData
ibContractPositionData(conn, data_blob, log=log).get_all_current_positions_as_list_with_contract_objects(account)
"""

from sysbrokers.IB.ib_position_data import ibContractPositionData

__all__ = ["ibContractPositionData"]
