"""Broker data layer for Interactive Brokers futures, in the style of pysystemtrade."""

from setuptools import find_packages, setup

# Dependency ranges are declared here and nowhere else. (ib_insync 0.9.86, which the simulator is
# also tested with, cannot share an environment with ib_async: both ship an `eventkit` module.
# Its tests install it into a private folder: see tests/ibsim/test_ib_insync.py.)
INSTALL_REQUIRES = [
    "ib_async>=2.1,<3",
    "pandas>=2.2,<3",
    "numpy>=1.26",
    "pymongo>=4.9,<5",
    "pyyaml>=6",
    "pyarrow>=15",
    "pandas_market_calendars>=5,<6",
    "tqdm>=4.66",
    "aiohttp>=3.9,<4",  # /health, /ready and /metrics of long-running processes (docs/operations.md)
    "prometheus_client>=0.20",
]

EXTRAS = {
    "test": [
        "pytest>=8",
        "pytest-timeout>=2.3",
        "ruff>=0.6",
        "arcticdb>=6.28,<7",  # the ArcticDB price store runs the same contract suite as parquet
        "moto[server]>=5.0,<6",  # a real S3-protocol server on loopback for the S3 price stores
        "nbclient>=0.10",  # the README snippet and examples/explore.ipynb run on real kernels
        "nbformat>=5.10",  # (tests/interactive/test_notebooks.py)
        "ipykernel>=6.29",
        "matplotlib>=3.8",
        "selenium>=4.20",  # the market-data service's status page in headless Chromium (system chromedriver)
    ],
    "arctic": ["arcticdb>=6.28,<7"],
    # IPython / Jupyter use: a kernel and charts for examples/explore.ipynb (docs/interactive.md)
    "interactive": ["ipykernel>=6.29", "matplotlib>=3.8"],
}

setup(
    name="ibfutures-broker",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.11",
    packages=find_packages(
        include=["sysbrokers*", "sysdata*", "sysobjects*", "sysproduction*", "syscore*", "sysexecution*", "ibsim*"]
    ),
    package_data={
        "ibsim": ["data/*.csv"],
        "sysbrokers": ["IB/config/*.csv", "IB/config/*.yaml"],
        "sysdata": ["config/*.yaml"],
        "sysproduction": ["mds/static/*.html"],  # the market-data service's status page
    },
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": [
            "ibsim=ibsim.__main__:main",
            "seed_price_data_from_IB=sysproduction.seed_price_data_from_IB:main",
            "update_historical_prices=sysproduction.update_historical_prices:main",
            "ib_client_ids=sysproduction.clientids:main",
        ]
    },
)
