"""Workarounds for defects of the Pulumi Python SDK that this project's users would otherwise hit.

Each one names the SDK code it works around and the versions it was checked against, so it can be
removed once Pulumi fixes the defect (tests/test_sdk_workarounds.py says when).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pulumi
import pulumi.dynamic

_MISSING = object()


@contextmanager
def pickler_patches_undone() -> Iterator[None]:
    """Undo, on the way out, what the SDK's provider serialisation leaves patched in `pickle`.

    `pulumi.dynamic.Resource.__init__` pickles the provider with `serialize_provider`
    (pulumi/dynamic/dynamic.py, lines 279-322 in pulumi 3.260.0 and, unchanged, 3.272.0). To
    sort dictionaries it sets `pickle.Pickler = pickle._Pickler`, then
    `pickle.Pickler._batch_setitems = <wrapper of the current _batch_setitems>` and
    `pickle.Pickler.save_dict = save_dict_sorted`, and its `finally` puts back only
    `pickle.Pickler`. Both methods stay patched on `pickle._Pickler` for good, and each resource
    wraps the previous resource's wrapper: after about 985 dynamic resources in one process
    (Python's default recursion limit of 1000), pickling one dict recurses through every wrapper
    and the program dies with `RecursionError`.

    Around one resource's construction the SDK still does exactly what it does for the first
    resource of a process (sorted, deterministic pickles); afterwards `pickle._Pickler` and
    `pickle.Pickler` are as they were before, so the next resource starts from the same place.
    """
    stock = pickle._Pickler
    before = dict(vars(stock))
    pickler = pickle.Pickler
    try:
        yield
    finally:
        pickle.Pickler = pickler  # type: ignore[misc]
        for name, value in list(vars(stock).items()):
            original = before.get(name, _MISSING)
            if original is _MISSING:
                delattr(stock, name)
            elif original is not value:
                setattr(stock, name, original)


class DynamicResource(pulumi.dynamic.Resource):
    """`pulumi.dynamic.Resource` without the SDK's pickler leak: the base of every record type."""

    def __init__(
        self,
        provider: pulumi.dynamic.ResourceProvider,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        with pickler_patches_undone():
            super().__init__(provider, name, props, opts)
