"""`minikctl drain NODE`: cordon the node, then evict its pods (`POST pods/NAME/eviction`
with a policy/v1 Eviction) and wait until they are gone — kubectl's drain helper.

Which pods go is decided by kubectl's filters, in its order: mirror pods are skipped;
DaemonSet pods stop the drain unless --ignore-daemonsets (then they stay, with a
warning); running pods with emptyDir volumes need --delete-emptydir-data; running pods
no controller owns need --force. Unlike kubectl, a pod whose controller is a DaemonSet
is not looked up first.

Pods are evicted as kubectl does, each by its own worker: a PodDisruptionBudget that
allows no disruption answers 429, and the worker prints kubectl's "will retry after
5s" line and tries again (printing `evicting pod` again) until the budget allows it or
--timeout ends the drain.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError, NotFound, is_namespace_terminating
from api.resources import by_kind
from api.timefmt import format_duration, parse_time
from client.rest import ALL_NAMESPACES
from minikctl.context import CLIError, Context, RawError
from minikctl.cordon import node_refs, set_unschedulable
from minikctl.duration import duration_arg
from minikctl.target import Ref

Obj = dict[str, Any]
PODS = by_kind("Pod", "v1")
MIRROR = "kubernetes.io/config.mirror"
EVICT_RETRY = 5.0  # kubectl waits this long after a 429 (a disruption budget says no)

DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
UNMANAGED_FATAL = "Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"


class DrainFailed(Exception):
    """One node's drain failed, for these reasons (a Go aggregate error)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(aggregate(errors))
        self.errors = errors


@dataclass
class Verdict:
    delete: bool
    reason: str = "Okay"  # Okay | Skip | Warning | Error
    message: str = ""


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "drain",
        parents=parents,
        help="cordon a node and evict its pods",
        description="Cordon NODE, evict its pods and wait until they are gone.",
    )
    p.add_argument("nodes", nargs="*", metavar="NODE")
    p.add_argument("-l", "--selector", help="nodes matching this label selector")
    p.add_argument("--force", action="store_true", help="also pods no controller manages")
    p.add_argument("--ignore-daemonsets", action="store_true", help="leave DaemonSet pods")
    p.add_argument(
        "--delete-emptydir-data",
        "--delete-local-data",
        action="store_true",
        help="also pods with emptyDir volumes (their data is lost)",
    )
    p.add_argument(
        "--grace-period", type=int, default=-1, help="seconds each pod gets (-1: its own)"
    )
    p.add_argument(
        "--timeout", type=duration_arg, default=0.0, help="give up after this long (0: never)"
    )
    p.add_argument("--pod-selector", default="", help="only pods matching this label selector")
    p.add_argument(
        "--disable-eviction", action="store_true", help="DELETE pods instead of evicting them"
    )
    p.add_argument(
        "--skip-wait-for-delete-timeout",
        type=int,
        default=0,
        help="do not wait for pods deleted more than this many seconds ago",
    )
    p.set_defaults(func=run)


# ---- which pods ---------------------------------------------------------------------------


