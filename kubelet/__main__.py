"""`python -m kubelet --kubeconfig F [--bootstrap-kubeconfig B] --node-name N [--root-dir D]
[--node-ip IP] [--port 10250] [--cpu C --memory M --max-pods P] [--pod-network minik]
[--sandbox-image IMG] [-v 4]` — see kubelet/config.py for every flag.

SIGTERM/SIGINT stop the kubelet's own loops in order; pods' containers keep running
(componentbase.run gives the signal, componentbase.logs the log format)."""

from __future__ import annotations

import sys
from pathlib import Path

from api.errors import ApiError
from client.errors import ConnectionFailed
from client.kubeconfig import KubeconfigError
from componentbase.logs import setup_logging
from componentbase.run import run, stop_on_signals
from kubelet.config import KubeletConfig, parse_args
from kubelet.kubelet import Kubelet
from kubelet.podcidr import NetworkMismatch
from kubelet.runtime import RuntimeFailure
from kubelet.server import ServeError


async def serve(config: KubeletConfig) -> int:
    stop = stop_on_signals()
    if config.bootstrap_kubeconfig and config.kubeconfig:
        # here: cryptography (~9 MiB resident) loads only in a kubelet that bootstraps
        from kubelet.certbootstrap import BootstrapError, load_client_cert

        try:
            await load_client_cert(
                Path(config.kubeconfig),
                Path(config.bootstrap_kubeconfig),
                config.cert_dir or config.root_dir / "pki",
                config.node_name,
            )
        except (BootstrapError, KubeconfigError, ApiError, ConnectionFailed) as err:
            print(f"kubelet: TLS bootstrap: {err}", file=sys.stderr)
            return 1
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
    except (ServeError, NetworkMismatch) as err:
        print(f"kubelet: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    setup_logging("kubelet", config.verbosity)
    return run(serve(config))


if __name__ == "__main__":
    sys.exit(main())
