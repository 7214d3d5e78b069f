"""/healthz, /livez and /readyz as kube-apiserver serves them: named checks, each also
at its own path (/readyz/etcd), `?verbose` listing them (`[+]etcd ok`), `?exclude=`.

Liveness answers "should a supervisor restart this process?", so it does not include
etcd: restarting a healthy apiserver during an etcd outage fixes nothing (Kubernetes
1.31 still lists etcd in /livez; minik keeps it to /readyz and /healthz). Readiness
answers "should traffic come here?", and without etcd it should not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from starlette.datastructures import QueryParams
from starlette.responses import PlainTextResponse, Response

Check = Callable[[], Awaitable[None]]  # raises when unhealthy


@dataclass(frozen=True)
class Endpoint:
    """One of /healthz, /livez, /readyz and the checks it runs, in order."""

    name: str  # "livez"
    checks: Sequence[str]


async def _ok() -> None:
    return None


def endpoints() -> dict[str, Endpoint]:
    return {
        "healthz": Endpoint("healthz", ("ping", "log", "etcd")),
        "livez": Endpoint("livez", ("ping", "log")),
        "readyz": Endpoint("readyz", ("ping", "log", "etcd", "etcd-readiness")),
    }


def base_checks(etcd: Check, etcd_readiness: Check) -> dict[str, Check]:
    """The apiserver's checks by name: `etcd` reads from the store; `etcd-readiness`
    also fails while etcd refuses writes (a NOSPACE alarm)."""
    return {"ping": _ok, "log": _ok, "etcd": etcd, "etcd-readiness": etcd_readiness}


async def respond(
    endpoint: Endpoint, checks: Mapping[str, Check], query: QueryParams, only: str | None = None
) -> Response:
    """The answer to GET /<endpoint>[/<only>]."""
    if only is not None:
        if only not in endpoint.checks:
            return PlainTextResponse("404 page not found\n", status_code=404)
        error = await _run(checks[only])
        if error is None:
            return PlainTextResponse("ok")
        return PlainTextResponse(f"internal server error: {error}\n", status_code=500)
    excluded = set(query.getlist("exclude"))
    lines, failed = [], False
    for name in endpoint.checks:
        if name in excluded:
            lines.append(f"[+]{name} excluded: ok")
            continue
        error = await _run(checks[name])
        if error is None:
            lines.append(f"[+]{name} ok")
        else:
            failed = True
            lines.append(f"[-]{name} failed: reason withheld")
    for name in sorted(excluded - set(endpoint.checks)):
        lines.append(f'warn: some health checks cannot be excluded: no matches for "{name}"')
    if failed:
        lines.append(f"{endpoint.name} check failed")
        return PlainTextResponse("\n".join(lines) + "\n", status_code=500)
    if "verbose" in query:
        lines.append(f"{endpoint.name} check passed")
        return PlainTextResponse("\n".join(lines) + "\n")
    return PlainTextResponse("ok")


async def _run(check: Check) -> str | None:
    try:
        await check()
    except Exception as err:  # a check's failure is its answer, whatever it raised
        return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return None
