"""Workarounds for defects of the Pulumi Python SDK that this project's users would otherwise hit.

Each one names the SDK code it works around and the versions it was checked against, so it can be
removed once Pulumi fixes the defect (tests/package/test_sdk_workarounds.py says when).
"""

from __future__ import annotations

import pickle
from typing import Any

import pulumi.dynamic

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
