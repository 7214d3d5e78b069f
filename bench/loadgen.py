"""A load generator that is not the bottleneck, for measuring the apiserver's capacity.

httpx spends about 1.1 ms of CPU per request, more than the apiserver spends on a
create, so a bench driven by it measures its own client. Here several client processes
(spawned, each pinned to the CPUs it is given) each keep their own keep-alive HTTPS
connections and send pre-built HTTP/1.1 requests, reading answers by Content-Length
only: tens of microseconds of client CPU per request. Each worker reports its CPU
time, so a run shows whether the clients had room to spare.

Two shapes: `closed_loop` (n requests, `conns` in flight per process, as fast as the
server answers: throughput) and `paced` (requests started on a fixed schedule whatever
the answers do, latency counted from each request's scheduled start so a slow answer
that delays the next is not hidden: latency at a given rate).

`etcd_closed_loop` is the raw etcd figure beside it: the same shape with aetcd (the
apiserver's own etcd client library), one client per process, put or get of the same
bytes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import ssl
import statistics
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

NAME = b"@NAME@"  # where a request's object name goes in its path and body


class Probe(Protocol):
    """Something measured over a run: from its common start to its last answer."""

    def start(self) -> None: ...

    def stop(self) -> tuple[float, ...]: ...


@dataclass(frozen=True)
class Target:
    """Where the apiserver listens and how to be let in."""

    host: str
    port: int
    token: str
    ca_file: str


@dataclass(frozen=True)
class Plan:
    """One kind of request: `path` and `body` carry NAME where each request's object
    name (`prefix-<i>`) goes."""

    method: str
    path: str
    prefix: str
    body: bytes = b""
    expect: tuple[int, ...] = (200, 201)

    def request(self, target: Target, i: int) -> bytes:
        name = f"{self.prefix}-{i}".encode()
        body = self.body.replace(NAME, name)
        head = (
            f"{self.method} {self.path} HTTP/1.1\r\n"
            f"Host: {target.host}:{target.port}\r\n"
            f"Authorization: Bearer {target.token}\r\n"
            "Accept: application/json\r\n"
        ).encode()
        head = head.replace(NAME, name)
        if body:
            head += b"Content-Type: application/json\r\n"
        head += b"Content-Length: %d\r\n\r\n" % len(body)
        return head + body


@dataclass
class Outcome:
    """What the workers of one run did, together."""

    ok: int
    errors: int
    seconds: float  # from the common start to the last answer
    latencies_ms: list[float]
    client_cpu_seconds: float
    first_error: str = ""
    per_worker_cpu: list[float] = field(default_factory=list)
    probed: tuple[float, ...] = ()  # what the probe saw from the common start to the end

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


class HttpConnection:
    """One keep-alive HTTPS connection: a request out, its answer in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, target: Target, context: ssl.SSLContext) -> HttpConnection:
        reader, writer = await asyncio.open_connection(
            target.host, target.port, ssl=context, server_hostname=target.host
        )
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        at = head.lower().find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"an answer without Content-Length: {head[:200]!r}")
        end = head.find(b"\r\n", at + 2)
        body = await self.reader.readexactly(int(head[at + 17 : end]))
        return status, body

    def close(self) -> None:
        self.writer.close()


def _context(target: Target) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=target.ca_file)


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # plain asyncio works, a little slower
        asyncio.run(main)
        return
    uvloop.run(main)


def _pin(cpus: tuple[int, ...] | None) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)


@dataclass
class _Tally:
    ok: int = 0
    errors: int = 0
    first_error: str = ""
    latencies: list[float] = field(default_factory=list)

    def record(self, status: int, body: bytes, expect: tuple[int, ...], ms: float) -> None:
        if status in expect:
            self.ok += 1
            self.latencies.append(ms)
        else:
            self.errors += 1
            if not self.first_error:
                self.first_error = f"{status} {body[:300]!r}"

    def report(self, start: float, cpu0: float) -> tuple:
        end = time.monotonic()
        return (
            self.ok,
            self.errors,
            self.first_error,
            end - start,
            self.latencies,
            time.process_time() - cpu0,
        )


