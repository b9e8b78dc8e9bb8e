"""Constructor arguments of the IB data objects in both calling forms.

    ibFuturesContractPriceData(conn)                       # seed 001
    ibFuturesContractPriceData(conn, log)                  # seed 001, a logger second
    ibFuturesContractPriceData(conn, data_blob, log=log)   # pysystemtrade's dataBlob

`data_and_log(data, log)` tells the two apart: a `logging.Logger` (or adapter) in the second
place is the log; anything else there is the data blob, which the object keeps as `.data` and
uses to reach its sibling objects (`data.broker_futures_contract`, ...) as pysystemtrade's do.
`ibDataObject` is the constructor and the two properties the data objects share:

    class ibFxPricesData(ibDataObject):
        client_class = ibFxClient                      # self.ib_client is one, on self.ibconnection

Awaitable forms (docs/async.md): every public method `name` of a data object has `name_async`,
with the same arguments and result, built once here (`ibAsyncForms`, a base of `ibDataObject`
and of the data objects that do not derive from it):

    prices = await ibFuturesContractPriceData(conn).get_prices_for_contract_object_async(contract)

A form runs the blocking method in a worker thread (`asyncio.to_thread`); there the connection
hands each IB request to the loop that owns the socket, so the awaiting loop is never blocked and
several forms run concurrently. A native coroutine `name_async` a class defines itself is kept;
`stream_*` methods already return async iterators and get no form; they are iterated on the loop
that owns the IB socket whichever loop runs the `async for` (notebook mode: Jupyter's).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["add_async_forms", "async_form_names", "data_and_log", "data_object_repr", "ibAsyncForms", "ibDataObject"]

ASYNC_SUFFIX = "_async"


class ibAsyncForms:  # noqa: N801 - in the style of pysystemtrade's public names
    """Gives every subclass `name_async` (a coroutine function) for each public method `name`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        add_async_forms(cls)


def add_async_forms(cls: type) -> type:
    """Add the missing `name_async` forms to `cls` (also usable as a class decorator); make its own
    `stream_*` methods iterable from any loop (`loop_thread.RelayedStream`)."""
    for name in dir(cls):
        func = _wants_form(cls, name)
        if func is not None:
            setattr(cls, name + ASYNC_SUFFIX, _async_form(cls, name, func))
    for name, func in list(vars(cls).items()):
        if name.startswith("stream_") and inspect.isfunction(func) and not getattr(func, "_relayed", False):
            setattr(cls, name, _relayed_stream(func))
    return cls


def _relayed_stream(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def stream(self, *args: Any, **kwargs: Any) -> Any:
        from sysbrokers.IB.loop_thread import RelayedStream

        source = func(self, *args, **kwargs)
        if not hasattr(source, "__anext__"):
            return source  # not an async iterator: nothing to relay
        connection = getattr(self, "_connection", None)
        return RelayedStream(lambda: getattr(connection, "ib_loop", None), source)

    stream._relayed = True
    return stream


def async_form_names(cls: type) -> list[str]:
    """The public methods of `cls` that have (or should have) a `name_async` form."""
    return [name for name in dir(cls) if _is_plain_public_method(cls, name)]


def _is_plain_public_method(cls: type, name: str) -> bool:
    if name.startswith("_") or name.endswith(ASYNC_SUFFIX) or name.startswith("stream_"):
        return False
    func = inspect.getattr_static(cls, name, None)
    if not inspect.isfunction(func):  # properties, class and static methods, plain attributes
        return False
    return not (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func))


def _wants_form(cls: type, name: str) -> Callable[..., Any] | None:
    if not _is_plain_public_method(cls, name):
        return None
    existing = inspect.getattr_static(cls, name + ASYNC_SUFFIX, None)
    # A form built for a base class is rebuilt where the subclass overrides the method (its signature).
    rebuild = getattr(existing, "_generic_async_form", False) and name in cls.__dict__
    if existing is not None and not rebuild:
        return None  # a native coroutine of the class's own, or the base's form of the same method
    return inspect.getattr_static(cls, name)


