"""`kubectl get componentstatuses` (v1 ComponentStatus): deprecated since Kubernetes
1.19 and still served, so the older tutorials that open with `kubectl get cs` work.

Nothing is stored. Each GET or LIST probes, as kube-apiserver does
(pkg/registry/core/componentstatus): the scheduler's and the controller manager's
`/healthz` over HTTPS without verifying their self-signed certificates, and etcd by a
read through this apiserver's own client (`etcd-0`). A probe that answers 2xx/3xx is
Healthy with the body as its message ("ok"); another status is False with the body; a
failed connection is Unknown with the error. kube-apiserver probes 127.0.0.1 at the
components' default ports (10259, 10257), minik's apiserver the same unless told
otherwise (--component-status-*-url, apiserver/config.py): `minik up` runs them on free
ports and names those."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from api import errors
from api.resources import COMPONENTSTATUSES

DEPRECATION = "v1 ComponentStatus is deprecated in v1.19+"
PROBE_SECONDS = 20.0  # kube-apiserver's probeTimeOut
ETCD_SECONDS = 2.0  # its etcd health check's
MESSAGE_LIMIT = 10 * 1024  # Kubernetes' HTTP prober keeps this much of a body

# (status "True"/"False"/"Unknown", message, error)
Outcome = tuple[str, str, str]


@dataclass(frozen=True)
class Component:
    name: str
    probe: Callable[[], Awaitable[Outcome]]


def _insecure_tls() -> ssl.SSLContext:
    """kube-apiserver's InsecureSkipVerify: the components' certificates are self-signed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def http_probe(url: str) -> Callable[[], Awaitable[Outcome]]:
    async def probe() -> Outcome:
        try:
            async with httpx.AsyncClient(verify=_insecure_tls(), timeout=PROBE_SECONDS) as client:
                answer = await client.get(url)
        except httpx.HTTPError as err:
            return "Unknown", "", _dial_error(url, err)
        body = answer.content[:MESSAGE_LIMIT].decode(errors="replace")
        if 200 <= answer.status_code < 400:
            return "True", body, ""
        return "False", body, f"HTTP probe failed with statuscode: {answer.status_code}"

    return probe


def _dial_error(url: str, err: httpx.HTTPError) -> str:
    """Go's wording, as kubectl shows it: Get "URL": dial tcp HOST:PORT: <cause>."""
    parts = urlsplit(url)
    return f'Get "{url}": dial tcp {parts.hostname}:{parts.port}: {_cause(err)}'


def _cause(err: BaseException) -> str:
    if isinstance(err, httpx.TimeoutException):
        return "i/o timeout"
    seen: BaseException | None = err
    while seen is not None:  # httpx wraps the socket's error ("All connection attempts failed")
        if isinstance(seen, ConnectionRefusedError):
            return "connect: connection refused"
        if isinstance(seen, OSError) and seen.strerror:
            return f"connect: {seen.strerror.lower()}"
        seen = seen.__cause__ or seen.__context__
    return str(err) or type(err).__name__


def etcd_probe(read: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[Outcome]]:
    async def probe() -> Outcome:
        try:
            async with asyncio.timeout(ETCD_SECONDS):
                await read()
        except TimeoutError:
            return "False", "", "context deadline exceeded"
        except Exception as err:  # the store's own errors: not reachable, refused
            return "False", "", str(err) or type(err).__name__
        return "True", "ok", ""

    return probe


def components(
    scheduler_url: str, controller_manager_url: str, etcd_read: Callable[[], Awaitable[object]]
) -> list[Component]:
    return [
        Component("scheduler", http_probe(scheduler_url)),
        Component("controller-manager", http_probe(controller_manager_url)),
        Component("etcd-0", etcd_probe(etcd_read)),
    ]


def as_object(name: str, outcome: Outcome) -> dict:
    status, message, error = outcome
    condition = {"type": "Healthy", "status": status}
    if message:
        condition["message"] = message
    if error:
        condition["error"] = error
    return {
        "kind": COMPONENTSTATUSES.kind,
        "apiVersion": COMPONENTSTATUSES.api_version,
        "metadata": {"name": name},
        "conditions": [condition],
    }


async def get(known: list[Component], name: str) -> dict:
    for component in known:
        if component.name == name:
            return as_object(name, await component.probe())
    raise errors.not_found(COMPONENTSTATUSES.group_resource, name, plural=COMPONENTSTATUSES.plural)


async def list_all(known: list[Component]) -> dict:
    """Every component, probed at once (a LIST waits for the slowest, as Kubernetes')."""
    outcomes = await asyncio.gather(*(c.probe() for c in known))
    items = [as_object(c.name, o) for c, o in zip(known, outcomes, strict=True)]
    return {
        "kind": COMPONENTSTATUSES.list_kind,
        "apiVersion": COMPONENTSTATUSES.api_version,
        "metadata": {},
        "items": items,
    }