def _http_worker(
    target: Target,
    plan: Plan,
    indices: list[int],
    conns: int,
    rate: float | None,
    cpus: tuple[int, ...] | None,
    pipe: Connection,
) -> None:
    """One client process: open `conns` connections, say ready, wait for the common
    start time, then send `indices`' requests (closed loop, or on `rate`'s schedule
    where index i starts i / rate after the start), and send back the tally."""
    _pin(cpus)
    requests = [plan.request(target, i) for i in indices]

    async def main() -> None:
        context = _context(target)
        pool = [await HttpConnection.open(target, context) for _ in range(conns)]
        pipe.send("ready")
        start = await asyncio.to_thread(pipe.recv)
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        cpu0 = time.process_time()
        tally = _Tally()
        if rate is None:
            await _closed(pool, iter(requests), plan, tally)
        else:
            await _paced(target, context, pool, requests, indices, start, rate, plan, tally)
        pipe.send(tally.report(start, cpu0))
        for c in pool:
            c.close()

    _run_loop(main())


async def _closed(
    pool: list[HttpConnection], requests: Iterator[bytes], plan: Plan, tally: _Tally
) -> None:
    async def drive(conn: HttpConnection) -> None:
        for request in requests:
            t0 = time.perf_counter()
            status, body = await conn.exchange(request)
            tally.record(status, body, plan.expect, (time.perf_counter() - t0) * 1000)

    await asyncio.gather(*(drive(c) for c in pool))


async def _paced(
    target: Target,
    context: ssl.SSLContext,
    pool: list[HttpConnection],
    requests: list[bytes],
    indices: list[int],
    start: float,
    rate: float,
    plan: Plan,
    tally: _Tally,
) -> None:
    """Open loop: each request starts at its scheduled time on an idle connection (a
    new one when all are busy); its latency counts from the schedule."""
    idle = list(pool)

    async def one(request: bytes, due: float) -> None:
        conn = idle.pop() if idle else await HttpConnection.open(target, context)
        status, body = await conn.exchange(request)
        tally.record(status, body, plan.expect, (time.monotonic() - due) * 1000)
        idle.append(conn)

    tasks = []
    for request, i in zip(requests, indices, strict=True):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    pool[:] = idle  # the caller closes them


def _etcd_worker(
    endpoint: str,
    op: str,
    prefix: str,
    value: bytes,
    indices: list[int],
    conns: int,
    cpus: tuple[int, ...] | None,
    rate: float | None,
    pipe: Connection,
) -> None:
    """The raw etcd counterpart of _http_worker: `conns` puts (or gets) in flight on one
    aetcd client, as the apiserver holds one; with `rate`, on that schedule instead."""
    _pin(cpus)
    import aetcd

    host, port = endpoint.removeprefix("http://").split(":")
    keys = [f"{prefix}{i}".encode() for i in indices]

    async def main() -> None:
        client = aetcd.Client(host=host, port=int(port))
        await client.connect()
        await client.status()
        pipe.send("ready")
        start = await asyncio.to_thread(pipe.recv)
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        cpu0 = time.process_time()
        tally = _Tally()
        todo = iter(keys)

        async def one(key: bytes, since: float) -> None:
            if op == "put":
                await client.put(key, value)
            else:
                await client.get(key)
            tally.record(200, b"", (200,), (time.monotonic() - since) * 1000)

        async def drive() -> None:
            for key in todo:
                await one(key, time.monotonic())

        if rate is None:
            await asyncio.gather(*(drive() for _ in range(conns)))
        else:  # open loop, latency from each request's scheduled start
            tasks = []
            for key, i in zip(keys, indices, strict=True):
                due = start + i / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                tasks.append(asyncio.create_task(one(key, due)))
            await asyncio.gather(*tasks)
        pipe.send(tally.report(start, cpu0))
        await client.close()

    asyncio.run(main())  # as the apiserver's aetcd runs (grpc.aio on asyncio)


