"""The horizontal pod autoscaler controller, as Kubernetes' (horizontal.go).

Every `--horizontal-pod-autoscaler-sync-period` each HPA is reconciled: the target's
`/scale` subresource (any kind that has one) gives the current replicas and the pod
selector; the pods come from the shared informer, their usage from the resource
metrics API (`metrics.k8s.io/v1beta1` PodMetrics, through the apiserver); each metric
proposes a count (replicas.py), the highest wins, and normalize.py applies the
stabilization windows, the scaling policies and the bounds. A new count is written to
`/scale`, with a SuccessfulRescale Event; the status (current/desired replicas,
current metrics, AbleToScale/ScalingActive/ScalingLimited) is written every sync.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import Any

from api.autoscaling import ABLE_TO_SCALE, SCALING_ACTIVE, SCALING_LIMITED
from api.errors import ApiError, NotFound
from api.labels import parse_selector
from api.resources import HORIZONTALPODAUTOSCALERS, PODS, RESOURCES, Resource
from api.timefmt import parse_duration, parse_time, rfc3339
from client.discovery import find_resource
from client.informer import split_key
from controller.podautoscaler import normalize, replicas
from controller.util.base import Context, Controller

log = logging.getLogger(__name__)
Obj = dict[str, Any]
METRICS_PATH = "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods"


def scale_resource(ref: Obj) -> Resource | None:
    """The built-in resource of a scaleTargetRef that has a `scale` subresource."""
    api_version, kind = ref.get("apiVersion") or "", ref.get("kind") or ""
    for r in RESOURCES:
        matches = not api_version or r.api_version == api_version
        if r.kind == kind and "scale" in r.subresources and matches:
            return r
    return None


async def find_scale_resource(api: Any, ref: Obj) -> Resource | None:
    """The resource of a scaleTargetRef with a `scale` subresource: a built-in one, or a
    custom kind found by discovery (Kubernetes' RESTMapper and scale client)."""
    known = scale_resource(ref)
    if known is not None:
        return known
    api_version, kind = ref.get("apiVersion") or "", ref.get("kind") or ""
    if not api_version or not kind:
        return None
    found = await find_resource(api, api_version, kind)
    return found if found is not None and "scale" in found.subresources else None


def pod_samples(
    metrics_list: Obj, resource: str, container: str | None
) -> dict[str, replicas.PodSample]:
    """PodMetrics → each pod's summed usage of `resource` (milli-units)."""
    out: dict[str, replicas.PodSample] = {}
    for item in metrics_list.get("items") or []:
        total = 0
        for c in item.get("containers") or []:
            if container and c.get("name") != container:
                continue
            usage = (c.get("usage") or {}).get(resource)
            if usage is not None:
                total += replicas.milli(usage)
        window = item.get("window") or "0s"
        try:
            seconds = parse_duration(window)
        except ValueError:
            seconds = 0.0
        out[item["metadata"]["name"]] = replicas.PodSample(
            total, parse_time(item.get("timestamp")) or time.time(), seconds
        )
    return out


def _condition(status: Obj, kind: str, value: bool, reason: str, message: str) -> None:
    conditions = status.setdefault("conditions", [])
    text = "True" if value else "False"
    for cond in conditions:
        if cond.get("type") == kind:
            if cond.get("status") != text:
                cond["lastTransitionTime"] = rfc3339()
            cond.update(status=text, reason=reason, message=message)
            return
    conditions.append(
        {
            "type": kind,
            "status": text,
            "lastTransitionTime": rfc3339(),
            "reason": reason,
            "message": message,
        }
    )


class HorizontalPodAutoscalerController(Controller):
    name = "horizontalpodautoscaling"
    default_workers = 5

    def __init__(self, ctx: Context, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ctx)
        options = ctx.options
        self.sync_period = options.hpa_sync_period
        self.downscale_window = options.hpa_downscale_stabilization
        self.tolerance = options.hpa_tolerance
        self.clock = clock
        self.hpas = ctx.informers.informer(HORIZONTALPODAUTOSCALERS)
        self.hpas.add_handler(self.enqueue, self._updated, self._deleted)
        self.pods = ctx.informers.by_namespace(PODS)
        self.watched = [self.hpas, ctx.informers.informer(PODS)]
        self.history: dict[str, normalize.History] = {}

    def _updated(self, old: Obj, new: Obj) -> None:
        """A spec change is looked at now; our own status writes wait for the period."""
        if old.get("spec") != new.get("spec"):
            self.enqueue(new)

    def _deleted(self, hpa: Obj) -> None:
        md = hpa.get("metadata") or {}
        self.history.pop(f"{md.get('namespace')}/{md.get('name')}", None)

    async def reconcile(self, key: Any) -> None:
        _namespace, _name = split_key(key)
        hpa = self.hpas.get(key)
        if hpa is None:
            self.history.pop(key, None)
            return
        try:
            await self._sync(key, copy.deepcopy(hpa))
        finally:
            self.enqueue_after(key, self.sync_period)

    async def _sync(self, key: str, hpa: Obj) -> None:
        spec = hpa.get("spec") or {}
        namespace = hpa["metadata"]["namespace"]
        before = copy.deepcopy(hpa.get("status") or {})
        status: Obj = copy.deepcopy(before)
        ref = spec.get("scaleTargetRef") or {}
        try:
            res = await find_scale_resource(self.api, ref)
            if res is None:
                raise ApiError(
                    404,
                    f'no matches for kind "{ref.get("kind")}" in group "{ref.get("apiVersion")}"',
                )
            scale = await self.api.get(res, ref.get("name", ""), namespace, subresource="scale")
        except ApiError as err:
            message = f"the HPA controller was unable to get the target's current scale: {err}"
            _condition(status, ABLE_TO_SCALE, False, "FailedGetScale", message)
            await self.events.record(hpa, "Warning", "FailedGetScale", str(err))
            await self._write_status(hpa, before, status)
            return
        _condition(
            status,
            ABLE_TO_SCALE,
            True,
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
        )
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        min_replicas = int(spec.get("minReplicas") or 1)
        max_replicas = int(spec.get("maxReplicas") or 1)
        now = self.clock()
        rescale_reason = ""
        metric_statuses: list[Obj] | None = None
        if current == 0 and min_replicas != 0:
            desired = 0
            _condition(
                status,
                SCALING_ACTIVE,
                False,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            )
        elif current > max_replicas:
            desired, rescale_reason = (
                max_replicas,
                "Current number of replicas above Spec.MaxReplicas",
            )
        elif current < min_replicas:
            desired, rescale_reason = (
                min_replicas,
                "Current number of replicas below Spec.MinReplicas",
            )
        else:
            selector = ((scale.get("status") or {}).get("selector")) or ""
            proposal = await self._from_metrics(hpa, status, namespace, selector, current, now)
            if proposal is None:
                status["currentReplicas"] = current
                status.setdefault("desiredReplicas", current)
                await self._write_status(hpa, before, status)
                return
            metric_desired, metric_name, metric_statuses = proposal
            history = self.history.setdefault(key, normalize.History())
            behavior = spec.get("behavior")
            if behavior is None:
                outcome = normalize.normalize(
                    history,
                    current,
                    metric_desired,
                    min_replicas,
                    max_replicas,
                    self.downscale_window,
                    now,
                )
            else:
                outcome = normalize.normalize_with_behavior(
                    history,
                    current,
                    metric_desired,
                    min_replicas,
                    max_replicas,
                    behavior,
                    self.downscale_window,
                    now,
                )
            _condition(status, ABLE_TO_SCALE, True, outcome.able_reason, outcome.able_message)
            _condition(
                status,
                SCALING_LIMITED,
                outcome.limited,
                outcome.limited_reason,
                outcome.limited_message,
            )
            desired = outcome.replicas
            if desired > current:
                rescale_reason = f"{metric_name} above target"
            elif desired < current:
                rescale_reason = "All metrics below target"
        if desired != current and rescale_reason:
            scale["spec"] = {**(scale.get("spec") or {}), "replicas": desired}
            try:
                await self.api.update(res, scale, subresource="scale")
            except ApiError as err:
                _condition(
                    status,
                    ABLE_TO_SCALE,
                    False,
                    "FailedUpdateScale",
                    f"the HPA controller was unable to update the target scale: {err}",
                )
                await self.events.record(
                    hpa,
                    "Warning",
                    "FailedRescale",
                    f"New size: {desired}; reason: {rescale_reason}; error: {err}",
                )
                await self._write_status(hpa, before, status)
                raise
            _condition(
                status,
                ABLE_TO_SCALE,
                True,
                "SucceededRescale",
                f"the HPA controller was able to update the target scale to {desired}",
            )
            await self.events.record(
                hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {rescale_reason}"
            )
            normalize.record_scale(
                self.history.setdefault(key, normalize.History()),
                current,
                desired,
                spec.get("behavior"),
                now,
            )
            status["lastScaleTime"] = rfc3339(now)
            log.info(
                "%s: scaled %s/%s from %d to %d (%s)",
                key,
                ref.get("kind"),
                ref.get("name"),
                current,
                desired,
                rescale_reason,
            )
        status["currentReplicas"] = current
        status["desiredReplicas"] = desired
        if metric_statuses is not None:
            status["currentMetrics"] = metric_statuses
        generation = hpa["metadata"].get("generation")
        if generation is not None:
            status["observedGeneration"] = generation
        await self._write_status(hpa, before, status)

    async def _from_metrics(
        self, hpa: Obj, status: Obj, namespace: str, selector: str, current: int, now: float
    ) -> tuple[int, str, list[Obj]] | None:
        """The highest proposal of the HPA's metrics, its metric's name, and the
        current values; None (conditions and events written) when none can be computed."""
        spec = hpa.get("spec") or {}
        metrics = spec.get("metrics") or []
        pods = self._pods(namespace, selector)
        best: tuple[int, str] | None = None
        statuses: list[Obj] = []
        errors: list[tuple[str, str]] = []
        for metric in metrics:
            kind = metric.get("type")
            if kind not in ("Resource", "ContainerResource"):
                errors.append(("FailedGetMetric", f"metric type {kind} is not supported by minik"))
                statuses.append({"type": ""})
                continue
            key = "resource" if kind == "Resource" else "containerResource"
            source = metric.get(key) or {}
            resource = source.get("name", "")
            container = source.get("container") if kind == "ContainerResource" else None
            target = source.get("target") or {}
            utilization = (
                target.get("averageUtilization") if target.get("type") == "Utilization" else None
            )
            average = (
                replicas.milli(target["averageValue"])
                if target.get("averageValue") is not None and utilization is None
                else None
            )
            try:
                listed = await self.api.get_path(
                    METRICS_PATH.format(namespace=namespace), {"labelSelector": selector}
                )
                samples = pod_samples(listed, resource, container)
                proposal = replicas.resource_replicas(
                    current,
                    {"utilization": utilization, "average": average},
                    samples,
                    pods,
                    resource,
                    self.tolerance,
                    now,
                    container,
                )
            except (ApiError, replicas.MetricsError) as err:
                what = "utilization" if utilization is not None else "usage"
                errors.append(
                    (
                        "FailedGetResourceMetric",
                        f"failed to get {resource} {what}: {err}",
                    )
                )
                statuses.append({"type": ""})
                continue
            current_value: Obj = {"averageValue": _milli_text(proposal.average_milli, resource)}
            if utilization is not None:
                current_value["averageUtilization"] = proposal.utilization
                name = f"{resource} resource utilization (percentage of request)"
            else:
                name = f"{resource} resource"
            if kind == "ContainerResource":
                name = f"{resource} container resource"
            entry = {"name": resource, "current": current_value}
            if container:
                entry["container"] = container
            statuses.append({"type": kind, key: entry})
            if best is None or proposal.replicas > best[0]:
                best = (proposal.replicas, name)
        for reason, message in errors:
            await self.events.record(hpa, "Warning", reason, message)
        if best is None:
            reason, message = errors[0] if errors else ("FailedGetResourceMetric", "no metrics")
            _condition(
                status,
                SCALING_ACTIVE,
                False,
                reason,
                f"the HPA was unable to compute the replica count: {message}",
            )
            await self.events.record(
                hpa,
                "Warning",
                "FailedComputeMetricsReplicas",
                f"invalid metrics ({len(errors)} invalid out of {len(metrics)}), "
                f"first error is: {message}",
            )
            return None
        _condition(
            status,
            SCALING_ACTIVE,
            True,
            "ValidMetricFound",
            f"the HPA was able to successfully calculate a replica count from {best[1]}",
        )
        return best[0], best[1], [s for s in statuses if s.get("type")]

    def _pods(self, namespace: str, selector: str) -> list[Obj]:
        try:
            sel = parse_selector(selector)
        except ApiError:
            return []
        return [
            p
            for p in self.pods.list(namespace)
            if sel.matches((p.get("metadata") or {}).get("labels") or {})
        ]

    async def _write_status(self, hpa: Obj, before: Obj, status: Obj) -> None:
        if status == before:
            return
        updated = {**hpa, "status": status}
        try:
            await self.api.update_status(HORIZONTALPODAUTOSCALERS, updated)
        except NotFound:
            return


def _milli_text(value: int, resource: str) -> str:
    """A milli-unit amount as Kubernetes prints it: `146m` for cpu, whole bytes else."""
    if resource == "cpu":
        return f"{value}m"
    whole = value // 1000
    return f"{whole // 1024}Ki" if whole and whole % 1024 == 0 else str(whole)