def _controller(pod: Obj) -> Obj | None:
    refs = (pod.get("metadata") or {}).get("ownerReferences") or []
    return next((r for r in refs if r.get("controller")), None)


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def classify(pod: Obj, args: argparse.Namespace, now: float | None = None) -> Verdict:
    """kubectl's filters in order; the first that keeps the pod decides, else the last."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    # deleted long ago: not waited for
    deleted = _deleted_at(pod)
    skip_after = args.skip_wait_for_delete_timeout
    if skip_after > 0 and deleted is not None and (now or time.time()) - deleted > skip_after:
        return Verdict(False, "Skip")
    controller = _controller(pod)
    if (
        controller
        and controller.get("kind") == "DaemonSet"
        and controller.get("apiVersion") == "apps/v1"
        and not _finished(pod)
    ):
        if not args.ignore_daemonsets:
            return Verdict(False, "Error", DAEMONSET_FATAL)
        return Verdict(False, "Warning", DAEMONSET_WARNING)
    if MIRROR in (meta.get("annotations") or {}):
        return Verdict(False, "Skip")
    local_storage = any("emptyDir" in v for v in spec.get("volumes") or [])
    if local_storage and not _finished(pod) and not args.delete_emptydir_data:
        return Verdict(False, "Error", LOCAL_STORAGE_FATAL)
    # (kubectl's "deleting Pods with local storage" warning is overwritten by the next
    # filter's verdict, so it never shows: neither does it here)
    if _finished(pod) or controller:
        return Verdict(True)
    if args.force:
        return Verdict(True, "Warning", UNMANAGED_WARNING)
    return Verdict(False, "Error", UNMANAGED_FATAL)


def _deleted_at(pod: Obj) -> float | None:
    return parse_time((pod.get("metadata") or {}).get("deletionTimestamp"))


def _ns_name(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def _grouped(pairs: list[tuple[str, Obj]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for message, pod in pairs:
        groups.setdefault(message, []).append(_ns_name(pod))
    return groups


def pods_for_deletion(
    ctx: Context, node: str, args: argparse.Namespace
) -> tuple[list[Obj], str, list[str]]:
    """(pods to evict, the warning line, errors) for one node."""
    assert PODS is not None
    listing = ctx.client.list(
        PODS,
        ALL_NAMESPACES,
        label_selector=args.pod_selector or None,
        field_selector=f"spec.nodeName={node}",
    )
    chosen: list[Obj] = []
    warnings: list[tuple[str, Obj]] = []
    errors: list[tuple[str, Obj]] = []
    for pod in listing.get("items") or []:
        verdict = classify(pod, args)
        if verdict.delete:
            chosen.append(pod)
        if verdict.reason == "Warning":
            warnings.append((verdict.message, pod))
        elif verdict.reason == "Error":
            errors.append((verdict.message or "unexpected error", pod))
    warning = "; ".join(f"{m}: {', '.join(p)}" for m, p in _grouped(warnings).items())
    failures = [f"cannot delete {m}: {', '.join(p)}" for m, p in _grouped(errors).items()]
    return chosen, warning, failures


# ---- evicting and waiting -----------------------------------------------------------------


class Progress:
    """Lines from several pods' workers, never interleaved within a line."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.lock = threading.Lock()

    def out(self, line: str) -> None:
        with self.lock:
            self.ctx.print(line)
            self.ctx.out.flush()

    def err(self, line: str) -> None:
        with self.lock:
            self.ctx.err.write(line + "\n")
            self.ctx.err.flush()


def _timed_out(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def evict_one(
    ctx: Context, pod: Obj, args: argparse.Namespace, deadline: float | None, progress: Progress
) -> str | None:
    """kubectl's eviction worker for one pod: POST the Eviction until it is accepted,
    printing `evicting pod` before each try and waiting EVICT_RETRY after a 429 (a
    disruption budget says no), then wait for the pod to go. The error, or None."""
    assert PODS is not None
    active = pod
    options: Obj = {} if args.grace_period < 0 else {"gracePeriodSeconds": args.grace_period}
    timeout = format_duration(args.timeout)
    while True:
        meta = active["metadata"]
        name, namespace = meta["name"], meta["namespace"]
        progress.out(f"evicting pod {namespace}/{name}")
        if _timed_out(deadline):
            return (
                f'error when evicting pods/"{name}" -n "{namespace}": '
                f"global timeout reached: {timeout}"
            )
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": namespace},
            "deleteOptions": options,
        }
        try:
            ctx.client.create(PODS, body, namespace, name=name, subresource="eviction")
            break
        except NotFound:
            return None
        except ApiError as err:
            terminating = err.code == 403 and is_namespace_terminating(err)
            if terminating and meta.get("deletionTimestamp"):
                break  # it goes with its namespace: just wait for it
            if err.code == 429:
                progress.err(
                    f'error when evicting pods/"{name}" -n "{namespace}" (will retry after '
                    f"{format_duration(EVICT_RETRY)}): {err.message}"
                )
            elif terminating:
                progress.err(
                    f'error when evicting pod "{name}" from terminating namespace "{namespace}" '
                    f"(will retry after {format_duration(EVICT_RETRY)}): {err.message}"
                )
            else:
                return f'error when evicting pods/"{name}" -n "{namespace}": {err.message}'
            time.sleep(EVICT_RETRY)
        with contextlib.suppress(ApiError):  # kubectl retries with the fresh pod
            active = ctx.client.get(PODS, name, namespace)
    failures = wait_gone(ctx, [pod], "evicted", args.timeout, deadline, progress)
    return failures[0] if failures else None


def delete(ctx: Context, pod: Obj, grace: int) -> None:
    assert PODS is not None
    meta = pod["metadata"]
    try:
        ctx.client.delete(
            PODS,
            meta["name"],
            meta["namespace"],
            grace_period_seconds=grace if grace >= 0 else None,
        )
    except NotFound:
        pass


