"""`python -m controller --kubeconfig F [--controllers '*'] [--leader-elect] ...`

The controller manager process, with kube-controller-manager's flags."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import uuid

from api.timefmt import parse_duration
from client.kubeconfig import KubeconfigError
from client.kubeconfig import load as load_kubeconfig
from client.rest import AsyncClient
from controller.manager import UnknownController, enabled_controllers, run_controllers
from controller.util.base import Options

log = logging.getLogger("controller")


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "t"):
        return True
    if value in ("false", "0", "no", "f"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m controller", description="minik controller manager")
    p.add_argument("--kubeconfig", help="kubeconfig with the apiserver and credentials")
    p.add_argument(
        "--controllers",
        default="*",
        help="comma-separated: '*' all, 'foo' enable foo, '-foo' disable foo",
    )
    p.add_argument("--node-monitor-grace-period", type=_duration, default=40.0)
    p.add_argument("--node-startup-grace-period", type=_duration, default=60.0)
    p.add_argument(
        "--node-monitor-period",
        type=_duration,
        default=5.0,
        help="accepted for compatibility; nodes are checked exactly when their grace ends",
    )
    # The apiserver adds the default tolerations (DefaultTolerationSeconds admission);
    # these are accepted, as kube-controller-manager's deprecated flags were.
    p.add_argument("--default-not-ready-toleration-seconds", type=int, default=300)
    p.add_argument("--default-unreachable-toleration-seconds", type=int, default=300)
    p.add_argument("--pod-gc-period", type=_duration, default=20.0, help=argparse.SUPPRESS)
    p.add_argument("--leader-elect", type=_bool, nargs="?", const=True, default=False)
    p.add_argument("--leader-elect-lease-duration", type=_duration, default=15.0)
    p.add_argument("--leader-elect-renew-deadline", type=_duration, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=_duration, default=2.0)
    p.add_argument("--leader-elect-resource-name", default="kube-controller-manager")
    p.add_argument("--leader-elect-resource-namespace", default="kube-system")
    for name, default in (
        ("deployment", 5),
        ("replicaset", 5),
        ("endpoint", 5),
        ("gc", 20),
    ):
        p.add_argument(f"--concurrent-{name}-syncs", type=int, default=default)
    p.add_argument("--v", "--log-level", dest="log_level", default="info")
    return p.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        node_monitor_grace_period=args.node_monitor_grace_period,
        node_startup_grace_period=args.node_startup_grace_period,
        default_not_ready_toleration_seconds=args.default_not_ready_toleration_seconds,
        default_unreachable_toleration_seconds=args.default_unreachable_toleration_seconds,
        pod_gc_period=args.pod_gc_period,
        workers={
            "deployment": args.concurrent_deployment_syncs,
            "replicaset": args.concurrent_replicaset_syncs,
            "endpoints": args.concurrent_endpoint_syncs,
            "garbagecollector": args.concurrent_gc_syncs,
        },
    )


async def serve(args: argparse.Namespace, names: list[str]) -> int:
    api = AsyncClient(load_kubeconfig(args.kubeconfig), user_agent="minik-controller-manager")
    options = options_from(args)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    async def run() -> None:
        await run_controllers(api, names, options)

    try:
        if args.leader_elect:
            from client.leaderelection import LeaderElector

            identity = f"{socket.gethostname()}_{uuid.uuid4()}"
            elector = LeaderElector(
                api,
                args.leader_elect_resource_namespace,
                args.leader_elect_resource_name,
                identity,
                lease_duration=args.leader_elect_lease_duration,
                renew_deadline=args.leader_elect_renew_deadline,
                retry_period=args.leader_elect_retry_period,
            )
            main = asyncio.create_task(elector.run(run, _lost_leadership))
        else:
            main = asyncio.create_task(run())
        stop = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
        if main in done:
            main.result()
            return 0
        log.info("shutting down")
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main
        return 0
    finally:
        await api.aclose()


async def _lost_leadership() -> None:
    """Kubernetes exits at once: another manager may already be acting."""
    log.error("leader election lost; exiting")
    logging.shutdown()
    os._exit(1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    level = "DEBUG" if args.log_level.isdigit() and int(args.log_level) >= 4 else "INFO"
    if not args.log_level.isdigit():
        level = args.log_level.upper()
    logging.basicConfig(
        level=level, format="%(asctime)s controller-manager %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        names = enabled_controllers(args.controllers.split(","))
    except UnknownController as err:
        print(f"controller-manager: {err}", file=sys.stderr)
        return 2
    lease, renew, retry = (
        args.leader_elect_lease_duration,
        args.leader_elect_renew_deadline,
        args.leader_elect_retry_period,
    )
    if args.leader_elect and not lease > renew > retry * 1.2:
        print(
            "controller-manager: need --leader-elect-lease-duration > "
            "--leader-elect-renew-deadline > 1.2 x --leader-elect-retry-period",
            file=sys.stderr,
        )
        return 2
    try:
        return asyncio.run(serve(args, names))
    except KubeconfigError as err:
        print(f"controller-manager: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
