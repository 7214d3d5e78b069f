"""`python -m apiserver --etcd-servers URL --secure-port 6443 --token-auth-file tokens.csv`

Flags shared with every component and the log format come from componentbase; uvicorn
handles SIGTERM/SIGINT itself the same way (stop accepting, let requests finish for
up to 2 s)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from api.clusterdefaults import kubernetes_service_ip
from apiserver.auth import TokenFileError, load_token_file
from apiserver.config import parse_args
from apiserver.serviceaccount import jwt
from componentbase.logs import setup_logging
from componentbase.rawupgrade import UpgradingHttpProtocol
from componentbase.serving import IDLE_TIMEOUT_SECONDS, uvicorn_tls

ARGV_ENV = "MINIK_APISERVER_ARGV"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config = parse_args(argv)
    cert, key = config.tls_cert_file, config.tls_private_key_file
    if bool(cert) != bool(key):
        print("apiserver: --tls-cert-file and --tls-private-key-file go together", file=sys.stderr)
        return 1
    if config.token_auth_file:
        try:
            load_token_file(config.token_auth_file)
        except TokenFileError as err:
            print(f"apiserver: {err}", file=sys.stderr)
            return 1
    if config.admission_control_config_file:
        from api.podsecurity.configuration import ConfigurationError
        from apiserver.admission.podsecurity import config as podsecurity_config

        try:
            podsecurity_config.load(config.admission_control_config_file)
        except ConfigurationError as err:
            print(f"apiserver: {err}", file=sys.stderr)
            return 1
    if config.encryption_provider_config:
        from apiserver import encryption

        try:
            encryption.load(config.encryption_provider_config)
        except encryption.ConfigError as err:
            print(f"apiserver: --encryption-provider-config {err}", file=sys.stderr)
            return 1
    try:
        if config.service_account_signing_key_file:
            jwt.load_private_key(config.service_account_signing_key_file)
        for path in config.service_account_key_files:
            jwt.load_public_keys(path)
    except jwt.KeyError_ as err:
        print(f"apiserver: {err}", file=sys.stderr)
        return 1
    if config.client_ca_file and not Path(config.client_ca_file).is_file():
        print(f"apiserver: --client-ca-file {config.client_ca_file}: no such file", file=sys.stderr)
        return 1
    for flag, named in (
        ("--etcd-cafile", config.etcd_cafile),
        ("--etcd-certfile", config.etcd_certfile),
        ("--etcd-keyfile", config.etcd_keyfile),
        ("--kubelet-client-certificate", config.kubelet_client_certificate),
        ("--kubelet-client-key", config.kubelet_client_key),
        ("--kubelet-certificate-authority", config.kubelet_certificate_authority),
    ):
        if named and not Path(named).is_file():
            print(f"apiserver: {flag} {named}: no such file", file=sys.stderr)
            return 1
    if not cert and config.cert_dir:
        from componentbase.pki import ensure_serving_cert

        extra: tuple[str, ...] = (kubernetes_service_ip(config.service_cluster_ip_range),)
        if config.bind_address not in ("0.0.0.0", "::"):
            extra += (config.bind_address,)
        files = ensure_serving_cert(Path(config.cert_dir), extra)
        cert, key = str(files.cert), str(files.key)
    # Workers are separate processes: each builds its app from the same flags.
    os.environ[ARGV_ENV] = json.dumps(argv)
    import uvicorn  # after api/: its __init__ keeps uvicorn's watchfiles out

    options: dict[str, Any] = dict(
        host=config.bind_address,
        port=config.port,
        log_level="warning",
        access_log=False,
        # the caller is the peer, as kube-apiserver takes it: no X-Forwarded-For
        # rewriting (and no middleware layer per request for it)
        proxy_headers=False,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=IDLE_TIMEOUT_SECONDS,
        # Client certificates are requested, not required: tokens and anonymous
        # requests still work; a presented certificate must chain to --client-ca-file.
        # TLS 1.2+, AEAD suites only (--tls-min-version, --tls-cipher-suites).
        **(
            uvicorn_tls(cert, key, client_ca_file=config.client_ca_file, policy=config.tls_policy)
            if cert and key
            else {}
        ),
        http=UpgradingHttpProtocol,  # also SPDY/3.1 upgrades (kubectl exec, port-forward)
    )
    if config.workers > 1:  # uvicorn's supervisor starts each worker's (stock) server
        uvicorn.run(
            "apiserver.__main__:app_from_environment",
            factory=True,
            workers=config.workers,
            **options,
        )
        return 0
    from componentbase.httpserve import QuietServer

    server = QuietServer(uvicorn.Config(app_from_environment(), **options))
    server.run()
    return 0 if server.started else 1  # as uvicorn.run: a failed startup exits non-zero


def app_from_environment() -> ASGIApp:
    """The app for the flags in $MINIK_APISERVER_ARGV (set by main, read by workers)."""
    config = parse_args(json.loads(os.environ[ARGV_ENV]))
    setup_logging("apiserver", config.verbosity)
    from apiserver.app import create_app

    return create_app(config)


if __name__ == "__main__":
    sys.exit(main())
