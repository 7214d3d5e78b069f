"""`python -m scheduler --kubeconfig F [--config FILE] [--leader-elect]
[--scheduler-name N] [--bind-address 127.0.0.1] [--secure-port 10259] [--port 0] [-v 4]`

`--config` reads a KubeSchedulerConfiguration (scheduler/config.py: e.g.
percentageOfNodesToScore); its profile's schedulerName, when given, wins over
`--scheduler-name`.

Flags, logging and signal handling come from componentbase, as for every component."""

from __future__ import annotations

import argparse
import sys

from client.kubeconfig import KubeconfigError
from client.kubeconfig import load as load_kubeconfig
from client.rest import AsyncClient
from componentbase.flags import add_kubeconfig_flag
from componentbase.leaderelection import (
    add_leader_election_flags,
    leader_election_error,
    run_while_leading,
)
from componentbase.logs import add_verbosity_flag, setup_logging
from componentbase.metrics import add_metrics_flags, check_secure_serving_flags, secure_serving
from componentbase.run import run, run_until_signalled
from scheduler.config import ConfigError, SchedulerConfig
from scheduler.config import load as load_config
from scheduler.scheduler import DEFAULT_PARALLEL_BINDS, DEFAULT_SCHEDULER_NAME, Scheduler

SECURE_PORT = 10259  # kube-scheduler's
INSECURE_PORT = 10251  # its plain-HTTP port before Kubernetes 1.23


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scheduler", description="minik's scheduler")
    add_kubeconfig_flag(p)
    p.add_argument("--config", help="a KubeSchedulerConfiguration file (YAML or JSON)")
    p.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER_NAME)
    p.add_argument(
        "--parallel-binds",
        type=int,
        default=DEFAULT_PARALLEL_BINDS,
        help="binding POSTs in flight (more only adds client and server overhead here)",
    )
    add_metrics_flags(p, "kube-scheduler", SECURE_PORT, INSECURE_PORT)
    add_verbosity_flag(p)
    add_leader_election_flags(p, resource_name="kube-scheduler")
    args = p.parse_args(argv)
    check_secure_serving_flags(p, args)
    return args


async def serve(args: argparse.Namespace, options: SchedulerConfig) -> None:
    config = load_kubeconfig(args.kubeconfig)
    agent = "minik-scheduler/0.1.0"
    # Three connection pools, as kube-scheduler keeps a separate client for events:
    # watches, binds and Events do not queue behind (or scan) each other's connections.
    async with (
        AsyncClient(config, user_agent=agent) as api,
        AsyncClient(config, user_agent=agent) as writes_api,
        AsyncClient(config, user_agent=agent) as events_api,
        secure_serving("scheduler", args, api),
    ):
        scheduler = Scheduler(
            api,
            writes_api=writes_api,
            events_api=events_api,
            name=options.scheduler_name or args.scheduler_name,
            parallel_binds=args.parallel_binds,
            percentage_of_nodes_to_score=options.percentage_of_nodes_to_score,
        )
        if args.leader_elect:
            await run_while_leading(api, args, scheduler.run)
        else:
            await scheduler.run()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    error = leader_election_error(args)
    if error:
        print(f"scheduler: {error}", file=sys.stderr)
        return 2
    try:
        options = load_config(args.config) if args.config else SchedulerConfig()
    except ConfigError as err:
        print(f"scheduler: --config: {err}", file=sys.stderr)
        return 2
    setup_logging("scheduler", args.verbosity)
    try:
        run(run_until_signalled(serve(args, options)))
    except KubeconfigError as err:
        print(f"scheduler: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
