"""componentbase.metrics: the address flag's forms and the small /metrics listener,
scraped over a real loopback socket and parsed with Prometheus' own parser."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from componentbase.metrics import (
    HostPort,
    MetricsListener,
    exposition,
    parse_host_port,
    serving,
    with_process_metrics,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:10249", HostPort("127.0.0.1", 10249)),
        (":10249", HostPort("0.0.0.0", 10249)),
        ("[::1]:9", HostPort("::1", 9)),
        ("", HostPort("127.0.0.1", 0)),
        ("127.0.0.1:0", HostPort("127.0.0.1", 0)),
    ],
)
def test_parse_host_port(text, expected):
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.1:x", "1.2.3.4:70000"])
def test_parse_host_port_refuses(text):
    with pytest.raises(ValueError):
        parse_host_port(text)


def test_listener_serves_metrics_and_healthz():
    registry = CollectorRegistry()
    Counter("things_total", "Things.", ["kind"], registry=registry).labels("a").inc(3)

    async def go() -> None:
        listener = MetricsListener("127.0.0.1", 0, registry)
        port = await listener.start()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            metrics = await http.get("/metrics")
            health = await http.get("/healthz")
            missing = await http.get("/debug")
            post = await http.post("/metrics")
        listener.close()
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
        [total] = [s for s in families["things"].samples if s.name == "things_total"]
        assert (total.labels, total.value) == ({"kind": "a"}, 3.0)
        assert (health.status_code, health.text) == (200, "ok")
        assert missing.status_code == 404
        assert post.status_code == 405

    asyncio.run(go())


def test_serving_off_and_taken():
    async def go() -> None:
        async with serving("test", HostPort("127.0.0.1", 0)) as none:
            assert none is None
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            async with serving("test", HostPort("127.0.0.1", port)) as refused:
                assert refused is None  # logged; the component runs on
        async with serving("test", HostPort("127.0.0.1", port)) as listener:
            assert listener is not None and listener.port == port

    asyncio.run(go())


def test_a_component_sharing_its_process_shows_its_own_and_the_process_families():
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    Counter("ours_total", "ours", registry=ours).inc()
    Counter("theirs_total", "theirs", registry=theirs).inc()
    text = exposition(with_process_metrics(ours)).decode()
    names = {family.name for family in text_string_to_metric_families(text)}
    assert "ours" in names and "process_cpu_seconds" in names  # the default registry's
    assert "theirs" not in names
