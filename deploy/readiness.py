"""Is a component ready: its URL answers 200. Also a command, so the supervisor asks in
a short-lived child: http.client and ssl with OpenSSL's pages are ~7 MiB resident that a
process which only starts, waits and restarts would otherwise hold for the cluster's
life (#18's footprint).

Run: python -m deploy.readiness URL [--ca-file F] [--cert-file F --key-file F]
[--timeout S]: exits 0 once URL answers 200, 1 if it has not within S seconds."""

from __future__ import annotations

import argparse
import sys
import time

POLL_SECONDS = 0.1


def http_ok(
    url: str, ca_file: str | None = None, client_cert: tuple[str, str] | None = None
) -> bool:
    """Whether `url` answers 200 within a second; over https checked with `ca_file`
    (else the system's CAs), presenting `client_cert` (certificate, key) where the
    server asks for one (etcd). The standard library's http.client, not httpx: no
    HTTP(S)_PROXY of the environment comes between minik and its own loopback."""
    import http.client
    import ssl
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_file)
        if client_cert:
            context.load_cert_chain(*client_cert)
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=1.0, context=context
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=1.0)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", target)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):  # refused, timed out, TLS failed
        return False
    finally:
        connection.close()


def probe_argv(
    url: str,
    timeout: float,
    ca_file: str | None = None,
    client_cert: tuple[str, str] | None = None,
) -> list[str]:
    """The command that waits up to `timeout` seconds for `url` (see main)."""
    argv = [sys.executable, "-m", "deploy.readiness", url, "--timeout", f"{timeout:.1f}"]
    if ca_file:
        argv += ["--ca-file", ca_file]
    if client_cert:
        argv += ["--cert-file", client_cert[0], "--key-file", client_cert[1]]
    return argv


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.readiness")
    p.add_argument("url")
    p.add_argument("--ca-file")
    p.add_argument("--cert-file")
    p.add_argument("--key-file")
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args(argv)
    if bool(args.cert_file) != bool(args.key_file):
        p.error("--cert-file and --key-file go together")
    cert = (args.cert_file, args.key_file) if args.cert_file else None
    deadline = time.monotonic() + args.timeout
    while not http_ok(args.url, args.ca_file, cert):
        if time.monotonic() >= deadline:
            return 1
        time.sleep(POLL_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
