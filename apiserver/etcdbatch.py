"""Single-key etcd reads that arrive together go to etcd together.

Each gRPC call through aetcd costs the apiserver's core far more than etcd's answer
(a call object, a task, the completion crossing from gRPC's poller thread to the event
loop), and at a few thousand GETs a second that, not etcd, is the limit. So reads
asked for in the same turn of the event loop are sent as one read-only etcd
transaction of range requests: one call for all of them, each still a linearizable
read made after it was asked for (all at one revision, as etcd answers a
transaction). A lone read stays a plain range request, so nothing waits for company.
Writes are never grouped: every write keeps its own revision.

A batch that fails as a whole (an answer over gRPC's message limit, say) is retried
key by key, so each read gets its own answer or its own error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aetcd

MAX_KEYS = 64  # per transaction; more wait for the next one


class GetBatcher:
    def __init__(self, client: Callable[[], aetcd.Client]) -> None:
        self._client = client  # the connected client, or raises
        self._pending: list[tuple[bytes, asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: bytes) -> Any:
        """aetcd's `get(key)`: the key-value (with .key, .value, .mod_revision) or None."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((key, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)  # after the other requests ready in this turn
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        for at in range(0, len(batch), MAX_KEYS):
            task = asyncio.ensure_future(self._read(batch[at : at + MAX_KEYS]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _read(self, batch: list[tuple[bytes, asyncio.Future[Any]]]) -> None:
        try:
            client = self._client()
            if len(batch) == 1:
                found = [await client.get(batch[0][0])]
            else:
                tx = client.transactions
                _, responses = await client.transaction(
                    compare=[], success=[tx.get(key) for key, _ in batch], failure=[]
                )
                found = [kvs[0][1] if kvs else None for kvs in responses]
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as err:
            if len(batch) > 1:
                await asyncio.gather(*(self._read([one]) for one in batch))
                return
            _, future = batch[0]
            if not future.done():
                future.set_exception(err)
            return
        for (_, future), kv in zip(batch, found, strict=True):
            if not future.done():
                future.set_result(kv)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
