"""`python -m scheduler --kubeconfig F [--leader-elect] [--scheduler-name N] [--v 2]`"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import socket
import sys
import uuid
from collections.abc import Callable, Coroutine

from client.kubeconfig import KubeconfigError
from client.kubeconfig import load as load_kubeconfig
from client.leaderelection import LeaderElector
from client.rest import AsyncClient
from scheduler.scheduler import DEFAULT_PARALLEL_BINDS, DEFAULT_SCHEDULER_NAME, Scheduler

log = logging.getLogger("scheduler")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "t"):
        return True
    if text.lower() in ("false", "0", "no", "f"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _duration(text: str) -> float:
    """Go-style durations as Kubernetes flags take them ("15s", "1m30s", "500ms"), or
    plain seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scheduler", description="minik's scheduler")
    p.add_argument("--kubeconfig", help="kubeconfig file (default $KUBECONFIG, ~/.minik)")
    p.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER_NAME)
    p.add_argument(
        "--parallel-binds",
        type=int,
        default=DEFAULT_PARALLEL_BINDS,
        help="binding POSTs in flight (more only adds client and server overhead here)",
    )
    p.add_argument("--v", "-v", type=int, default=0, help="log verbosity (4+: every decision)")
    p.add_argument(
        "--leader-elect",
        nargs="?",
        const=True,
        default=False,
        type=_bool,
        help="schedule only while holding a Lease, so one of several replicas acts",
    )
    p.add_argument("--leader-elect-lease-duration", type=_duration, default=15.0)
    p.add_argument("--leader-elect-renew-deadline", type=_duration, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=_duration, default=2.0)
    p.add_argument("--leader-elect-resource-name", default="kube-scheduler")
    p.add_argument("--leader-elect-resource-namespace", default="kube-system")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    config = load_kubeconfig(args.kubeconfig)
    agent = "minik-scheduler/0.1.0"
    # Three connection pools, as kube-scheduler keeps a separate client for events:
    # watches, binds and Events do not queue behind (or scan) each other's connections.
    async with (
        AsyncClient(config, user_agent=agent) as api,
        AsyncClient(config, user_agent=agent) as writes_api,
        AsyncClient(config, user_agent=agent) as events_api,
    ):
        scheduler = Scheduler(
            api,
            writes_api=writes_api,
            events_api=events_api,
            name=args.scheduler_name,
            parallel_binds=args.parallel_binds,
        )
        if not args.leader_elect:
            await scheduler.run()
            return
        elector = LeaderElector(
            api,
            args.leader_elect_resource_namespace,
            args.leader_elect_resource_name,
            f"{socket.gethostname()}_{uuid.uuid4()}",
            lease_duration=args.leader_elect_lease_duration,
            renew_deadline=args.leader_elect_renew_deadline,
            retry_period=args.leader_elect_retry_period,
        )
        await elector.run(scheduler.run, _lost_leadership)


async def _lost_leadership() -> None:
    """Exit at once, as kube-scheduler does: another replica may be binding already."""
    log.error("leader election lost; exiting")
    logging.shutdown()
    os._exit(1)


async def _until_signalled(work: Coroutine[None, None, None]) -> None:
    """Run `work`; SIGTERM or SIGINT cancels it, so shutdown is orderly (a leader
    releases its Lease)."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    await work


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # plain asyncio works, only slower
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.v >= 4 else logging.INFO,
        format="%(asctime)s scheduler %(levelname)s %(name)s: %(message)s",
    )
    for chatty in ("httpx", "httpcore"):  # one line per request even at --v 4 is noise
        logging.getLogger(chatty).setLevel(logging.WARNING)
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        try:
            runner.run(_until_signalled(run(args)))
        except asyncio.CancelledError:
            log.info("stopped")
        except KubeconfigError as err:
            print(f"scheduler: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