def wait_gone(
    ctx: Context,
    pods: list[Obj],
    verb: str,
    timeout: float,
    deadline: float | None,
    progress: Progress,
) -> list[str]:
    """Poll until each pod is gone (or replaced: another uid), printing `pod/x <verb>`;
    the errors for those still there at the deadline."""
    assert PODS is not None
    pending = list(pods)
    delay = 0.1
    while pending:
        still = []
        for pod in pending:
            meta = pod["metadata"]
            try:
                live = ctx.client.get(PODS, meta["name"], meta["namespace"])
            except NotFound:
                live = None
            if live is None or (live.get("metadata") or {}).get("uid") != meta.get("uid"):
                progress.out(f"pod/{meta['name']} {verb}")
            else:
                still.append(pod)
        pending = still
        if not pending:
            return []
        if _timed_out(deadline):
            return [
                f'error when waiting for pod "{p["metadata"]["name"]}" in namespace '
                f'"{p["metadata"]["namespace"]}" to terminate: global timeout reached: '
                f"{format_duration(timeout)}"
                for p in pending
            ]
        assert deadline is None or deadline > time.monotonic()
        pause = delay if deadline is None else min(delay, deadline - time.monotonic())
        time.sleep(max(0.0, pause))
        delay = min(delay * 2, 1.0)
    return []


def evict_all(
    ctx: Context, pods: list[Obj], args: argparse.Namespace, deadline: float | None
) -> list[str]:
    """One worker per pod, as kubectl's goroutines: a pod a budget protects does not
    hold up the others. The errors, in the order the workers finished."""
    progress = Progress(ctx)
    errors: list[str] = []
    lock = threading.Lock()

    def work(pod: Obj) -> None:
        try:
            error = evict_one(ctx, pod, args, deadline, progress)
        except Exception as err:  # reported like kubectl's worker errors
            error = err.message if isinstance(err, ApiError) else str(err)
        if error is not None:
            with lock:
                errors.append(error)

    workers = [threading.Thread(target=work, args=(pod,), daemon=True) for pod in pods]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


def aggregate(errors: list[str]) -> str:
    """Go's utilerrors.NewAggregate(...).Error()."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def drain_node(ctx: Context, ref: Ref, args: argparse.Namespace) -> None:
    pods, warning, errors = pods_for_deletion(ctx, ref.name, args)
    if errors:
        raise DrainFailed(errors)
    if warning:
        ctx.err.write(f"Warning: {warning}\n")
        ctx.err.flush()
    deadline = time.monotonic() + args.timeout if args.timeout else None
    if args.disable_eviction:
        for pod in pods:
            delete(ctx, pod, args.grace_period)
        failures = wait_gone(ctx, pods, "deleted", args.timeout, deadline, Progress(ctx))
    else:
        failures = evict_all(ctx, pods, args, deadline) if pods else []
    if failures:
        message = aggregate(failures)
        pending, _, _ = pods_for_deletion(ctx, ref.name, args)
        if pending:
            ctx.err.write(
                f'There are pending pods in node "{ref.name}" when an error occurred: {message}\n'
            )
            for pod in pending:
                ctx.err.write(f"pod/{pod['metadata']['name']}\n")
        raise DrainFailed(failures)


def run(ctx: Context, args: argparse.Namespace) -> int:
    nodes = node_refs(ctx, args.nodes, args.selector, "drain NODE")
    for ref in nodes:
        ctx.print(f"node/{ref.name} {set_unschedulable(ctx, ref, True)}")
        ctx.out.flush()
    fatal: list[list[str]] = []
    remaining: list[str] = []
    for ref in nodes:
        try:
            drain_node(ctx, ref, args)
        except (DrainFailed, CLIError, ApiError) as err:
            errors = _errors_of(err)
            ctx.out.flush()
            ctx.err.write(
                f'error: unable to drain node "{ref.name}" due to error: {aggregate(errors)}, '
                "continuing command...\n"
            )
            fatal.append(errors)
            remaining.append(ref.name)
            continue
        ctx.print(f"node/{ref.name} drained")
    if remaining:
        ctx.err.write("There are pending nodes to be drained:\n")
        for name in remaining:
            ctx.err.write(f" {name}\n")
        # kubectl unwraps an aggregate of one, then prints an aggregate's errors one per
        # line, without the `error: ` prefix
        lines = fatal[0] if len(fatal) == 1 else [aggregate(f) for f in fatal]
        raise RawError("\n".join(lines))
    return 0


def _errors_of(err: Exception) -> list[str]:
    if isinstance(err, DrainFailed):
        return err.errors
    return [err.message if isinstance(err, ApiError) else str(err)]
