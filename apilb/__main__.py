"""`python -m apilb --listen 127.0.0.1:6443 --server https://127.0.0.1:6441 --server
https://127.0.0.1:6442 [--ca-file ca.crt] [--health-interval 500ms] [-v N]`

The local load balancer in front of several apiservers (`minik up --control-planes
N`): kubelets, proxies, controllers and kubectl dial it instead of one apiserver."""

from __future__ import annotations

import argparse
import sys

from apilb.backends import Pool, parse_server
from apilb.forward import Balancer, serve
from apilb.health import client_context
from componentbase.flags import duration
from componentbase.logs import add_verbosity_flag, setup_logging
from componentbase.metrics import parse_host_port
from componentbase.run import run, run_until_signalled


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m apilb", description=__doc__)
    p.add_argument("--listen", required=True, metavar="HOST:PORT")
    p.add_argument(
        "--server",
        action="append",
        required=True,
        metavar="URL",
        help="an apiserver (https://host:port); repeat for each",
    )
    p.add_argument(
        "--ca-file",
        help="the cluster CA: health checks GET /readyz over TLS (else: a TCP connect)",
    )
    p.add_argument("--health-interval", type=duration, default=0.5)
    add_verbosity_flag(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        pool = Pool([parse_server(url) for url in args.server])
        listen = parse_host_port(args.listen)
    except ValueError as err:
        print(f"apilb: {err}", file=sys.stderr)
        return 2
    setup_logging("apilb", args.verbosity)
    context = client_context(args.ca_file) if args.ca_file else None
    balancer = Balancer(pool, context, args.health_interval)
    run(run_until_signalled(serve(balancer, listen.host, listen.port)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
