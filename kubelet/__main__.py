"""`python -m kubelet --kubeconfig F --node-name N [--root-dir D] [--node-ip IP]
[--port 10250] [--cpu C --memory M --max-pods P] [--pod-network minik]
[--sandbox-image IMG]` — see kubelet/config.py for every flag."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from client.kubeconfig import KubeconfigError
from kubelet.config import parse_args
from kubelet.kubelet import Kubelet
from kubelet.runtime import RuntimeFailure
from kubelet.server import ServeError


async def _main(argv: list[str] | None) -> int:
    config = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if config.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        kubelet = Kubelet(config)
    except KubeconfigError as err:
        print(f"kubelet: {err}", file=sys.stderr)
        return 1
    try:
        await kubelet.run(stop)
    except RuntimeFailure as err:
        print(f"kubelet: Docker: {err}", file=sys.stderr)
        return 1
    except ServeError as err:
        print(f"kubelet: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(_main(argv))


if __name__ == "__main__":
    sys.exit(main())
