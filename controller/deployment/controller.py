"""The Deployment controller: one ReplicaSet per pod template, rolled between with
the deployment's strategy.

reconcile(ns/name): claim the ReplicaSets the selector matches; then, as Kubernetes'
syncDeployment, either only report status (being deleted), or scale proportionally
(paused, or replicas changed mid-rollout), or take one rollout step (RollingUpdate:
grow the new set within maxSurge, else shrink old sets within maxUnavailable;
Recreate: old sets to zero, wait for their pods to go, then the new set), and write
status with the Available and Progressing conditions `kubectl rollout status` reads.
The plans come from rollout.py; this module does the I/O."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from typing import Any

from api.errors import AlreadyExists, ApiError, NotFound, is_namespace_terminating
from api.labels import LabelSelector, from_label_selector
from api.resources import DEPLOYMENTS, PODS, REPLICASETS
from client.events import NORMAL, WARNING
from client.informer import key_of
from controller.deployment.rollout import (
    Plan,
    is_scaling_event,
    new_rs_new_replicas,
    old_pods_running,
    plan_scale,
    plan_scale_down,
    plan_scale_up,
    replicasets_to_clean,
)
from controller.deployment.util import (
    FAILED_RS_CREATE,
    FOUND_NEW_RS,
    NEW_RS_CREATED,
    PAUSED,
    POD_TEMPLATE_HASH,
    PROGRESSING,
    RESUMED,
    REVISION,
    TIMED_OUT,
    calculate_status,
    compute_hash,
    deployment_complete,
    equal_ignore_hash,
    find_new_replicaset,
    get_condition,
    has_progress_deadline,
    is_active,
    max_revision,
    max_surge,
    new_condition,
    replicas,
    replicas_annotations_need_update,
    rollout_status,
    set_condition,
    set_new_rs_annotations,
    set_replicas_annotations,
    stuck_recheck_after,
)
from controller.util.base import Context, Controller
from controller.util.controllerref import (
    ControllerRefManager,
    OwnerLookup,
    controller_ref,
    is_controlled_by,
    meta,
    new_controller_ref,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class DeploymentController(Controller):
    name = "deployment"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.deployments = informers.informer(DEPLOYMENTS)
        self.replicasets = informers.informer(REPLICASETS)
        self.pods = informers.informer(PODS)
        self.rs_by_ns = informers.by_namespace(REPLICASETS)
        self.pods_by_ns = informers.by_namespace(PODS)
        self.owners = OwnerLookup(informers, DEPLOYMENTS, empty_selector_matches=False)
        self.rs_refs = OwnerLookup(informers, REPLICASETS)
        self.deployments.add_handler(
            self.enqueue, lambda _old, new: self.enqueue(new), self.enqueue
        )
        self.replicasets.add_handler(self._rs_added, self._rs_updated, self._rs_deleted)
        self.pods.add_handler(on_delete=self._pod_deleted)
        self.watched = [self.deployments, self.replicasets, self.pods]

    # ---- events --------------------------------------------------------------
    def _rs_added(self, rs: Obj) -> None:
        if meta(rs).get("deletionTimestamp"):
            self._rs_deleted(rs)
            return
        if controller_ref(rs) is not None:
            owner = self.owners.owner(rs)
            if owner is not None:
                self.enqueue(owner)
            return
        for d in self.owners.matching(rs):
            self.enqueue(d)

    def _rs_updated(self, old: Obj, new: Obj) -> None:
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref != new_ref and old_ref is not None:
            owner = self.owners.owner(old)
            if owner is not None:
                self.enqueue(owner)
        if new_ref is not None:
            owner = self.owners.owner(new)
            if owner is not None:
                self.enqueue(owner)
            return
        if meta(old).get("labels") != meta(new).get("labels") or old_ref != new_ref:
            for d in self.owners.matching(new):
                self.enqueue(d)

    def _rs_deleted(self, rs: Obj) -> None:
        owner = self.owners.owner(rs)
        if owner is not None:
            self.enqueue(owner)

    def _pod_deleted(self, pod: Obj) -> None:
        """A Recreate rollout waits for the old pods to be gone."""
        rs_key = self.rs_refs.referenced_key(pod)
        if rs_key is None:
            return
        rs = self.replicasets.get(rs_key)
        owner = self.owners.owner(rs) if rs is not None else None
        strategy = ((owner or {}).get("spec") or {}).get("strategy") or {}
        if owner is not None and strategy.get("type") == "Recreate":
            self.enqueue(owner)

    # ---- reconcile -----------------------------------------------------------
    async def reconcile(self, key: str) -> None:
        cached = self.deployments.get(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        spec = d.get("spec") or {}
        selector_obj = spec.get("selector")
        if selector_obj == {} or (
            isinstance(selector_obj, dict)
            and not selector_obj.get("matchLabels")
            and not selector_obj.get("matchExpressions")
        ):
            await self.events.record(
                d,
                WARNING,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            )
            status = copy.deepcopy(d.get("status") or {})
            if int(status.get("observedGeneration") or 0) < int(meta(d).get("generation") or 0):
                status["observedGeneration"] = meta(d).get("generation")
                await self._write_status(d, status)
            return
        selector = from_label_selector(selector_obj)
        rs_list = await self._claim_replicasets(d, selector)
        if meta(d).get("deletionTimestamp"):
            d, new_rs, old_rss = await self._all_replicasets(d, rs_list, create=False)
            await self._sync_status(d, [*old_rss, new_rs], new_rs)
            return
        d = await self._check_paused_conditions(d)
        if spec.get("paused") or is_scaling_event(d, rs_list):
            await self._sync(d, rs_list)
        elif (spec.get("strategy") or {}).get("type") == "Recreate":
            await self._rollout_recreate(d, rs_list, selector)
        else:
            await self._rollout_rolling(d, rs_list)

    async def _claim_replicasets(self, d: Obj, selector: LabelSelector) -> list[Obj]:
        namespace = meta(d).get("namespace") or ""
        manager = ControllerRefManager(self.api, d, DEPLOYMENTS, REPLICASETS, selector)
        return await manager.claim(self.rs_by_ns.list(namespace))

    # ---- strategies ------------------------------------------------------------
    async def _rollout_rolling(self, d: Obj, rs_list: list[Obj]) -> None:
        d, new_rs, old_rss = await self._all_replicasets(d, rs_list, create=True)
        sets = _Sets(new_rs, old_rss)
        if await self._apply(d, sets, plan_scale_up(d, sets.all, sets.created_new)):
            await self._sync_rollout_status(d, sets)
            return
        if await self._apply(d, sets, plan_scale_down(d, sets.all, sets.old, sets.created_new)):
            await self._sync_rollout_status(d, sets)
            return
        if deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, sets.old)
        await self._sync_rollout_status(d, sets)

    async def _rollout_recreate(self, d: Obj, rs_list: list[Obj], selector: LabelSelector) -> None:
        d, new_rs, old_rss = await self._all_replicasets(d, rs_list, create=False)
        sets = _Sets(new_rs, old_rss)
        if await self._apply(d, sets, [(rs, 0) for rs in sets.old if is_active(rs)]):
            await self._sync_rollout_status(d, sets)
            return
        if old_pods_running(sets.new, sets.old, self._pods_by_replicaset(d, rs_list, selector)):
            await self._sync_rollout_status(d, sets)
            return
        if sets.new is None:
            d, new_rs, old_rss = await self._all_replicasets(d, rs_list, create=True)
            sets = _Sets(new_rs, old_rss)
        await self._apply(d, sets, [(sets.created_new, replicas(d))])
        if deployment_complete(d, d.get("status") or {}):
            await self._cleanup(d, sets.old)
        await self._sync_rollout_status(d, sets)

    async def _sync(self, d: Obj, rs_list: list[Obj]) -> None:
        """Scale only — paused, or replicas changed — then plain status."""
        d, new_rs, old_rss = await self._all_replicasets(d, rs_list, create=False)
        sets = _Sets(new_rs, old_rss)
        await self._apply(d, sets, plan_scale(d, sets.new, sets.old))
        if (d.get("spec") or {}).get("paused"):
            await self._cleanup(d, sets.old)
        await self._sync_status(d, sets.all, sets.new)

    # ---- replica sets ------------------------------------------------------------
    async def _all_replicasets(
        self, d: Obj, rs_list: list[Obj], create: bool
    ) -> tuple[Obj, Obj | None, list[Obj]]:
        """(deployment, new set or None, old sets), syncing the revision annotations."""
        existing = find_new_replicaset(d, rs_list)
        old_rss = [rs for rs in rs_list if existing is None or rs is not existing]
        new_revision = max_revision(old_rss) + 1
        if existing is not None:
            rs = copy.deepcopy(existing)
            changed = set_new_rs_annotations(d, rs, new_revision, exists=True)
            min_ready = (d.get("spec") or {}).get("minReadySeconds") or 0
            if changed or ((rs.get("spec") or {}).get("minReadySeconds") or 0) != min_ready:
                rs.setdefault("spec", {})["minReadySeconds"] = min_ready
                rs = await self.api.update(REPLICASETS, rs)
            d = await self._set_revision(d, (meta(rs).get("annotations") or {}).get(REVISION))
            if has_progress_deadline(d) and get_condition(d.get("status"), PROGRESSING) is None:
                status = copy.deepcopy(d.get("status") or {})
                message = f'Found new replica set "{meta(rs)["name"]}"'
                set_condition(
                    status, new_condition(PROGRESSING, "True", FOUND_NEW_RS, message, time.time())
                )
                d = await self._write_status(d, status)
            return d, rs, old_rss
        if not create:
            return d, None, old_rss
        created, d = await self._create_new_replicaset(d, old_rss, new_revision)
        return d, created, old_rss

    async def _create_new_replicaset(
        self, d: Obj, old_rss: list[Obj], new_revision: int
    ) -> tuple[Obj, Obj]:
        md, spec = meta(d), d.get("spec") or {}
        status = copy.deepcopy(d.get("status") or {})
        template = copy.deepcopy(spec.get("template") or {})
        pod_hash = compute_hash(template, status.get("collisionCount"))
        labels = {
            **((template.get("metadata") or {}).get("labels") or {}),
            POD_TEMPLATE_HASH: pod_hash,
        }
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy.deepcopy(spec.get("selector") or {})
        selector["matchLabels"] = {
            **(selector.get("matchLabels") or {}),
            POD_TEMPLATE_HASH: pod_hash,
        }
        rs: Obj = {
            "apiVersion": REPLICASETS.api_version,
            "kind": REPLICASETS.kind,
            "metadata": {
                "name": f"{md['name']}-{pod_hash}",
                "namespace": md.get("namespace"),
                "labels": dict(labels),
                "ownerReferences": [new_controller_ref(d, DEPLOYMENTS)],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": spec.get("minReadySeconds") or 0,
                "selector": selector,
                "template": template,
            },
        }
        size = new_rs_new_replicas(d, [*old_rss, rs], rs)
        rs["spec"]["replicas"] = size
        set_new_rs_annotations(d, rs, new_revision, exists=False)
        already = False
        try:
            created = await self.api.create(REPLICASETS, rs, md.get("namespace"))
        except AlreadyExists:
            found = await self.api.get(REPLICASETS, rs["metadata"]["name"], md.get("namespace"))
            if is_controlled_by(found, d) and equal_ignore_hash(
                (found.get("spec") or {}).get("template"), spec.get("template")
            ):
                created, already = found, True  # ours, and our cache was behind
            else:
                status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
                await self._write_status(d, status)
                raise
        except ApiError as err:
            if is_namespace_terminating(err):
                raise
            message = f'Failed to create new replica set "{rs["metadata"]["name"]}": {err.message}'
            if has_progress_deadline(d):
                set_condition(
                    status,
                    new_condition(PROGRESSING, "False", FAILED_RS_CREATE, message, time.time()),
                )
                await self._write_status(d, status)
            await self.events.record(d, WARNING, FAILED_RS_CREATE, message)
            raise
        if not already:
            log.info("deployment %s: created replica set %s with %d replicas", key_of(d),
                     meta(created)["name"], size)  # fmt: skip
        if not already and size > 0:
            await self.events.record(
                d,
                NORMAL,
                "ScalingReplicaSet",
                f"Scaled up replica set {meta(created)['name']} from 0 to {size}",
            )
        d = await self._set_revision(d, str(new_revision))
        if not already and has_progress_deadline(d):
            status = copy.deepcopy(d.get("status") or {})
            message = f'Created new replica set "{meta(created)["name"]}"'
            set_condition(
                status, new_condition(PROGRESSING, "True", NEW_RS_CREATED, message, time.time())
            )
            d = await self._write_status(d, status)
        return created, d

    async def _apply(self, d: Obj, sets: _Sets, plan: Plan) -> bool:
        """Carry out a plan; True when some set's size changed."""
        scaled = False
        for rs, size in plan:
            scaled = await self._scale(d, sets, rs, size) or scaled
        return scaled

    async def _scale(self, d: Obj, sets: _Sets, rs: Obj, size: int) -> bool:
        """Set a ReplicaSet's size and its desired/max-replicas annotations."""
        want, ceiling = replicas(d), replicas(d) + max_surge(d)
        resize = replicas(rs) != size
        if not resize and not replicas_annotations_need_update(rs, want, ceiling):
            return False
        updated = copy.deepcopy(rs)
        updated.setdefault("spec", {})["replicas"] = size
        set_replicas_annotations(updated, want, ceiling)
        written = await self.api.update(REPLICASETS, updated)
        sets.replace(written)
        if resize:
            direction = "up" if size > replicas(rs) else "down"
            log.info("deployment %s: scaled %s replica set %s from %d to %d", key_of(d),
                     direction, meta(rs)["name"], replicas(rs), size)  # fmt: skip
            await self.events.record(
                d,
                NORMAL,
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {meta(rs)['name']} to {size} from {replicas(rs)}",
            )
        return resize

    async def _cleanup(self, d: Obj, old_rss: list[Obj]) -> None:
        """Delete old, empty sets beyond revisionHistoryLimit."""
        for rs in replicasets_to_clean(d, old_rss):
            try:
                await self.api.delete(
                    REPLICASETS,
                    meta(rs)["name"],
                    meta(rs).get("namespace"),
                    preconditions={"uid": meta(rs).get("uid")},
                )
            except NotFound:
                pass

    def _pods_by_replicaset(
        self, d: Obj, rs_list: list[Obj], selector: Any
    ) -> dict[str, list[Obj]]:
        uids = {meta(rs).get("uid") for rs in rs_list}
        grouped: dict[str, list[Obj]] = {uid: [] for uid in uids if uid}
        for pod in self.pods_by_ns.list(meta(d).get("namespace") or ""):
            ref = controller_ref(pod)
            if ref is None or ref.get("uid") not in uids:
                continue
            if selector.matches(meta(pod).get("labels") or {}):
                grouped[ref["uid"]].append(pod)
        return grouped

    # ---- deployment writes -----------------------------------------------------------
    async def _check_paused_conditions(self, d: Obj) -> Obj:
        """A paused or resumed deployment gets Progressing=Unknown, so the time it spent
        paused never counts against its progress deadline."""
        if not has_progress_deadline(d):
            return d
        cond = get_condition(d.get("status"), PROGRESSING)
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return d
        paused = bool((d.get("spec") or {}).get("paused"))
        paused_cond = cond is not None and cond.get("reason") == PAUSED
        if paused == paused_cond:
            return d
        status = copy.deepcopy(d.get("status") or {})
        if paused:
            new = new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", time.time())
        else:
            new = new_condition(
                PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", time.time()
            )
        set_condition(status, new)
        return await self._write_status(d, status)

    async def _sync_status(self, d: Obj, all_rss: Sequence[Obj | None], new_rs: Obj | None) -> None:
        rss = [rs for rs in all_rss if rs is not None]
        await self._write_status(d, calculate_status(rss, new_rs, d, time.time()))

    async def _sync_rollout_status(self, d: Obj, sets: _Sets) -> None:
        now = time.time()
        status = rollout_status(d, sets.all, sets.new, now)
        if status == (d.get("status") or {}):
            after = stuck_recheck_after(d, status, now)
            if after is not None:
                self.enqueue_after(key_of(d), after + 0.2)
            return
        await self._write_status(d, status)

    async def _write_status(self, d: Obj, status: Obj) -> Obj:
        if status == (d.get("status") or {}):
            return d
        written = await self.api.update_status(DEPLOYMENTS, {**d, "status": status})
        d = copy.deepcopy(d)
        d["metadata"]["resourceVersion"] = meta(written).get("resourceVersion")
        d["status"] = written.get("status") or {}
        return d

    async def _set_revision(self, d: Obj, revision: str | None) -> Obj:
        """The deployment carries its new set's revision (`kubectl rollout history`)."""
        if revision is None or (meta(d).get("annotations") or {}).get(REVISION) == revision:
            return d
        md = meta(d)
        written = await self.api.patch(
            DEPLOYMENTS,
            md["name"],
            {"metadata": {"annotations": {REVISION: revision}}},
            "merge",
            md.get("namespace"),
        )
        d = copy.deepcopy(d)
        d["metadata"]["resourceVersion"] = meta(written).get("resourceVersion")
        d["metadata"]["annotations"] = meta(written).get("annotations") or {}
        return d


class _Sets:
    """A deployment's new and old ReplicaSets, kept current as they are rewritten."""

    def __init__(self, new: Obj | None, old: list[Obj]) -> None:
        self.new = new
        self.old = list(old)

    @property
    def created_new(self) -> Obj:
        """The new set, once `_all_replicasets(create=True)` has made sure it exists."""
        if self.new is None:
            raise RuntimeError("the deployment's new ReplicaSet was not created")
        return self.new

    @property
    def all(self) -> list[Obj]:
        return [*self.old, *([self.new] if self.new is not None else [])]

    def replace(self, rs: Obj) -> None:
        uid = meta(rs).get("uid")
        if self.new is not None and meta(self.new).get("uid") == uid:
            self.new = rs
        self.old = [rs if meta(o).get("uid") == uid else o for o in self.old]
