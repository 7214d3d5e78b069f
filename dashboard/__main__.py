"""`python -m dashboard`: the live web dashboard.

    python -m dashboard --kubeconfig F [--bind-address 127.0.0.1] [--port 9090]
                        [--metrics-interval 15s] [-v 4]

Watches the cluster through informers (dashboard/hub.py) and pushes every change to the
open pages over Server-Sent Events (dashboard/app.py). It only reads: anyone who can
open the page sees what its credentials see, pod logs too, so it binds to loopback
unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from client.kubeconfig import KubeconfigError
from client.kubeconfig import load as load_kubeconfig
from client.rest import AsyncClient
from componentbase.flags import add_kubeconfig_flag, duration
from componentbase.httpserve import EmbeddedServer, bind
from componentbase.logs import add_verbosity_flag, setup_logging
from componentbase.run import run, run_until_signalled
from dashboard.app import create_app
from dashboard.hub import Hub

log = logging.getLogger("dashboard")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.split("\n")[0])
    add_kubeconfig_flag(p)
    p.add_argument("--bind-address", default="127.0.0.1", help="address to serve the page on")
    p.add_argument("--port", type=int, default=9090, help="port to serve on (0: a free one)")
    p.add_argument(
        "--metrics-interval",
        type=duration,
        default=15.0,
        help="how often resource use is read from metrics.k8s.io (Go duration)",
    )
    add_verbosity_flag(p)
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    import uvicorn  # after api/: its __init__ keeps uvicorn's watchfiles out

    api = AsyncClient(load_kubeconfig(args.kubeconfig), user_agent="minik-dashboard")
    hub = Hub(api, args.metrics_interval)
    sock = bind(args.bind_address, args.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        create_app(hub, api),
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=2,  # open log streams never end by themselves
        ws="none",  # serves no WebSocket: uvicorn would load websockets (~1.5 MiB)
    )
    server = EmbeddedServer(config)
    await hub.start()
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        # one line a supervisor's log and a test can rely on
        log.info("serving the dashboard on http://%s:%d/", host, port)
        if not await hub.wait_for_sync(timeout=60):
            log.warning("not all watches have listed yet; the page fills in as they do")
        await serving
    finally:
        server.should_exit = True
        await hub.stop()  # ends the pages' streams, so the server can close
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(serving, 5)
        await api.aclose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging("dashboard", args.verbosity)
    try:
        run(run_until_signalled(serve(args)))
    except (KubeconfigError, ValueError) as err:
        log.error("%s", err)
        return 1
    except OSError as err:
        log.error("cannot serve on %s:%d: %s", args.bind_address, args.port, err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
