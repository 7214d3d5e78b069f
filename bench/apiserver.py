"""apiserver vs raw etcd, same run, same machine.

`--capacity` (bench/apicapacity.py): pod creates/s and gets/s of one apiserver pinned to
one core, driven by a multi-process load generator (bench/loadgen.py) that is not the
bottleneck, beside raw etcd puts/gets from that core; create p99 at a paced 100/s;
`--profile DIR` py-spy profiles; `--compare COMMIT` an older apiserver in the same run.

- create throughput (pods through the API, concurrency C) vs raw etcd puts of the same
  JSON with the same client library (aetcd) at the same concurrency; same for gets;
- p50/p99 create latency at a paced 100 creates/s;
- list of 1,000 pods (full JSON), median of several;
- watch delivery latency with 100 concurrent HTTP watchers: time from the create
  request being sent to each watcher receiving the event.

Targets (issue 2): create throughput >= 40% of raw etcd puts; p99 create <= 20 ms at
100 creates/s; list of 1,000 pods <= 150 ms; watch delivery p99 <= 50 ms.

`--authz` instead compares create/get throughput under --authorization-mode AlwaysAllow
and Node,RBAC, minik up's (a system:masters caller, and an `edit` caller through a RoleBinding), two
apiservers on one etcd, rounds interleaved (issue 10: RBAC costs at most 10%).

`--encryption` compares an apiserver without `--encryption-provider-config` and one with
`minik up`'s (Secrets aescbc, deploy/encryption.py), each on its own etcd, rounds
interleaved: pods (not encrypted: what every other resource pays, target nothing
measurable) and 1 KB Secrets (encrypted: the price of encryption) created, got, listed.

`--budgets` (issue 11: the DoS budgets cost nothing measurable on normal requests) compares
the apiserver of commit 41ac7b2, the main just before the budgets landed (merge e38007a),
exported with `git archive` into the work dir and run from that tree with
this venv, against the current one with its default budgets. Each has its own etcd: the
two trees' bootstrap objects differ (the `kubernetes` Service reconciler changed) and on a
shared etcd each apiserver's watch cache would decode the other's writes while idle. Rounds
interleaved (before, now, before, ...), each in a fresh namespace: pod create/s and get/s
at the given concurrency, the median of three lists of the round's pods, small
strategic-merge PATCH/s, and /healthz latency (p50, p99) probed every 10 ms from another
process while those run; medians, every round, now/before ratios. Everything else that
changed in apiserver/ between the two commits is in the comparison too (printed), so a
ratio near 1.00 bounds the budgets' cost; a worse one does not by itself blame them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aetcd
import httpx

from api.resources import NAMESPACES, PODS, SECRETS, Resource
from bench import apicapacity, oldtree
from bench.common import bounded, pct
from bench.common import web_pod as pod
from client.rest import AsyncClient
from deploy.controlplane import (
    ApiServer,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)


async def raw_etcd(etcd_url: str, n: int, concurrency: int) -> tuple[float, float]:
    host, port = etcd_url.removeprefix("http://").split(":")
    client = aetcd.Client(host=host, port=int(port))
    await client.connect()
    body = json.dumps(pod("x")).encode()

    async def put(i: int) -> None:
        await client.put(f"/bench/raw/pod-{i}".encode(), body)

    async def get(i: int) -> None:
        await client.get(f"/bench/raw/pod-{i}".encode())

    put_s = await bounded(n, concurrency, put)
    get_s = await bounded(n, concurrency, get)
    await client.delete_prefix(b"/bench/raw/")
    await client.close()
    return n / put_s, n / get_s


async def api_rates(
    api: AsyncClient,
    ns: str,
    n: int,
    concurrency: int,
    res: Resource = PODS,
    make: Callable[[str], dict] = pod,
    prefix: str = "pod",
) -> tuple[float, float]:
    """create/s, then get/s, of `n` objects `make` builds, `concurrency` at a time."""

    async def create(i: int) -> None:
        await api.create(res, make(f"{prefix}-{i}"), ns)

    async def get(i: int) -> None:
        await api.get(res, f"{prefix}-{i}", ns)

    create_s = await bounded(n, concurrency, create)
    get_s = await bounded(n, concurrency, get)
    return n / create_s, n / get_s


async def paced_creates(api: AsyncClient, ns: str, rate: float, seconds: float) -> list[float]:
    latencies: list[float] = []
    tasks = []

    async def one(i: int) -> None:
        t0 = time.perf_counter()
        await api.create(PODS, pod(f"paced-{i}"), ns)
        latencies.append((time.perf_counter() - t0) * 1000)

    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return latencies


async def list_times(api: AsyncClient, ns: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        listed = await api.list(PODS, ns)
        out.append((time.perf_counter() - t0) * 1000)
        assert len(listed["items"]) >= 1000, len(listed["items"])
    return out


async def watch_latency(api: AsyncClient, ns: str, watchers: int, events: int) -> list[float]:
    sent: dict[str, float] = {}
    latencies: list[float] = []
    ready = 0
    done = asyncio.Event()
    received = 0
    listed = await api.list(PODS, ns, limit=1)
    rv = listed["metadata"]["resourceVersion"]

    async def watcher() -> None:
        nonlocal ready, received
        ready += 1
        async for event_type, obj in api.watch(PODS, ns, resource_version=rv, timeout_seconds=120):
            name = obj["metadata"]["name"]
            if event_type == "ADDED" and name in sent:
                latencies.append((time.perf_counter() - sent[name]) * 1000)
                received += 1
                if received >= watchers * events:
                    done.set()
                if name == f"watched-{events - 1}":
                    return

    tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
    await asyncio.sleep(2.0)  # let every watch connect
    for i in range(events):
        name = f"watched-{i}"
        sent[name] = time.perf_counter()
        await api.create(PODS, pod(name), ns)
        await asyncio.sleep(0.05)
    await asyncio.wait_for(done.wait(), 60)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


async def run(args: argparse.Namespace, api_url_kubeconfig: str, etcd_url: str) -> None:
    from client.kubeconfig import load

    config = load(api_url_kubeconfig)
    raw_put, raw_get = await raw_etcd(etcd_url, args.n, args.concurrency)
    async with AsyncClient(config, timeout=60) as api:
        ns_obj = await api.create(NAMESPACES, {"metadata": {"name": "bench"}})
        ns = ns_obj["metadata"]["name"]
        create_rate, get_rate = await api_rates(api, ns, args.n, args.concurrency)
        if args.throughput_only:
            print_rates(args, create_rate, raw_put, get_rate, raw_get)
            return
        paced = await paced_creates(api, ns, 100, args.paced_seconds)
        lists = await list_times(api, ns, 5)
        async with AsyncClient(config, timeout=120, max_connections=args.watchers + 10) as wapi:
            watch = await watch_latency(wapi, ns, args.watchers, args.watch_events)

    print_rates(args, create_rate, raw_put, get_rate, raw_get)
    print(f"{'create latency p50 ms @100/s':<40}{statistics.median(paced):>12.1f}")
    print(f"{'create latency p99 ms @100/s':<40}{pct(paced, 99):>12.1f}{'':>20}   <= 20")
    print(
        f"{'list 1000 pods ms (median of 5)':<40}{statistics.median(lists):>12.1f}{'':>20}   <= 150"
    )
    print(
        f"{'watch delivery p50 ms, ' + str(args.watchers) + ' watchers':<40}"
        f"{statistics.median(watch):>12.1f}"
    )
    print(
        f"{'watch delivery p99 ms, ' + str(args.watchers) + ' watchers':<40}"
        f"{pct(watch, 99):>12.1f}{'':>20}   <= 50"
    )


def print_rates(
    args: argparse.Namespace, create_rate: float, raw_put: float, get_rate: float, raw_get: float
) -> None:
    print(f"\nminik apiserver benchmark ({args.n} pods, concurrency {args.concurrency})")
    print(f"{'measure':<40}{'minik':>12}{'baseline':>12}{'ratio':>8}   target")
    print(
        f"{'create pods/s vs raw etcd put/s':<40}{create_rate:>12.0f}{raw_put:>12.0f}"
        f"{create_rate / raw_put:>8.2f}   >= 0.40"
    )
    print(
        f"{'get pods/s vs raw etcd get/s':<40}{get_rate:>12.0f}{raw_get:>12.0f}"
        f"{get_rate / raw_get:>8.2f}"
    )


AUTHZ_CASES = (
    ("AlwaysAllow", "admin"),
    ("Node,RBAC", "admin"),  # system:masters: cluster-admin's `*` rule
    ("Node,RBAC", "editor"),  # the `edit` ClusterRole through a RoleBinding in the namespace
)


async def grant_edit(admin: AsyncClient, namespace: str) -> None:
    """Bind `edit` to the editor in `namespace`, and wait until the authorizer shows it
    (the policy reaches it through the watch)."""
    from api.resources import ROLEBINDINGS, SUBJECTACCESSREVIEWS

    binding = {
        "metadata": {"name": "editor"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "editor"}],
    }
    await admin.create(ROLEBINDINGS, binding, namespace)
    review = {
        "spec": {
            "user": "editor",
            "resourceAttributes": {"namespace": namespace, "verb": "create", "resource": "pods"},
        }
    }
    deadline = time.monotonic() + 10
    while not (await admin.create(SUBJECTACCESSREVIEWS, review))["status"]["allowed"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the editor's RoleBinding never reached the authorizer")
        await asyncio.sleep(0.05)


async def authz_rates(
    kubeconfigs: dict[tuple[str, str], str], n: int, concurrency: int, rounds: int
) -> None:
    """Create/get throughput per --authorization-mode and caller, rounds interleaved
    (AlwaysAllow, Node,RBAC admin, Node,RBAC editor, AlwaysAllow, ...) against one etcd so drift
    hits all alike; medians."""
    from client.kubeconfig import load

    rates: dict[tuple[str, str], list[tuple[float, float]]] = {c: [] for c in kubeconfigs}
    for i in range(rounds):
        for (mode, user), path in kubeconfigs.items():
            admin_path = kubeconfigs[(mode, "admin")]
            name = f"authz-{mode.lower().replace(',', '-')}-{user}-{i}"
            async with AsyncClient(load(admin_path), timeout=60) as admin:
                await admin.create(NAMESPACES, {"metadata": {"name": name}})
                if user != "admin":
                    await grant_edit(admin, name)
            async with AsyncClient(load(path), timeout=60) as api:
                rates[(mode, user)].append(await api_rates(api, name, n, concurrency))
    print(f"\nauthorization cost ({n} pods x {rounds} rounds, concurrency {concurrency}, medians)")
    head = f"{'mode':<12}{'caller':<10}{'create/s':>10}{'get/s':>10}"
    print(f"{head}{'create ratio':>14}{'get ratio':>11}")
    base = rates[("AlwaysAllow", "admin")]
    base_c = statistics.median(c for c, _ in base)
    base_g = statistics.median(g for _, g in base)
    for (mode, user), values in rates.items():
        c = statistics.median(v for v, _ in values)
        g = statistics.median(v for _, v in values)
        print(f"{mode:<12}{user:<10}{c:>10.0f}{g:>10.0f}{c / base_c:>14.2f}{g / base_g:>11.2f}")
        print(f"{'':<22}rounds: " + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in values))
    print("target: Node,RBAC ratios >= 0.90 of AlwaysAllow")


def authz_main(args: argparse.Namespace) -> None:
    from client.kubeconfig import write_kubeconfig
    from deploy import processes

    workdir = make_workdir("minik-bench-authz-")
    etcd = start_etcd(workdir)
    servers = []
    try:
        token_file = workdir / "tokens.csv"
        tokens = processes.write_token_file(
            token_file, [("admin", "system:masters"), ("editor", "")]
        )
        kubeconfigs: dict[tuple[str, str], str] = {}
        for mode in ("AlwaysAllow", "Node,RBAC"):
            extra = [f"--authorization-mode={mode}", f"--token-auth-file={token_file}"]
            server = start_apiserver(etcd, workdir / mode, extra)
            servers.append(server)
            for m, user in AUTHZ_CASES:
                if m == mode:
                    path = workdir / mode / f"kubeconfig-{user}"
                    write_kubeconfig(path, server.url, tokens[user], ca_file=server.ca_file)
                    kubeconfigs[(mode, user)] = str(path)
        asyncio.run(authz_rates(kubeconfigs, args.n, args.concurrency, args.rounds))
    finally:
        for s in servers:
            s.stop()
        etcd.stop()
        remove_workdir(workdir)


ENCRYPTION_CASES = ("off", "secrets encrypted")


def secret(name: str) -> dict:
    """A Secret of about 1 KB (eight 64-byte values)."""
    values = {f"key-{j}": base64.b64encode(bytes([j]) * 64).decode() for j in range(8)}
    return {"metadata": {"name": name}, "type": "Opaque", "data": values}


async def kind_rates(
    api: AsyncClient, kind: str, ns: str, n: int, concurrency: int
) -> tuple[float, float, float]:
    """create/s, get/s and the median ms of three lists of the `n` objects."""
    res, make = (PODS, pod) if kind == "pods" else (SECRETS, secret)
    create_rate, get_rate = await api_rates(api, ns, n, concurrency, res, make, kind)
    lists = []
    for _ in range(3):
        start = time.perf_counter()
        await api.list(res, ns)
        lists.append((time.perf_counter() - start) * 1000)
    return create_rate, get_rate, statistics.median(lists)


async def encryption_rates(
    kubeconfigs: dict[str, str], n: int, concurrency: int, rounds: int
) -> None:
    from client.kubeconfig import load

    rates: dict[tuple[str, str], list[tuple[float, float, float]]] = {
        (kind, case): [] for kind in ("pods", "secrets") for case in kubeconfigs
    }
    for i in range(rounds):
        for case, path in kubeconfigs.items():
            async with AsyncClient(load(path), timeout=60) as api:
                ns = f"enc-{ENCRYPTION_CASES.index(case)}-{i}"
                await api.create(NAMESPACES, {"metadata": {"name": ns}})
                for kind in ("pods", "secrets"):
                    rates[(kind, case)].append(await kind_rates(api, kind, ns, n, concurrency))
    print(
        f"\nencryption at rest ({n} objects x {rounds} rounds, concurrency {concurrency}, medians)"
    )
    print(
        f"{'kind':<9}{'apiserver':<19}{'create/s':>9}{'get/s':>8}{'list ms':>9}"
        f"{'ratios vs off':>22}"
    )
    for (kind, case), values in rates.items():
        c, g, li = (statistics.median(v[k] for v in values) for k in range(3))
        base = rates[(kind, "off")]
        bc, bg, bl = (statistics.median(v[k] for v in base) for k in range(3))
        print(
            f"{kind:<9}{case:<19}{c:>9.0f}{g:>8.0f}{li:>9.1f}"
            f"{c / bc:>10.2f}{g / bg:>6.2f}{li / bl:>6.2f}"
        )
        print(f"{'':<28}rounds: " + ", ".join(f"{a:.0f}/{b:.0f}/{d:.0f}" for a, b, d in values))
    print("target: pods (not encrypted) ratios within noise of 1.00")


def encryption_main(args: argparse.Namespace) -> None:
    from deploy import encryption

    workdir = make_workdir("minik-bench-encryption-")
    started: list = []
    try:
        kubeconfigs: dict[str, str] = {}
        for i, case in enumerate(ENCRYPTION_CASES):
            etcd = start_etcd(workdir / f"etcd-{i}")
            started.append(etcd)
            extra = []
            if case != "off":
                config = encryption.ensure_encryption_config(workdir / encryption.FILE_NAME)
                extra = encryption.flags(config)
            server = start_apiserver(etcd, workdir / f"apiserver-{i}", extra)
            started.append(server)
            kubeconfigs[case] = str(server.kubeconfig)
        asyncio.run(encryption_rates(kubeconfigs, args.n, args.concurrency, args.rounds))
    finally:
        for process in reversed(started):
            process.stop()
        remove_workdir(workdir)


BUDGETS_BEFORE = "41ac7b2349d8e081a58a40c0597efd79bb796f31"  # main just before merge e38007a
BUDGETS_CASES = ("before", "now")
# (label, higher is better, format)
BUDGETS_MEASURES = (
    ("create pods/s", True, ".0f"),
    ("get pods/s", True, ".0f"),
    ("list pods ms (median of 3)", False, ".1f"),
    ("strategic PATCH/s", True, ".0f"),
    ("/healthz p50 ms under load", False, ".2f"),
    ("/healthz p99 ms under load", False, ".2f"),
)
REPO = Path(__file__).resolve().parent.parent


def healthz_probe(url: str, ca_file: str, token: str, conn: Connection) -> None:
    """In its own process (so the bench's busy event loop is not in the figure): GET
    /healthz every 10 ms until `conn` says stop, then send back the latencies (ms)."""
    out: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, verify=ssl_context(ca_file), headers=headers) as http:
        conn.send("ready")
        while not conn.poll():
            start = time.perf_counter()
            http.get("/healthz").raise_for_status()
            out.append((time.perf_counter() - start) * 1000)
            time.sleep(0.01)
    conn.send(out)


def ssl_context(ca_file: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file)


async def budgets_round(server: ApiServer, ns: str, n: int, concurrency: int) -> tuple[float, ...]:
    """One round's figures, in BUDGETS_MEASURES' order."""
    from client.kubeconfig import load

    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    args = (server.url, str(server.ca_file), server.token, theirs)
    prober = multiprocessing.get_context("spawn").Process(target=healthz_probe, args=args)
    prober.start()
    try:
        async with AsyncClient(load(str(server.kubeconfig)), timeout=60) as api:
            await api.create(NAMESPACES, {"metadata": {"name": ns}})
            await asyncio.to_thread(ours.recv)  # the prober is probing
            create_s, get_s, list_ms = await kind_rates(api, "pods", ns, n, concurrency)

            async def patch(i: int) -> None:
                body = {"metadata": {"labels": {"patched": str(i)}}}
                await api.patch(PODS, f"pods-{i}", body, "strategic", ns)

            patch_s = n / await bounded(n, concurrency, patch)
        ours.send("stop")
        health: list[float] = ours.recv()
    finally:
        prober.join(10)
        if prober.is_alive():
            prober.kill()
    return create_s, get_s, list_ms, patch_s, statistics.median(health), pct(health, 99)


async def budgets_rates(
    servers: dict[str, ApiServer], n: int, concurrency: int, rounds: int
) -> None:
    figures: dict[str, list[tuple[float, ...]]] = {case: [] for case in servers}
    for i in range(rounds):
        for case, server in servers.items():
            figures[case].append(await budgets_round(server, f"budgets-{case}-{i}", n, concurrency))
    print(
        f"\nDoS budgets on normal requests ({n} pods x {rounds} rounds, concurrency {concurrency},"
        f" medians; before = {BUDGETS_BEFORE[:7]}, now = this tree)"
    )
    print(f"{'measure':<30}{'before':>10}{'now':>10}{'now/before':>12}")
    for k, (label, higher, fmt) in enumerate(BUDGETS_MEASURES):
        b, c = (statistics.median(v[k] for v in figures[case]) for case in BUDGETS_CASES)
        verdict = "higher is better" if higher else "lower is better"
        print(f"{label:<30}{b:>10{fmt}}{c:>10{fmt}}{c / b:>12.2f}   ({verdict})")
        for case in BUDGETS_CASES:
            values = ", ".join(f"{v[k]:{fmt}}" for v in figures[case])
            print(f"{'':<4}{case} rounds: {values}")


def budgets_changes() -> str:
    """What else changed in apiserver/ between the two trees (git diff --stat)."""
    out = subprocess.run(
        ["git", "diff", "--stat=100", BUDGETS_BEFORE, "HEAD", "--", "apiserver/"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def budgets_main(args: argparse.Namespace) -> None:
    workdir = make_workdir("minik-bench-budgets-")
    tree = workdir / "before"
    started: list = []
    try:
        oldtree.export_tree(BUDGETS_BEFORE, tree)
        servers: dict[str, ApiServer] = {}
        for i, case in enumerate(BUDGETS_CASES):
            etcd = start_etcd(workdir / f"etcd-{i}")
            started.append(etcd)
            if case == "before":
                server = oldtree.start_tree_apiserver(
                    etcd,
                    workdir / f"apiserver-{i}",
                    tree,
                    ["--disable-admission-plugins=ServiceAccount"],
                    kubelet_client=False,  # 41ac7b2 has no kubelet client flags
                )
                cwd = os.readlink(f"/proc/{server.running().pid}/cwd")
                assert Path(cwd) == tree, (cwd, tree)
            else:  # authorized as the older tree's default, so only the budgets differ
                server = start_apiserver(
                    etcd, workdir / f"apiserver-{i}", authorization_mode="AlwaysAllow"
                )
            started.append(server)
            servers[case] = server
        asyncio.run(budgets_rates(servers, args.n, args.concurrency, args.rounds))
        print(
            "caveat: every other change to apiserver/ since "
            f"{BUDGETS_BEFORE[:7]} is in this comparison too:"
        )
        print(budgets_changes().rstrip())
        print(
            "a ratio near 1.00 bounds the budgets' cost; a worse ratio does not by itself "
            "blame them. target: ratios within noise of 1.00"
        )
    finally:
        for process in reversed(started):
            process.stop()
        remove_workdir(workdir)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--paced-seconds", type=float, default=5.0)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--watch-events", type=int, default=20)
    p.add_argument("--workers", type=int, default=1, help="apiserver --workers")
    p.add_argument(
        "--throughput-only",
        action="store_true",
        help="only the create/get rates beside raw etcd's (e.g. to compare two builds)",
    )
    p.add_argument(
        "--authz",
        action="store_true",
        help="only compare create/get throughput under AlwaysAllow and RBAC",
    )
    p.add_argument(
        "--encryption",
        action="store_true",
        help="only compare pods and Secrets with and without --encryption-provider-config",
    )
    p.add_argument(
        "--budgets",
        action="store_true",
        help="compare normal requests on the apiserver before the DoS budgets (41ac7b2) and now",
    )
    p.add_argument(
        "--capacity",
        action="store_true",
        help="capacity on one core: apiserver pinned to CPU 0, multi-process load generator",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds per case with --authz/--encryption/--budgets/--capacity",
    )
    apicapacity.add_arguments(p)
    args = p.parse_args()
    if args.capacity:
        apicapacity.capacity_main(args)
        return
    if args.authz:
        authz_main(args)
        return
    if args.encryption:
        encryption_main(args)
        return
    if args.budgets:
        budgets_main(args)
        return
    workdir = make_workdir("minik-bench-")
    etcd = start_etcd(workdir)
    try:
        extra = ["--workers", str(args.workers)] if args.workers > 1 else []
        server = start_apiserver(etcd, workdir / "apiserver", extra)
        try:
            asyncio.run(run(args, str(server.kubeconfig), etcd.url))
        finally:
            server.stop()
    finally:
        etcd.stop()
        remove_workdir(workdir)


if __name__ == "__main__":
    main()