def _async_form(cls: type, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    async def form(self, *args: Any, **kwargs: Any) -> Any:
        # The blocking method in a worker thread: the connection hands its IB work to the loop.
        return await asyncio.to_thread(getattr(self, name), *args, **kwargs)

    functools.update_wrapper(form, func)  # the signature (through __wrapped__) and annotations
    form.__name__ = name + ASYNC_SUFFIX
    form.__qualname__ = f"{cls.__qualname__}.{name}{ASYNC_SUFFIX}"
    form._generic_async_form = True
    form.__doc__ = (
        f"Awaitable form of `{name}`: same arguments and result, run in a worker thread so that the "
        f"event loop stays free (docs/async.md).\n\n{inspect.getdoc(func) or ''}"
    )
    return form


class ibDataObject(ibAsyncForms):  # noqa: N801 - in the style of pysystemtrade's public names
    """A data object over one client of its own class (`client_class`) on one connection."""

    client_class: type = object  # set by each data object

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accept_contract_names(cls)  # "ESM5" wherever a futuresContract is taken

    def __init__(self, ibconnection: Any, data: Any = None, log: logging.Logger | None = None):
        self.data, log = data_and_log(data, log)
        self._connection = ibconnection
        self._client = self.client_class(ibconnection, log)

    @property
    def ibconnection(self) -> Any:
        return self._connection

    @property
    def ib_client(self) -> Any:
        return self._client

    def __repr__(self) -> str:
        return data_object_repr(self)


def data_object_repr(data_object: Any) -> str:
    """`<ibFuturesContractPriceData on 127.0.0.1:4001 client 999 connected>`: every data object's repr."""
    name = type(data_object).__name__
    conn = getattr(data_object, "_connection", None)
    if conn is None:
        return f"<{name} without a connection>"
    try:
        host, port = conn.address
        if getattr(conn, "_closed", False):
            state = "closed"
        elif conn.is_connected():
            state = "connected"
        else:
            state = str(conn.state.name).lower()
        return f"<{name} on {host}:{port} client {conn.client_id()} {state}>"
    except Exception:  # a repr must never raise (e.g. a test double of a connection)
        return f"<{name} on {conn!r}>"


def data_and_log(data: Any, log: Any) -> tuple[Any, logging.Logger | None]:
    """`(data_blob or None, log or None)` from the second positional argument and `log=`."""
    if isinstance(data, logging.Logger | logging.LoggerAdapter):
        if log is not None:
            raise TypeError("two loggers given: pass the data blob second, or the logger once")
        return None, data
    if log is None and data is not None:
        log = getattr(data, "log", None)
    if not isinstance(log, logging.Logger | logging.LoggerAdapter):
        log = None  # pysystemtrade's own logger objects: use the connection's
    return data, log


# -- contract names (sysbrokers/IB/contract_names.py) ---------------------------------------------
# The one place where the data objects' contract arguments are normalised: a method parameter
# named below also takes a contract name — an IB local symbol ("ESM5", "ZN   JUN 25") or
# "SP500/202506" — turned into a futuresContract before the method runs.
CONTRACT_PARAMETERS = ("contract_object", "futures_contract", "contract")


def as_futures_contract(value: Any) -> Any:
    """A `futuresContract` for a contract name (str); anything else unchanged."""
    if isinstance(value, str):
        from sysbrokers.IB.contract_names import contract_from_name

        return contract_from_name(value)
    return value


def accept_contract_names(cls: type) -> type:
    """Wrap the methods `cls` defines whose contract parameter may be given as a name."""
    for name, func in list(vars(cls).items()):
        if name.startswith("__") or not inspect.isfunction(func) or getattr(func, "_accepts_contract_names", False):
            continue
        params = list(inspect.signature(func).parameters)
        found = [(params.index(p), p) for p in CONTRACT_PARAMETERS if p in params]
        if found:
            setattr(cls, name, _converting(func, found))
    return cls


def _converting(func: Callable[..., Any], slots: list[tuple[int, str]]) -> Callable[..., Any]:
    def convert(args: tuple, kwargs: dict) -> tuple:
        args = list(args)
        for index, name in slots:
            if index < len(args):
                args[index] = as_futures_contract(args[index])
            elif name in kwargs:
                kwargs[name] = as_futures_contract(kwargs[name])
        return tuple(args), kwargs

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def wrapper_async(*args: Any, **kwargs: Any) -> Any:
            args, kwargs = convert(args, kwargs)
            return await func(*args, **kwargs)

        wrapper_async._accepts_contract_names = True
        return wrapper_async

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = convert(args, kwargs)
        return func(*args, **kwargs)

    wrapper._accepts_contract_names = True
    return wrapper
