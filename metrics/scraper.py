"""Scrapes every node's kubelet, as metrics-server does: `GET /metrics/resource` over
HTTPS at the Node's InternalIP and `status.daemonEndpoints.kubeletEndpoint.Port`, with
this server's own credentials from its kubeconfig (the kubelet asks the apiserver
whether they may read `nodes/metrics`), all nodes at once, each bounded by a timeout
shorter than the resolution. The kubelet's serving certificate is verified as
metrics-server verifies it: with `--kubelet-certificate-authority`, else the
kubeconfig's CA; `--kubelet-insecure-tls` skips the check (self-signed kubelets)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from api.errors import ApiError
from client.errors import ConnectionFailed
from client.kubeconfig import KubeConfig
from client.rest import AsyncClient
from metrics.selfmetrics import KUBELET_REQUEST_SECONDS, KUBELET_REQUESTS, TICK_SECONDS
from metrics.storage import MetricsStore, from_samples
from metrics.textformat import ParseError, parse

log = logging.getLogger(__name__)
DEFAULT_KUBELET_PORT = 10250


def kubelet_url(node: dict[str, Any]) -> str | None:
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    ip = next((a.get("address") for a in addresses if a.get("type") == "InternalIP"), None)
    ip = ip or next((a.get("address") for a in addresses if a.get("address")), None)
    if not ip:
        return None
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    host = f"[{ip}]" if ":" in ip else ip
    return f"https://{host}:{int(port or DEFAULT_KUBELET_PORT)}"


@dataclass(frozen=True)
class KubeletTLS:
    """metrics-server's `--kubelet-certificate-authority` and `--kubelet-insecure-tls`."""

    certificate_authority: str | None = None
    insecure: bool = False

    def client_config(self, credentials: KubeConfig, url: str) -> KubeConfig:
        """The metrics server's own credentials, toward one kubelet."""
        config = replace(credentials, server=url)
        if self.insecure:
            return replace(
                config,
                insecure_skip_tls_verify=True,
                certificate_authority=None,
                certificate_authority_data=None,
            )
        if self.certificate_authority:
            return replace(
                config,
                certificate_authority=self.certificate_authority,
                certificate_authority_data=None,
            )
        return config


class Scraper:
    def __init__(
        self,
        credentials: KubeConfig,
        store: MetricsStore,
        timeout: float,
        tls: KubeletTLS | None = None,
    ) -> None:
        self.credentials = credentials
        self.tls = tls or KubeletTLS()
        self.store = store
        self.timeout = timeout
        self._clients: dict[str, AsyncClient] = {}
        self.scrapes = 0

    async def scrape_all(self, nodes: list[dict[str, Any]]) -> int:
        """Scrape every node; how many answered."""
        names = {(n.get("metadata") or {}).get("name", "") for n in nodes}
        for gone in [u for u in self._clients if u not in {kubelet_url(n) for n in nodes}]:
            await self._clients.pop(gone).aclose()
        with TICK_SECONDS.time():
            results = await asyncio.gather(*(self._scrape(n) for n in nodes))
        self.store.forget(names)
        self.scrapes += 1
        return sum(results)

    async def _scrape(self, node: dict[str, Any]) -> bool:
        name = (node.get("metadata") or {}).get("name", "")
        url = kubelet_url(node)
        if url is None:
            return False
        client = self._clients.get(url)
        if client is None:
            client = AsyncClient(
                self.tls.client_config(self.credentials, url),
                timeout=self.timeout,
                user_agent="minik-metrics",
            )
            self._clients[url] = client
        started = time.time()
        try:
            with KUBELET_REQUEST_SECONDS.labels(name).time():
                async with asyncio.timeout(self.timeout):
                    answer = await client.request("GET", "/metrics/resource")
            samples = parse(answer.text)
        except (ApiError, ConnectionFailed, ParseError, TimeoutError, OSError) as err:
            log.info("scraping node %s at %s failed: %s", name, url, err)
            KUBELET_REQUESTS.labels("false").inc()
            return False
        KUBELET_REQUESTS.labels("true").inc()
        self.store.store(name, from_samples(samples, started))
        return True

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
