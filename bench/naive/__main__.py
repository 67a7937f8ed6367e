"""The bench's baseline: Nexudus chat rooms through a dynamic provider written the way Pulumi's
dynamic-provider docs teach it. The provider class lives in the program, so the SDK pickles it
by value into every resource; each operation is one plain `requests` call, with no session, no
pacing and no retries: a 409 (too fast) or a dropped connection fails the operation.

Config: `naive-rooms:rooms`, the same map from room key to {name, active, businessId, ...} as
this project's stacks. Where and who: NEXUDUS_BASE_URL, NEXUDUS_USERNAME, NEXUDUS_PASSWORD.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pulumi
import requests
from pulumi.dynamic import CreateResult, ReadResult, Resource, ResourceProvider, UpdateResult

# The one line a user adds after Pulumi's RecursionError at about 985 dynamic resources (see
# nexudus_pulumi/sdk_workarounds.py): without it a 1,000-room baseline would not run at all.
sys.setrecursionlimit(20_000)

COLLECTION = "/api/support/chatrooms"
FIELDS = {"businessId": "BusinessId", "name": "Name", "active": "Active", "users": "Users"}


class ChatRoomProvider(ResourceProvider):
    def _url(self, suffix: str = "") -> str:
        return os.environ["NEXUDUS_BASE_URL"] + COLLECTION + suffix

    def _auth(self) -> tuple[str, str]:
        return os.environ["NEXUDUS_USERNAME"], os.environ["NEXUDUS_PASSWORD"]

    def _body(self, props: dict[str, Any]) -> dict[str, Any]:
        body = {api: props[name] for name, api in FIELDS.items() if name in props}
        body["BusinessId"] = int(body["BusinessId"])
        if "Users" in body:  # the engine hands numbers over as floats; the API wants ids
            body["Users"] = [int(user) for user in body["Users"]]
        return body

    def create(self, props: dict[str, Any]) -> CreateResult:
        response = requests.post(self._url(), json=self._body(props), auth=self._auth(), timeout=30)
        response.raise_for_status()
        return CreateResult(str(response.json()["Value"]["Id"]), dict(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        response = requests.get(self._url(f"/{id_}"), auth=self._auth(), timeout=30)
        if response.status_code == 404:
            return ReadResult(None, {})
        response.raise_for_status()
        record = response.json()
        outs = {name: record[api] for name, api in FIELDS.items() if name in props}
        return ReadResult(id_, {**props, **outs})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        body = {"Id": int(id_), **self._body(news)}
        response = requests.put(self._url(), json=body, auth=self._auth(), timeout=30)
        response.raise_for_status()
        return UpdateResult(dict(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        response = requests.delete(self._url(f"/{id_}"), auth=self._auth(), timeout=30)
        response.raise_for_status()


class ChatRoom(Resource):
    def __init__(
        self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(ChatRoomProvider(), name, props, opts)


config = pulumi.Config()
default_business = config.get_int("businessId")
for key, room in sorted(config.require_object("rooms").items()):
    props = {"businessId": room.get("businessId", default_business), **room}
    ChatRoom(key, {name: props[name] for name in FIELDS if name in props})
