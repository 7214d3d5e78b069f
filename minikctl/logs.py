"""`minikctl logs`: a container's log from `GET …/pods/NAME/log` (text/plain, streamed
with -f), as kubectl's logs command asks for it.

The target is a pod, or anything with a pod selector (deploy/NAME, rs/NAME, svc/NAME):
then kubectl's choice of "the best pod to log" (assigned, running, ready, longest ready,
most restarts, oldest), waiting up to --pod-running-timeout for one to appear. Which
container: -c, the `kubectl.kubernetes.io/default-container` annotation, else the first
(saying so when there are others); --all-containers takes every one in turn (in
parallel, line by line, when following).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from api.errors import ApiError, Unauthorized
from api.resources import by_kind
from client.errors import ConnectionFailed
from client.watch import RELIST, ResumableWatch
from minikctl.context import CLIError, Context
from minikctl.duration import duration_arg
from minikctl.podpick import by_logging_key, go_type, pod_selector
from minikctl.target import Ref, one_ref
from minikctl.waiting import WaitTimeout, until_deadline

Obj = dict[str, Any]
PODS = by_kind("Pod", "v1")
DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
SELECTOR_TAIL = 10  # kubectl's --tail default when pods are picked by -l


@dataclass(frozen=True)
class LogRequest:
    """One container's log: the path and query kubectl's PodLogOptions become."""

    namespace: str
    pod: str
    container: str
    params: dict[str, Any]

    @property
    def path(self) -> str:
        assert PODS is not None
        return PODS.path(self.pod, self.namespace) + "/log"

    @property
    def prefix(self) -> str:
        return f"[pod/{self.pod}/{self.container}] "


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "logs",
        parents=parents,
        help="print the logs of a container",
        description="logs [-f] [-c CONTAINER] (POD | TYPE/NAME) [CONTAINER]",
    )
    p.add_argument("target", nargs="?", metavar="POD | TYPE/NAME")
    p.add_argument("container_arg", nargs="?", metavar="CONTAINER")
    p.add_argument("-c", "--container", default="", help="the container to print")
    p.add_argument("-f", "--follow", action="store_true", help="stream the log")
    p.add_argument("-p", "--previous", action="store_true", help="the previous instance's log")
    p.add_argument("--timestamps", action="store_true", help="prefix lines with their time")
    p.add_argument("--tail", type=int, default=None, help="only the last N lines (-1: all)")
    p.add_argument("--since", type=duration_arg, default=0.0, help="only newer than 5s, 2m…")
    p.add_argument("--since-time", default="", help="only after this RFC3339 time")
    p.add_argument("--limit-bytes", type=int, default=0, help="at most this many bytes")
    p.add_argument("--all-containers", action="store_true", help="every container of the pod")
    p.add_argument("--prefix", action="store_true", help="prefix lines with pod and container")
    p.add_argument("-l", "--selector", help="pods matching this label selector")
    p.add_argument("--max-log-requests", type=int, default=5, help="streams followed at once")
    p.add_argument(
        "--pod-running-timeout",
        type=duration_arg,
        default=20.0,
        help="how long to wait for a pod to log (e.g. 20s)",
    )
    p.set_defaults(func=run)


def query(args: argparse.Namespace, container: str) -> dict[str, Any]:
    """PodLogOptions as query parameters: only the ones set (Go's omitempty)."""
    tail = args.tail
    if tail is None and args.selector:
        tail = SELECTOR_TAIL
    params: dict[str, Any] = {"container": container or None}
    if args.follow:
        params["follow"] = "true"
    if args.previous:
        params["previous"] = "true"
    if args.timestamps:
        params["timestamps"] = "true"
    if args.since:
        params["sinceSeconds"] = max(1, round(args.since))
    if args.since_time:
        params["sinceTime"] = args.since_time
    if tail is not None and tail != -1:
        params["tailLines"] = tail
    if args.limit_bytes:
        params["limitBytes"] = args.limit_bytes
    return {k: v for k, v in params.items() if v is not None}


def validate(args: argparse.Namespace) -> None:
    if not args.target and not args.selector:
        raise CLIError(
            "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
            "POD or TYPE/NAME is a required argument for the logs command"
        )
    if args.target and args.selector:
        raise CLIError("only a selector (-l) or a POD name is allowed")
    if args.container_arg and args.container:
        raise CLIError("only one of -c or an inline [CONTAINER] arg is allowed")
    if args.since and args.since_time:
        raise CLIError("at most one of `sinceTime` or `sinceSeconds` may be specified")
    container = args.container or args.container_arg
    if args.all_containers and container:
        raise CLIError(
            f"--all-containers=true should not be specified with container name {container}"
        )
    if args.limit_bytes < 0:
        raise CLIError("--limit-bytes must be greater than 0")
    if args.tail is not None and args.tail < -1:
        raise CLIError("--tail must be greater than or equal to -1")


def run(ctx: Context, args: argparse.Namespace) -> int:
    validate(args)
    container = args.container or args.container_arg or ""
    pods = target_pods(ctx, args)
    if not pods:
        return 0
    requests: list[LogRequest] = []
    for pod in pods:
        requests += pod_requests(pod, container, args, ctx.err, quiet=len(pods) > 1)
    prefix = args.prefix
    if args.follow and len(requests) > 1:
        if len(requests) > args.max_log_requests:
            raise CLIError(
                f"you are attempting to follow {len(requests)} log streams, but maximum "
                f"allowed concurrency is {args.max_log_requests}, use --max-log-requests to "
                "increase the limit"
            )
        follow_all(ctx, requests, prefix, args.pod_running_timeout)
        return 0
    for req in requests:
        consume(ctx, req, prefix, args.follow, args.pod_running_timeout, ctx.out)
    return 0


# ---- which pods ---------------------------------------------------------------------------


def target_pods(ctx: Context, args: argparse.Namespace) -> list[Obj]:
    assert PODS is not None
    if args.selector:
        listing = ctx.client.list(PODS, ctx.namespace, label_selector=args.selector)
        pods = listing.get("items") or []
        if not pods:
            ctx.err.write(f"No resources found in {ctx.namespace} namespace.\n")
        return sorted(pods, key=by_logging_key)
    ref = one_ref(ctx, args.target, default_type="pods")
    obj = ref.get(ctx)
    if ref.res.kind == "Pod":
        return [obj]
    return [first_pod(ctx, ref, obj, args.pod_running_timeout)]


def first_pod(ctx: Context, ref: Ref, obj: Obj, timeout: float) -> Obj:
    """The best pod to log, waiting (list, then watch) for one to exist."""
    assert PODS is not None
    try:
        selector = pod_selector(ref, obj)
    except CLIError as err:
        raise CLIError(f"cannot get the logs from {go_type(ref)}: {err}") from None
    stream = ResumableWatch(ctx.client, PODS, ref.namespace, label_selector=selector)
    for event_type, event_obj in until_deadline(stream, timeout):
        if event_type == RELIST:
            pods = sorted(event_obj.get("items") or [], key=by_logging_key)
            if len(pods) > 1:
                ctx.err.write(f"Found {len(pods)} pods, using pod/{pods[0]['metadata']['name']}\n")
            if pods:
                return pods[0]
        elif event_type in ("ADDED", "MODIFIED"):
            return event_obj
    raise WaitTimeout()


# ---- which containers ---------------------------------------------------------------------


def all_container_names(pod: Obj) -> str:
    spec = pod.get("spec") or {}
    names = [f"{c['name']} (init)" for c in spec.get("initContainers") or []]
    names += [c["name"] for c in spec.get("containers") or []]
    names += [f"{c['name']} (ephem)" for c in spec.get("ephemeralContainers") or []]
    return ", ".join(names)


def pod_requests(
    pod: Obj, container: str, args: argparse.Namespace, err: TextIO, quiet: bool = False
) -> list[LogRequest]:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    name, ns = meta.get("name", ""), meta.get("namespace", "")
    every = [
        c["name"]
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]
    if args.all_containers:
        return [LogRequest(ns, name, c, query(args, c)) for c in every]
    if not container:
        default = (meta.get("annotations") or {}).get(DEFAULT_CONTAINER)
        if default and default in every:
            container = default
        else:
            if default:
                err.write(f'Default container name "{default}" not found in pod {name}\n')
            containers = spec.get("containers") or [{}]
            container = containers[0].get("name", "")
            others = len(every) > 1
            if others and not quiet:
                err.write(f'Defaulted container "{container}" out of: {all_container_names(pod)}\n')
    if container not in every:
        raise CLIError(f"container {container} is not valid for pod {name}")
    return [LogRequest(ns, name, container, query(args, container))]


# ---- reading ------------------------------------------------------------------------------


def lines(ctx: Context, req: LogRequest) -> Iterator[str]:
    return ctx.client.stream_text(req.path, req.params)


def consume(
    ctx: Context, req: LogRequest, prefix: bool, follow: bool, timeout: float, out: TextIO
) -> None:
    """Copy one log to `out`; when following, a server error is printed and retried each
    second for up to `timeout` (the pod may still be starting), as kubectl does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            for line in lines(ctx, req):
                out.write(req.prefix + line if prefix else line)
                if follow:
                    out.flush()
            out.flush()
            return
        except ApiError as err:
            if not follow or isinstance(err, ConnectionFailed | Unauthorized):
                raise
            ctx.err.write(err.message + "\n")
            ctx.err.flush()
            if time.monotonic() + 1 > deadline:
                raise WaitTimeout() from None
            time.sleep(1)


class _LockedWriter:
    """Whole lines from several threads, never interleaved mid-line."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lock = threading.Lock()

    def write(self, text: str) -> None:
        with self.lock:
            self.out.write(text)
            self.out.flush()

    def flush(self) -> None:
        with self.lock:
            self.out.flush()


def follow_all(ctx: Context, requests: list[LogRequest], prefix: bool, timeout: float) -> None:
    """Follow several logs at once; the first failure ends the command."""
    out = _LockedWriter(ctx.out)
    failures: list[BaseException] = []

    def one(req: LogRequest) -> None:
        try:
            consume(ctx, req, prefix, True, timeout, out)  # type: ignore[arg-type]
        except BaseException as err:  # reported by the command's thread
            failures.append(err)

    threads = [threading.Thread(target=one, args=(r,), daemon=True) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
            if failures:
                raise failures[0]
    if failures:
        raise failures[0]
