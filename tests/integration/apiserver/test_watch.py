"""Watches over HTTP: initial events, resume from a revision, selectors, bookmarks, 410."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from components.apiserver.server import ApiServer
from core.kinds import Stream
from tests.integration.apiserver.conftest import Client, cm

pytestmark = pytest.mark.integration
CMS = "/api/v1/namespaces/default/configmaps"


class WatchStream:
    def __init__(self, client: Client, path: str, headers: dict[str, str] | None = None) -> None:
        self.client, self.path, self.headers = client, path, headers or {}
        self.resp: Any = None
        self.status = 0

    async def __aenter__(self) -> WatchStream:
        self.resp = await self.client.session.get(self.client.base + self.path, headers=self.headers)
        self.status = self.resp.status
        return self

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.resp.content.readline(), timeout)
        assert line, "the watch ended"
        return orjson.loads(line)

    async def take(self, n: int) -> list[tuple[str, str]]:
        out = []
        for _ in range(n):
            e = await self.next()
            out.append((e["type"], e["object"]["metadata"].get("name", "")))
        return out

    async def __aexit__(self, *exc: object) -> None:
        self.resp.close()


async def test_watch_sees_added_modified_deleted(client: Client) -> None:
    code, listed = await client.get(CMS)
    rv = listed["metadata"]["resourceVersion"]
    async with WatchStream(client, f"{CMS}?watch=true&resourceVersion={rv}") as w:
        assert w.status == 200
        await client.post(CMS, cm("w1"))
        await client.patch(f"{CMS}/w1", {"data": {"a": "b"}})
        await client.delete(f"{CMS}/w1")
        assert await w.take(3) == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


async def test_watch_without_revision_replays_existing_objects(client: Client) -> None:
    await client.post(CMS, cm("old1"))
    await client.post(CMS, cm("old2"))
    async with WatchStream(client, f"{CMS}?watch=true") as w:
        assert await w.take(2) == [("ADDED", "old1"), ("ADDED", "old2")]
        await client.post(CMS, cm("new"))
        assert await w.take(1) == [("ADDED", "new")]


async def test_resume_from_an_older_revision(client: Client) -> None:
    _, a = await client.post(CMS, cm("r1"))
    await client.post(CMS, cm("r2"))
    await client.post(CMS, cm("r3"))
    async with WatchStream(client, f"{CMS}?watch=true&resourceVersion={a['metadata']['resourceVersion']}") as w:
        assert await w.take(2) == [("ADDED", "r2"), ("ADDED", "r3")]


async def test_label_selector_turns_leaving_into_deleted(client: Client) -> None:
    await client.post(CMS, cm("s", labels={"app": "x"}))
    _, listed = await client.get(CMS + "?labelSelector=app%3Dx")
    rv = listed["metadata"]["resourceVersion"]
    async with WatchStream(client, f"{CMS}?watch=true&labelSelector=app%3Dx&resourceVersion={rv}") as w:
        await client.patch(f"{CMS}/s", {"metadata": {"labels": {"app": "y"}}})
        await client.patch(f"{CMS}/s", {"metadata": {"labels": {"app": "x"}}})
        assert await w.take(2) == [("DELETED", "s"), ("ADDED", "s")]


async def test_bookmarks_and_timeout(client: Client) -> None:
    _, listed = await client.get(CMS)
    rv = listed["metadata"]["resourceVersion"]
    path = f"{CMS}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=1"
    async with WatchStream(client, path) as w:
        await client.post(CMS, cm("bm"))
        assert (await w.next())["type"] == "ADDED"
        rest = await asyncio.wait_for(w.resp.content.read(), 5)  # ends by itself after timeoutSeconds
        assert rest == b"" or all(orjson.loads(line)["type"] == "BOOKMARK" for line in rest.splitlines())


async def test_table_watch_events(client: Client) -> None:
    _, listed = await client.get(CMS)
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    async with WatchStream(client, f"{CMS}?watch=true&resourceVersion={listed['metadata']['resourceVersion']}",
                           {"Accept": accept}) as w:
        await client.post(CMS, cm("t1"))
        await client.post(CMS, cm("t2"))
        first, second = await w.next(), await w.next()
        assert first["object"]["kind"] == "Table" and first["object"]["columnDefinitions"]
        assert second["object"]["columnDefinitions"] == [] and second["object"]["rows"][0]["cells"][0] == "t2"


async def test_compacted_revision_answers_410(client: Client, apiserver: ApiServer) -> None:
    _, a = await client.post(CMS, cm("c", {"v": "0"}))
    first_rv = a["metadata"]["resourceVersion"]
    for i in range(1, 5):
        await client.patch(f"{CMS}/c", {"data": {"v": str(i)}})
    await apiserver.bus.logs[Stream.OBJECTS].compact(keep=1)
    for cache in apiserver.caches.values():  # make the cache forget, as after a restart
        cache.ring.clear()
        cache.ring_floor = cache.revision
    async with WatchStream(client, f"{CMS}?watch=true&resourceVersion={first_rv}") as w:
        e = await w.next()
        assert e["type"] == "ERROR" and e["object"]["code"] == 410 and e["object"]["reason"] == "Expired"
