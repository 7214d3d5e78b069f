"""Control-plane components as processes for integration and e2e tests: the real
scheduler under a name of its own, the scheduler beside the controller manager, and a
whole private control plane (etcd, apiserver, scheduler, controller manager) for a
module whose objects must not see other tests' nodes, and the ingress controller. All
are stopped by PID."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy import processes
from deploy.controlplane import ApiServer, etcd_and_apiserver
from tests.support.controllermanager import ManagerProcess


def spawn_scheduler(
    apiserver: ApiServer, workdir: Path, name: str, extra: tuple[str, ...] = ()
) -> processes.Process:
    """The real scheduler, placing only the pods whose `schedulerName` is `name`; with
    `extra` flags."""
    argv = [
        sys.executable,
        "-m",
        "scheduler",
        "--kubeconfig",
        str(apiserver.kubeconfig_as("kube-scheduler")),
        "--scheduler-name",
        name,
        *extra,
    ]
    return processes.spawn("scheduler", argv, workdir / "scheduler.log")


def spawn_ingress(
    apiserver: ApiServer, log: Path, http_port: int, https_port: int, *extra: str
) -> processes.Process:
    """The real ingress controller (`python -m ingress`) serving on loopback ports."""
    argv = [
        sys.executable,
        "-m",
        "ingress",
        "--kubeconfig",
        str(apiserver.kubeconfig_as("ingress")),
        "--bind-address",
        "127.0.0.1",
        "--http-port",
        str(http_port),
        "--https-port",
        str(https_port),
        "-v",
        "4",
        *extra,
    ]
    return processes.spawn("ingress", argv, log)


@contextmanager
def manager_and_scheduler(apiserver: ApiServer, workdir: Path, scheduler: str) -> Iterator[None]:
    """The controller manager and a scheduler named `scheduler` against `apiserver`."""
    manager = ManagerProcess(apiserver, workdir).start()
    proc = spawn_scheduler(apiserver, workdir, scheduler)
    try:
        yield
    finally:
        proc.stop()
        manager.stop()


@contextmanager
def private_control_plane(
    prefix: str, apiserver_args: list[str] | None = None, service_accounts: bool = False
) -> Iterator[tuple[ApiServer, Path]]:
    """A control plane of its own in a fresh workdir named `prefix...`: etcd, the
    apiserver, the scheduler and the controller manager; yields the apiserver and the
    workdir, and removes all of it afterwards. `service_accounts`: pods get their
    ServiceAccount's token (the admission plugin; the manager's controllers make the
    accounts and publish the CA)."""
    with etcd_and_apiserver(prefix, apiserver_args, service_accounts) as server:
        workdir = server.workdir.parent
        components = []
        try:
            for name, identity in (
                ("scheduler", "kube-scheduler"),
                ("controller", "kube-controller-manager"),
            ):
                kubeconfig = server.kubeconfig_as(identity)
                argv = [sys.executable, "-m", name, "--kubeconfig", str(kubeconfig)]
                components.append(processes.spawn(name, argv, workdir / f"{name}.log"))
            yield server, workdir
        finally:
            for proc in components:
                proc.stop()