def _gather(
    target: Callable[..., None],
    args_for: Callable[[int], tuple],
    procs: int,
    probe: Probe | None = None,
) -> Outcome:
    """Start `procs` workers, wait until every one is connected, give them one start
    time a moment ahead, and add up what they report. `probe` (e.g. the server's CPU
    seconds) is started at the common start and stopped once every worker reported."""
    ctx = multiprocessing.get_context("spawn")
    pipes, workers = [], []
    try:
        for p in range(procs):
            ours, theirs = ctx.Pipe()
            worker = ctx.Process(target=target, args=(*args_for(p), theirs), daemon=True)
            worker.start()
            pipes.append(ours)
            workers.append(worker)
        for pipe in pipes:
            if not pipe.poll(60):
                raise RuntimeError("a load generator process did not connect within 60 s")
            pipe.recv()
        start = time.monotonic() + 0.2
        for pipe in pipes:
            pipe.send(start)
        time.sleep(max(0.0, start - time.monotonic()))
        if probe:
            probe.start()
        reports = []
        for pipe in pipes:
            if not pipe.poll(600):
                raise RuntimeError("a load generator process did not finish within 600 s")
            reports.append(pipe.recv())
        probed = probe.stop() if probe else ()
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
    latencies: list[float] = []
    for r in reports:
        latencies += r[4]
    return Outcome(
        ok=sum(r[0] for r in reports),
        errors=sum(r[1] for r in reports),
        first_error=next((r[2] for r in reports if r[2]), ""),
        seconds=max(r[3] for r in reports),
        latencies_ms=latencies,
        client_cpu_seconds=sum(r[5] for r in reports),
        per_worker_cpu=[r[5] for r in reports],
        probed=probed,
    )


def _split(n: int, procs: int) -> list[list[int]]:
    """Indices 0..n-1 dealt round robin: worker p gets p, p+procs, ..."""
    return [list(range(p, n, procs)) for p in range(procs)]


def closed_loop(
    target: Target,
    plan: Plan,
    n: int,
    procs: int,
    conns: int,
    cpus: tuple[int, ...] | None = None,
    probe: Probe | None = None,
) -> Outcome:
    """`n` requests from `procs` processes with `conns` connections each, back to back."""
    parts = _split(n, procs)
    return _gather(
        _http_worker, lambda p: (target, plan, parts[p], conns, None, cpus), procs, probe
    )


def paced(
    target: Target,
    plan: Plan,
    rate: float,
    seconds: float,
    procs: int = 1,
    cpus: tuple[int, ...] | None = None,
) -> Outcome:
    """`rate` requests a second for `seconds`, on a fixed schedule (open loop)."""
    parts = _split(round(rate * seconds), procs)
    return _gather(_http_worker, lambda p: (target, plan, parts[p], 2, rate, cpus), procs)


def etcd_closed_loop(
    endpoint: str,
    op: str,
    prefix: str,
    value: bytes,
    n: int,
    procs: int,
    conns: int,
    cpus: tuple[int, ...] | None = None,
) -> Outcome:
    """`n` raw etcd puts or gets (`op`) of keys `prefix<i>`, shaped as closed_loop."""
    parts = _split(n, procs)
    return _gather(
        _etcd_worker, lambda p: (endpoint, op, prefix, value, parts[p], conns, cpus, None), procs
    )


def etcd_paced(
    endpoint: str,
    prefix: str,
    value: bytes,
    rate: float,
    seconds: float,
    cpus: tuple[int, ...] | None = None,
) -> Outcome:
    """Raw etcd puts at `rate` a second for `seconds`, open loop (as paced)."""
    keys = list(range(round(rate * seconds)))
    return _gather(_etcd_worker, lambda p: (endpoint, "put", prefix, value, keys, 1, cpus, rate), 1)


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_busy_seconds(cpu: int) -> float:
    """Seconds CPU `cpu` spent on anything but idle and iowait (all processes)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                ticks = [int(v) for v in line.split()[1:]]
                return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    raise RuntimeError(f"no cpu{cpu} in /proc/stat")


def pin_process(pid: int, cpus: tuple[int, ...]) -> None:
    """Pin every thread of `pid` (taskset -a -p): threads it starts later inherit it."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except ProcessLookupError:  # a thread that just ended
            pass


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
