"""What every command needs: the client, the namespace, and a way to fail cleanly."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TextIO

from api.resources import Resource
from client.kubeconfig import KubeConfig, KubeconfigError, default_path, load
from client.rest import Client

USER_AGENT = "minikctl/0.1.0"


class CLIError(Exception):
    """A user-facing failure: printed as `error: <message>`, exit code 1."""


class RawError(CLIError):
    """A failure whose lines are printed as they are, exit code 1: kubectl prints the
    errors of an aggregate one per line, without the `error: ` prefix."""


def add_global_flags(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Flags accepted before or after the command (`-n x get pods`, `get pods -n x`)."""
    default = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("global options")
    g.add_argument("--kubeconfig", default=default, help="path to the kubeconfig file")
    g.add_argument("--context", default=default, help="the kubeconfig context to use")
    g.add_argument("-n", "--namespace", default=default, help="namespace for this request")
    g.add_argument("-s", "--server", default=default, help="API server URL (overrides)")
    g.add_argument("--token", default=default, help="bearer token (overrides)")
    g.add_argument("--certificate-authority", default=default, help="CA file for the server")
    g.add_argument(
        "--insecure-skip-tls-verify",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="do not check the server's certificate (insecure)",
    )
    g.add_argument(
        "--request-timeout",
        type=float,
        default=argparse.SUPPRESS if suppress else 30.0,
        help="seconds to wait for one request",
    )


class Context:
    """Lazily built client and namespace for one minikctl invocation."""

    def __init__(
        self, args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.args = args
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.discovery: list[Resource] | None = None  # filled by minikctl.resolve

    @cached_property
    def config(self) -> KubeConfig:
        """The kubeconfig's context with the command line's overrides applied."""
        a = self.args
        try:
            config = load(a.kubeconfig, a.context)
        except KubeconfigError:
            if not (a.server and not (a.kubeconfig or a.context)):
                if not a.kubeconfig and not Path(default_path()).exists():
                    raise CLIError(
                        f"no kubeconfig at {default_path()}: pass --kubeconfig, set "
                        "KUBECONFIG, or give --server (and --token)"
                    ) from None
                raise
            config = KubeConfig(server=a.server, token=a.token)
        if a.certificate_authority:
            config = replace(
                config,
                certificate_authority=a.certificate_authority,
                certificate_authority_data=None,
            )
        if a.insecure_skip_tls_verify:
            config = replace(config, insecure_skip_tls_verify=True)
        return config

    @cached_property
    def client(self) -> Client:
        a = self.args
        return Client(
            self.config,
            server=a.server,
            token=a.token,
            namespace=a.namespace,
            timeout=a.request_timeout,
            user_agent=USER_AGENT,
            on_warning=self.warn,
        )

    @property
    def namespace(self) -> str:
        return self.args.namespace or self.config.namespace or "default"

    @property
    def explicit_namespace(self) -> str | None:
        return self.args.namespace

    def warn(self, text: str) -> None:
        self.err.write(f"Warning: {text}\n")

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")


def kind_ref(res: Resource) -> str:
    """`deployment.apps`, `pod`: how kubectl names a kind in its messages."""
    kind = res.kind.lower()
    return f"{kind}.{res.group}" if res.group else kind
