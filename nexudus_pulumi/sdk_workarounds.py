"""Workarounds for defects of the Pulumi Python SDK that this project's users would otherwise hit.

Each one names the SDK code it works around and the versions it was checked against, so it can be
removed once Pulumi fixes the defect (tests/package/test_sdk_workarounds.py says when).
"""

from __future__ import annotations

import functools
import pickle
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import grpc  # type: ignore[import-untyped]  # grpcio ships no types
import pulumi.dynamic

from .errors import NexudusError

_STOCK_PICKLER = pickle._Pickler
_PRISTINE = (pickle.Pickler, dict(vars(_STOCK_PICKLER)))
"""`pickle` as it was before this package's first resource: the program imports the package
before it declares anything."""


def undo_pickler_patches() -> None:
    """Put back what the SDK's provider serialisation leaves patched in `pickle`.

    `pulumi.dynamic.Resource.__init__` pickles the provider with `serialize_provider`
    (pulumi/dynamic/dynamic.py, lines 279-322 in pulumi 3.260.0 and, unchanged, 3.272.0). To
    sort dictionaries it sets `pickle.Pickler = pickle._Pickler`, then
    `pickle.Pickler._batch_setitems = <wrapper of the current _batch_setitems>` and
    `pickle.Pickler.save_dict = save_dict_sorted`, and its `finally` puts back only
    `pickle.Pickler`. Both methods stay patched on `pickle._Pickler` for good, and each resource
    wraps the previous resource's wrapper: after about 985 dynamic resources in one process
    (Python's default recursion limit of 1000), pickling one dict recurses through every wrapper
    and the program dies with `RecursionError`.
    """
    pickler, methods = _PRISTINE
    pickle.Pickler = pickler  # type: ignore[misc]
    for name in set(vars(_STOCK_PICKLER)) - set(methods):
        delattr(_STOCK_PICKLER, name)
    for name, original in methods.items():
        if vars(_STOCK_PICKLER).get(name) is not original:
            setattr(_STOCK_PICKLER, name, original)


class DynamicResource(pulumi.dynamic.Resource):
    """`pulumi.dynamic.Resource` without the SDK's pickler leak: the base of every record type.

    Each resource starts from an unpatched `pickle`, so the SDK serialises its provider exactly
    as it does for the first resource of a process (sorted, deterministic, one wrapper deep).
    This happens in `__new__`, not around `__init__`: the SDK records the Python stack of
    `__init__` as the resource's `stackTrace` and source position in the state, and a wrapping
    `__init__` would add a frame to every resource's entry and point its source here.
    """

    def __new__(cls, *_args: Any, **_kwargs: Any) -> DynamicResource:
        undo_pickler_patches()
        return super().__new__(cls)


class _OurErrorsAsTheirMessage:
    """The `traceback` module as the dynamic-provider host calls it, but for one function:
    `format_exc` gives an error of this package as its message alone.

    The host reports every exception of a provider call with
    `context.abort(grpc.StatusCode.UNKNOWN, traceback.format_exc())` (`_abort_with_traceback` in
    pulumi/dynamic/__main__.py, pulumi 3.260.0; the SDK offers no other way to fail a call), so
    an API refusal reached `pulumi up` as its message followed by a Python traceback, which
    says nothing to a user. Our errors are written to be read alone: they name the record and
    quote the API. Any other exception is a bug, and keeps its traceback for the report.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    @staticmethod
    def format_exc(limit: int | None = None, chain: bool = True) -> str:
        exc = sys.exc_info()[1]
        if isinstance(exc, NexudusError):
            return str(exc)
        return traceback.format_exc(limit, chain)


def plain_errors_in_dynamic_host() -> None:
    """In the dynamic-provider host's process (`python -m pulumi.dynamic`, which imports this
    package when it unpickles the first provider), report this package's errors as their
    messages: see `_OurErrorsAsTheirMessage`. Anywhere else (a program, a test, the plugin),
    nothing is changed."""
    host = sys.modules.get("__main__")
    spec = getattr(host, "__spec__", None)
    if getattr(spec, "name", None) != "pulumi.dynamic.__main__":
        return
    if getattr(host, "traceback", None) is traceback:
        host.traceback = _OurErrorsAsTheirMessage()  # type: ignore[union-attr]


_Method = Callable[[Any, Any, Any], Awaitable[Any]]
"""A gRPC method of the SDK's servicer: (self, request, `grpc.aio.ServicerContext`)."""


def plain_errors_in_plugin(servicer: type) -> None:
    """In the plugin (`pulumi-resource-nexudus`), report this package's errors as their
    messages, as `plain_errors_in_dynamic_host` does in the dynamic providers' host.

    The SDK's provider server wraps every gRPC method in `_raise_with_traceback`
    (pulumi/provider/experimental/server.py, lines 74-84 in pulumi 3.260.0), which turns any
    exception into `Exception(f"{e}:\n{stack}")`; gRPC then sends "Unexpected <class
    'Exception'>: <message>:" and the Python stack, which the engine prints under the resource.
    For a message written for the user (a refusal that names the record and quotes the API) the
    stack is noise. Each wrapped method is wrapped once more: when the exception it raises was
    caused by one of ours, the call is aborted with that message, which gRPC sends as it is.
    Any other failure keeps the SDK's report, stack included, as a defect should.
    """
    for name, method in list(vars(servicer).items()):
        if name[:1].isupper() and callable(method):
            setattr(servicer, name, _aborting_plainly(method))


def _aborting_plainly(method: _Method) -> _Method:
    @functools.wraps(method)
    async def call(self: Any, request: Any, context: Any) -> Any:
        try:
            return await method(self, request, context)
        except Exception as error:
            cause = error if isinstance(error, NexudusError) else error.__context__
            if isinstance(cause, NexudusError):
                await context.abort(grpc.StatusCode.UNKNOWN, str(cause))
            raise

    return call
