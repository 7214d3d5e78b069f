"""minikctl: minik's kubectl. Parses the command line, dispatches to one module per
command family, and turns every failure into one `error: ...` line and exit code 1."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from api.errors import ApiError, Unauthorized
from client.errors import ConnectionFailed
from client.kubeconfig import KubeconfigError
from client.threeway import PatchError
from minikctl import (
    apiresources,
    apply,
    cordon,
    create,
    delete,
    describe,
    drain,
    events,
    get,
    logs,
    portforward,
    rollout,
    scale,
    service,
    setcmd,
    version,
)
from minikctl.context import CLIError, Context, RawError, add_global_flags
from minikctl.invalid import describe_invalid

COMMANDS = (
    apply,
    get,
    describe,
    delete,
    create,
    events,
    logs,
    scale,
    rollout,
    setcmd,
    cordon,
    drain,
    service,
    portforward,
    apiresources,
    version,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minikctl", description="minikctl controls a minik (Kubernetes) cluster."
    )
    add_global_flags(parser, suppress=False)
    shared = argparse.ArgumentParser(add_help=False)
    add_global_flags(shared, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub, [shared])
    return parser


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C ends a watch or a port-forward even when minikctl was started with SIGINT
    # ignored (a background job of a non-interactive shell: Python then installs no
    # handler of its own), as kubectl's signal.Notify does.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 1
    ctx = Context(args)
    try:
        return int(args.func(ctx, args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # the one place a failure becomes a message
        if os.environ.get("MINIKCTL_DEBUG"):
            raise
        sys.stdout.flush()
        sys.stderr.write(describe_error(err) + "\n")
        return 1


def describe_error(err: Exception) -> str:
    """One line, the way kubectl words it."""
    if isinstance(err, Unauthorized):
        return "error: You must be logged in to the server (Unauthorized)"
    if isinstance(err, ConnectionFailed):
        return f"error: {err.message}"
    if isinstance(err, ApiError):
        if err.code == 422:
            return describe_invalid(err)
        return f"Error from server ({err.reason}): {err.message}"  # 400s too, as kubectl
    if isinstance(err, RawError):
        return str(err)
    if isinstance(err, CLIError | KubeconfigError | PatchError):
        return f"error: {err}"
    return f"error: {type(err).__name__}: {err}"


if __name__ == "__main__":
    sys.exit(main())
