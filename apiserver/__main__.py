"""`python -m apiserver --etcd-servers URL --port 6443 --token-auth-file tokens.csv`"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from apiserver.auth import TokenFileError
from apiserver.config import parse_args


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s apiserver %(levelname)s %(name)s: %(message)s",
    )
    from apiserver.app import create_app

    try:
        app = create_app(config)
    except TokenFileError as err:
        print(f"apiserver: {err}", file=sys.stderr)
        return 1
    cert, key = config.tls_cert_file, config.tls_private_key_file
    if bool(cert) != bool(key):
        print("apiserver: --tls-cert-file and --tls-private-key-file go together", file=sys.stderr)
        return 1
    if not cert and config.cert_dir:
        from apiserver.pki import ensure_serving_cert

        extra = () if config.bind_address in ("0.0.0.0", "::") else (config.bind_address,)
        files = ensure_serving_cert(Path(config.cert_dir), extra)
        cert, key = str(files.cert), str(files.key)
    uvicorn.run(
        app,
        host=config.bind_address,
        port=config.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        ssl_certfile=cert,
        ssl_keyfile=key,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
