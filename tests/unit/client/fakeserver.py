"""A scripted apiserver for the client's list/watch tests: pods, watch events, and a
transport that answers each request with the next scripted step."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from api.resources import lookup
from client.kubeconfig import KubeConfig
from client.watch import Backoff

PODS = lookup("pods")
CONFIG = KubeConfig(server="http://127.0.0.1:9", token="t")


def pod(name: str, rv: int, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}, **extra}


def event(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


class Stream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A watch body: some lines, then either a clean end or a dropped connection."""

    def __init__(self, chunks: list[bytes], drop: bool = False) -> None:
        self.chunks, self.drop = chunks, drop

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.drop:
            raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.drop:
            raise httpx.ReadError("connection reset by peer")


class FakeServer:
    """Answers each request with the next scripted response; records what was asked."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        # the watch's resourceVersion, "list" (the newest) or "list@RV"
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        rv = params.get("resourceVersion")
        if "watch" in params:
            self.asked.append(rv or "?")
        else:
            self.asked.append(f"list@{rv}" if rv else "list")
        if not self.script:
            return httpx.Response(200, stream=Stream([], drop=True))
        step = self.script.pop(0)
        if isinstance(step, httpx.Response):
            return step
        if isinstance(step, dict):  # a List
            return httpx.Response(200, json=step)
        if isinstance(step, Exception):
            raise step
        chunks, drop = step
        return httpx.Response(200, stream=Stream(chunks, drop))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def listing(rv: int, *items: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": str(rv)},
        "items": list(items),
    }


GONE = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "code": 410,
    "reason": "Expired",
    "message": "too old resource version",
}


def fast() -> Backoff:
    return Backoff(initial=0.001, maximum=0.005)


def unauthorized() -> httpx.Response:
    """The 401 Status a request with a bad token gets (fatal: not retried)."""
    return httpx.Response(
        401,
        json={"kind": "Status", "code": 401, "reason": "Unauthorized", "message": "Unauthorized"},
    )
