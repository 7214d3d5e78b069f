"""pods/{name}/eviction (Kubernetes' EvictionREST): delete a pod unless a
PodDisruptionBudget forbids it.

A pod that is not running yet, has finished, or is already being deleted goes at once.
Otherwise the one budget covering it decides: none → delete; more than one → a 500
Status; a budget allowing no disruption → 429 TooManyRequests, which kubectl drain
retries. When it allows one, disruptionsAllowed is decremented and the pod recorded
in disruptedPods in one status write guarded by the budget's resourceVersion (so two
evictions racing for the last allowed disruption cannot both win), then the pod is
deleted (after its status gets the DisruptionTarget condition, as Kubernetes ≥1.31
does). An unready pod may go without spending the budget when the budget is healthy
anyway (unhealthyPodEvictionPolicy IfHealthyBudget, the default) or always
(AlwaysAllow); its delete then carries the pod's resourceVersion as a precondition,
so a pod that became ready meanwhile is not deleted (429, retry)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from api import disruption, errors
from api.resources import PODDISRUPTIONBUDGETS
from api.timefmt import rfc3339
from apiserver.admission import noderestriction
from apiserver.auth import User
from apiserver.options import DeleteOptions, ListOptions, WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo
from apiserver.strategies import set_condition

Obj = dict[str, Any]
EVICTIONS_RETRY = 20  # Kubernetes' EvictionsRetry steps on conflicts
DISRUPTION_TARGET = "DisruptionTarget"  # the pod condition an eviction sets


async def evict(
    registry: Registry,
    info: RequestInfo,
    body: Any,
    params: dict[str, str],
    user: User | None = None,
) -> tuple[Obj, int]:
    """(Status body, HTTP code) of an eviction; errors are raised as ApiError. A
    kubelet (`user` a node) evicts only the pods bound to its node."""
    if not isinstance(body, dict):
        raise errors.bad_request("an Eviction object is required")
    if (body.get("metadata") or {}).get("name") != info.name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    raw_options = body.get("deleteOptions")
    options = DeleteOptions.parse(params, raw_options if isinstance(raw_options, dict) else {})
    pod_info = RequestInfo(info.resource, info.namespace, info.name, None)
    retry_conflicts = options.precondition_rv is None
    pod: Obj = {}
    for attempt in range(EVICTIONS_RETRY):
        pod = await registry.get(pod_info)  # 404 for a pod that is gone
        if user is not None:
            noderestriction.admit_eviction(user, info, pod)
        if not _can_ignore_budget(pod):
            break
        opts = options
        if _enforce_resource_version(pod) and options.precondition_rv is None:
            opts = dataclasses.replace(options, precondition_rv=pod["metadata"]["resourceVersion"])
        try:
            await _add_condition_and_delete(registry, pod_info, opts)
        except errors.Conflict:
            if retry_conflicts and attempt + 1 < EVICTIONS_RETRY:
                continue
            raise
        return _success(), 201
    else:
        raise errors.conflict("pods", info.name or "", "too many concurrent writes")

    budgets = await _budgets_for(registry, pod)
    if len(budgets) > 1:
        return _failure(disruption.MULTIPLE_BUDGETS, 500), 500
    check_rv = False
    name = ""
    if budgets:
        pdb = budgets[0]
        name = pdb["metadata"]["name"]
        if _may_skip_budget(pod, pdb):
            check_rv = True
        else:
            await _check_and_decrement(registry, pod, pdb, options.dry_run)
    opts = options
    if check_rv:
        opts = dataclasses.replace(options, precondition_rv=pod["metadata"]["resourceVersion"])
    try:
        await _add_condition_and_delete(registry, pod_info, opts)
    except errors.Conflict:
        if check_rv and options.precondition_rv is None:
            raise disruption.too_many_requests(
                f"The disruption budget {name} is still being processed by the server."
            ) from None
        raise
    return _success(), 201


async def _add_condition_and_delete(
    registry: Registry, pod_info: RequestInfo, options: DeleteOptions
) -> None:
    """addConditionAndDeletePod: the pod's status first gets the DisruptionTarget
    condition (Kubernetes ≥1.31: a Job's podFailurePolicy reads it), written against
    the latest pod, which must still meet the delete's preconditions; then the delete,
    whose resourceVersion precondition moves to the pod we just wrote."""
    if not options.dry_run:
        status_info = dataclasses.replace(pod_info, subresource="status")
        written: Obj | None = None
        for _attempt in range(EVICTIONS_RETRY):
            latest = await registry.get(pod_info)
            md = latest["metadata"]
            _check_preconditions(latest, options)
            updated = copy.deepcopy(latest)
            set_condition(
                updated.setdefault("status", {}),
                {
                    "type": DISRUPTION_TARGET,
                    "status": "True",
                    "lastProbeTime": None,
                    "reason": "EvictionByEvictionAPI",
                    "message": "Eviction API: evicting",
                },
            )
            try:
                written = await registry.write_update(
                    status_info, updated, latest, int(md["resourceVersion"]), WriteOptions()
                )
                break
            except errors.Conflict:
                continue
        if written is None:
            raise errors.conflict("pods", pod_info.name or "", "too many concurrent writes")
        if options.precondition_rv is not None:
            options = dataclasses.replace(
                options, precondition_rv=written["metadata"]["resourceVersion"]
            )
    await registry.delete(pod_info, options)


def _check_preconditions(pod: Obj, options: DeleteOptions) -> None:
    md = pod["metadata"]
    if options.precondition_uid and options.precondition_uid != md.get("uid"):
        why = (
            f"the UID in the precondition ({options.precondition_uid}) does not match the UID "
            f"in record ({md.get('uid')}). The object might have been deleted and then recreated"
        )
        raise errors.conflict("Pod", md.get("name") or "", why)
    if options.precondition_rv and options.precondition_rv != md.get("resourceVersion"):
        why = (
            f"the ResourceVersion in the precondition ({options.precondition_rv}) does not "
            f"match the ResourceVersion in record ({md.get('resourceVersion')}). The object "
            "might have been modified"
        )
        raise errors.conflict("Pod", md.get("name") or "", why)


def _can_ignore_budget(pod: Obj) -> bool:
    """canIgnorePDB: the pod is not running yet, has finished, or is going anyway."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(
        pod["metadata"].get("deletionTimestamp")
    )


