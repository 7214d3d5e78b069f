"""Leader election on the real apiserver: `client.leaderelection.LeaderElector`
in-process, and two controller manager processes with `--leader-elect` of which only
one ever acts; killing the leader hands over within the lease duration."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Iterator

import pytest

from api.resources import LEASES
from client.kubeconfig import load
from client.leaderelection import LeaderElector
from client.rest import AsyncClient
from tests.integration.test_controllers import Api, replicaset
from tests.support.controllermanager import ManagerProcess
from tests.support.wait import eventually, eventually_async

LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 3.0, 2.0, 0.5


def lease_holder(http, name: str) -> str | None:
    r = http.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{name}")
    return (r.json().get("spec") or {}).get("holderIdentity") if r.status_code == 200 else None


def test_electors_take_turns(apiserver):
    name = f"lock-{secrets.token_hex(3)}"

    async def scenario() -> list[str]:
        events: list[str] = []
        async with AsyncClient(load(str(apiserver.kubeconfig))) as api:

            def candidate(identity: str) -> LeaderElector:
                return LeaderElector(
                    api, "kube-system", name, identity, LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD
                )

            a, b = candidate("a"), candidate("b")

            async def lead(who: str) -> None:
                events.append(f"{who} leads")
                await asyncio.sleep(3600)

            task_a = asyncio.create_task(a.run(lambda: lead("a")))
            await asyncio.sleep(0.5)
            task_b = asyncio.create_task(b.run(lambda: lead("b")))
            await asyncio.sleep(LEASE_DURATION + 1)  # a renews: b must still wait
            assert events == ["a leads"] and b.holder == "a"
            task_a.cancel()  # a stops and releases the Lease
            await asyncio.gather(task_a, return_exceptions=True)

            def b_leads() -> bool:
                assert events[-1] == "b leads", events
                return True

            await eventually_async(b_leads, timeout=RETRY_PERIOD * 3)
            lease = await api.get(LEASES, name, "kube-system")
            task_b.cancel()
            await asyncio.gather(task_b, return_exceptions=True)
            assert lease["spec"]["holderIdentity"] == "b"
            assert lease["spec"]["leaseTransitions"] >= 1
        return events

    assert asyncio.run(scenario()) == ["a leads", "b leads"]


@pytest.fixture
def two_managers(apiserver, tmp_path) -> Iterator[tuple[str, list[ManagerProcess]]]:
    name = f"kcm-{secrets.token_hex(3)}"
    flags = [
        "--leader-elect",
        "--leader-elect-resource-name", name,
        "--leader-elect-lease-duration", f"{LEASE_DURATION}s",
        "--leader-elect-renew-deadline", f"{RENEW_DEADLINE}s",
        "--leader-elect-retry-period", f"{RETRY_PERIOD}s",
        "--controllers", "replicaset,garbagecollector",
    ]  # fmt: skip
    managers = []
    for i in range(2):
        workdir = tmp_path / f"m{i}"
        workdir.mkdir()
        managers.append(ManagerProcess(apiserver, workdir, *flags).start())
    yield name, managers
    for manager in managers:
        manager.stop()


def identity_of(manager: ManagerProcess, lease: str) -> str | None:
    match = re.search(rf"acquired lease kube-system/{lease} as (\S+)", manager.log())
    return match.group(1) if match else None


def test_only_the_leader_acts_and_a_successor_takes_over(two_managers, apiserver, namespace):
    lease, managers = two_managers
    with apiserver.http() as http:
        api = Api(http, namespace)
        holder = eventually(lambda: lease_holder(http, lease), timeout=10, message="a leader")
        # the leader logs its win after the lease write the API already shows
        leaders = eventually(
            lambda: [m for m in managers if identity_of(m, lease) == holder],
            timeout=10,
            message=f"a manager's log naming the holder {holder}",
        )
        assert len(leaders) == 1, [m.log()[-2000:] for m in managers]
        (leader,) = leaders
        (follower,) = [m for m in managers if m is not leader]
        eventually(
            lambda: "attempting to acquire lease" in follower.log(),
            timeout=20,
            message="a candidate",
        )
        assert identity_of(follower, lease) is None

        api.create("replicasets", replicaset("rs", replicas=3))
        eventually(lambda: len(api.items("pods")) == 3, timeout=20, message="3 pods")
        time.sleep(1)
        assert len(api.items("pods")) == 3  # two acting managers would make more

        leader.kill()
        killed = time.monotonic()
        new_holder = eventually(
            lambda: (h := lease_holder(http, lease)) not in (None, holder) and h,
            timeout=LEASE_DURATION + 5,
            message="a new leader",
        )
        took = time.monotonic() - killed
        assert took <= LEASE_DURATION + 3 * RETRY_PERIOD + 1, took
        assert new_holder == identity_of(follower, lease)
        api.patch("replicasets", "rs", {"spec": {"replicas": 5}})
        eventually(
            lambda: len(api.items("pods")) == 5, timeout=20, message="the new leader reconciling"
        )
        time.sleep(0.5)
        assert len(api.items("pods")) == 5


def test_a_manager_that_loses_its_lease_exits(apiserver, tmp_path, namespace):
    name = f"kcm-{secrets.token_hex(3)}"
    manager = ManagerProcess(
        apiserver,
        tmp_path,
        "--leader-elect",
        "--leader-elect-resource-name", name,
        "--leader-elect-lease-duration", f"{LEASE_DURATION}s",
        "--leader-elect-renew-deadline", f"{RENEW_DEADLINE}s",
        "--leader-elect-retry-period", f"{RETRY_PERIOD}s",
        "--controllers", "replicaset",
    ).start()  # fmt: skip
    try:
        with apiserver.http() as http:
            holder = eventually(lambda: lease_holder(http, name), timeout=10, message="leadership")
            # Someone else takes the Lease by force: the manager cannot renew it.
            path = f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{name}"
            current = http.get(path).json()
            current["spec"].update(holderIdentity="intruder", leaseDurationSeconds=3600)
            assert http.put(path, json=current).status_code == 200
            assert holder != "intruder"
            eventually(lambda: not manager.alive(), timeout=RENEW_DEADLINE + 5, message="exit")
            assert manager.process.popen.returncode == 1
            assert "leader election lost" in manager.log()
    finally:
        manager.stop()
