"""`--leader-elect` and its companions, as kube-scheduler and kube-controller-manager
take them, and running a component's work only while it leads.

Several replicas of a component may run; only the holder of the Lease acts. A leader
that loses its Lease exits at once, as Kubernetes components do: another replica may
be acting already, and a half-stopped leader must not act beside it.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from client.leaderelection import JITTER_FACTOR, LeaderElector
from client.rest import AsyncClient
from componentbase.flags import add_bool_flag, duration

log = logging.getLogger(__name__)


def add_leader_election_flags(parser: argparse.ArgumentParser, resource_name: str) -> None:
    add_bool_flag(
        parser,
        "--leader-elect",
        help="act only while holding a Lease, so one of several replicas acts",
    )
    parser.add_argument("--leader-elect-lease-duration", type=duration, default=15.0)
    parser.add_argument("--leader-elect-renew-deadline", type=duration, default=10.0)
    parser.add_argument("--leader-elect-retry-period", type=duration, default=2.0)
    parser.add_argument("--leader-elect-resource-name", default=resource_name)
    parser.add_argument("--leader-elect-resource-namespace", default="kube-system")


def leader_election_error(args: argparse.Namespace) -> str | None:
    """Why the --leader-elect-* timings cannot work together, or None when they can."""
    lease, renew, retry = (
        args.leader_elect_lease_duration,
        args.leader_elect_renew_deadline,
        args.leader_elect_retry_period,
    )
    if args.leader_elect and not lease > renew > retry * JITTER_FACTOR:
        return (
            "need --leader-elect-lease-duration > --leader-elect-renew-deadline > "
            f"{JITTER_FACTOR} x --leader-elect-retry-period"
        )
    return None


async def run_while_leading(
    api: AsyncClient, args: argparse.Namespace, work: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    """Campaign for the Lease the flags name; run `work` while holding it."""
    elector = LeaderElector(
        api,
        args.leader_elect_resource_namespace,
        args.leader_elect_resource_name,
        f"{socket.gethostname()}_{uuid.uuid4()}",
        lease_duration=args.leader_elect_lease_duration,
        renew_deadline=args.leader_elect_renew_deadline,
        retry_period=args.leader_elect_retry_period,
    )
    await elector.run(work, _exit_at_once)


async def _exit_at_once() -> None:
    log.error("leader election lost; exiting")
    logging.shutdown()
    os._exit(1)
