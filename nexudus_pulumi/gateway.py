"""One record type's collection, as the core reads it: by id, by search, and the account's
listing of it shared by the operations of a provider process.

The reads custody and adoption share, so that neither reaches into the other for them: custody
writes, adoption vets, and both read through one gateway (custody -> adoption -> gateway ->
client, no way back).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .client import NexudusClient
from .descriptor import RecordSpec
from .errors import NotFoundError
from .listing import AccountListing


class RecordGateway:
    """The reads of one record type's collection, for one provider process."""

    def __init__(self, spec: RecordSpec, client: NexudusClient) -> None:
        self.spec = spec
        self.client = client
        self.listing = AccountListing(lambda filters: client.search(spec.collection, filters))

    @property
    def has_credentials(self) -> bool:
        return self.client.settings.has_credentials

    def fetch(self, record_id: int) -> dict[str, Any] | None:
        """The record as Nexudus holds it now (GET by id), or None when it does not exist."""
        try:
            return self.client.get(self.spec.collection, record_id)
        except NotFoundError:
            return None

    def search(self, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        return self.client.search(self.spec.collection, filters)