def _enforce_resource_version(pod: Obj) -> bool:
    """shouldEnforceResourceVersion: a Pending pod could start meanwhile."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def _may_skip_budget(pod: Obj, pdb: Obj) -> bool:
    """An unready pod does not count as healthy: evicting it costs no disruption when
    the policy is AlwaysAllow, or (IfHealthyBudget) while the budget is met anyway."""
    if disruption.is_pod_ready(pod):
        return False
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    if spec.get("unhealthyPodEvictionPolicy") == disruption.ALWAYS_ALLOW:
        return True
    desired = int(status.get("desiredHealthy") or 0)
    return int(status.get("currentHealthy") or 0) >= desired and desired > 0


async def _budgets_for(registry: Registry, pod: Obj) -> list[Obj]:
    """The budgets in the pod's namespace whose (non-empty, valid) selector matches it."""
    namespace = pod["metadata"].get("namespace")
    listed = await registry.list(
        RequestInfo(PODDISRUPTIONBUDGETS, namespace, None, None), ListOptions()
    )
    labels = pod["metadata"].get("labels") or {}
    found = []
    for pdb in listed["items"]:
        try:
            selector = disruption.budget_selector(pdb)
        except errors.ApiError:
            continue
        if selector.nothing or selector.empty or not selector.matches(labels):
            continue
        found.append(pdb)
    return found


async def _check_and_decrement(registry: Registry, pod: Obj, pdb: Obj, dry_run: bool) -> None:
    """Spend one disruption of the budget (retrying on conflicting writes with a fresh
    read); 429 when it has none to spend."""
    name = pdb["metadata"]["name"]
    status_info = RequestInfo(
        PODDISRUPTIONBUDGETS, pdb["metadata"].get("namespace"), name, "status"
    )
    for attempt in range(EVICTIONS_RETRY):
        if attempt:
            pdb = await registry.get(status_info)
        updated = _decremented(pod, pdb, dry_run)
        if updated is None:
            return
        try:
            await registry.write_update(
                status_info,
                updated,
                pdb,
                int(pdb["metadata"]["resourceVersion"]),
                WriteOptions(),
            )
            return
        except errors.Conflict:
            continue
    raise errors.ApiError(
        504,
        f'couldn\'t update PodDisruptionBudget "{name}" due to conflicts',
        "Timeout",
        {"retryAfterSeconds": 10},
    )


def _decremented(pod: Obj, pdb: Obj, dry_run: bool) -> Obj | None:
    """checkAndDecrement: the budget with one disruption spent (None on a dry run);
    raises the 429 or 403 when it cannot be spent."""
    md, status = pdb["metadata"], pdb.get("status") or {}
    name = md["name"]
    if int(status.get("observedGeneration") or 0) < int(md.get("generation") or 0):
        raise disruption.too_many_requests(
            f"The disruption budget {name} is still being processed by the server."
        )
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise _forbidden(name, "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > disruption.MAX_DISRUPTED_POD_SIZE:
        raise _forbidden(
            name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller"
        )
    if allowed == 0:
        raise disruption.too_many_requests(
            f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} "
            f"healthy pods and has {int(status.get('currentHealthy') or 0)} currently"
        )
    if dry_run:
        return None
    updated = copy.deepcopy(pdb)
    new_status = updated.setdefault("status", {})
    new_status["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        disruption.update_disruption_allowed_condition(new_status)
    pods = new_status.get("disruptedPods")
    if not isinstance(pods, dict):
        pods = new_status["disruptedPods"] = {}
    pods[pod["metadata"]["name"]] = rfc3339()
    return updated


def _forbidden(name: str, reason: str) -> errors.ApiError:
    return errors.ApiError(
        403,
        f'poddisruptionbudgets.policy "{name}" is forbidden: {reason}',
        "Forbidden",
        {"name": name, "group": "policy", "kind": "poddisruptionbudgets"},
    )


def _success() -> Obj:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def _failure(message: str, code: int) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "code": code,
    }
