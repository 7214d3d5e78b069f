"""Kubernetes' PodSecurity admission plugin (k8s.io/pod-security-admission/admission):
the namespace's `pod-security.kubernetes.io/*` labels (over the configured defaults)
say which Pod Security Standard each mode applies.

- Pods: `enforce` refuses a create, or an update that changes the pod spec in a way that
  matters (an image, a container added: Kubernetes' isSignificantPodUpdate), with
  `pods "x" is forbidden: violates PodSecurity "baseline:latest": ...`; `warn` adds a
  `Warning` header (only when the write is allowed); `audit` records an audit
  annotation.
- Workloads with a pod template: `warn` and `audit` only; Kubernetes never enforces on
  templates (the pods they make are checked when created).
- Namespaces: labels must parse (422 otherwise); raising the enforce level warns about
  the existing pods that would violate it.
- Exempt usernames, namespaces and runtime classes are not evaluated.

minik has no audit log: the audit annotations Kubernetes would attach to the request's
audit event (`pod-security.kubernetes.io/audit-violations`, `.../enforce-policy`,
`.../exempt`, `.../error`) are logged on the `apiserver.audit` logger (violations and
errors at INFO, the rest at DEBUG) and counted in `pod_security_evaluations_total` /
`pod_security_exemptions_total`."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

from api import errors
from api.podsecurity import pod_template
from api.podsecurity.configuration import PodSecurityConfiguration
from api.podsecurity.evaluator import Evaluator, Result
from api.podsecurity.levels import (
    AUDIT_LEVEL_LABEL,
    AUDIT_VERSION_LABEL,
    AUDIT_VIOLATIONS_ANNOTATION,
    ENFORCE_LEVEL_LABEL,
    ENFORCE_POLICY_ANNOTATION,
    ENFORCE_VERSION_LABEL,
    ERROR_ANNOTATION,
    EXEMPT_ANNOTATION,
    LABEL_PREFIX,
    PRIVILEGED,
    WARN_LEVEL_LABEL,
    WARN_VERSION_LABEL,
    LevelVersion,
    Policy,
    compare_levels,
    policy_to_evaluate,
)
from apiserver.admission.plugin import CREATE, UPDATE, Attributes, Plugin
from apiserver.admission.podsecurity import metrics
from apiserver.storage import object_key, prefix_key

if TYPE_CHECKING:
    from apiserver.storage import Storage

log = logging.getLogger(__name__)
audit_log = logging.getLogger("apiserver.audit")

# pod subresources that cannot change the pod spec (Kubernetes' ignoredPodSubresources);
# any other (ephemeralcontainers) is evaluated
IGNORED_POD_SUBRESOURCES = frozenset(
    {"exec", "attach", "binding", "eviction", "log", "portforward", "proxy", "status"}
)
# (group, resource) of the namespaces and of every kind with a pod template (a custom
# resource of the same kind in another group is not one)
SEEN_WITHOUT_SUBRESOURCE = frozenset(
    {
        ("", "namespaces"),
        ("", "replicationcontrollers"),
        ("", "podtemplates"),
        ("apps", "replicasets"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    }
)
# existing pods checked when a namespace's enforce level rises, and for how long
NAMESPACE_MAX_PODS = 3000
NAMESPACE_CHECK_SECONDS = 1.0


class PodSecurity(Plugin):
    name = "PodSecurity"

    def __init__(
        self, storage: Storage, config: PodSecurityConfiguration, evaluator: Evaluator
    ) -> None:
        super().__init__(storage)
        self.config = config
        self.evaluator = evaluator

    def handles(self, a: Attributes) -> bool:
        if a.operation not in (CREATE, UPDATE):
            return False
        res = a.info.resource
        if (res.group, res.plural) == ("", "pods"):
            return a.subresource not in IGNORED_POD_SUBRESOURCES
        return (res.group, res.plural) in SEEN_WITHOUT_SUBRESOURCE and not a.subresource

    async def validate(self, a: Attributes) -> None:
        if a.kind == "Namespace":
            await self._validate_namespace(a)
        elif a.kind == "Pod":
            await self._validate_pod(a)
        else:
            await self._validate_workload(a)

    # ---- namespaces ---------------------------------------------------------------

    async def _validate_namespace(self, a: Attributes) -> None:
        labels = (a.obj.get("metadata") or {}).get("labels") or {}
        policy, errs = policy_to_evaluate(labels, self.config.defaults)
        if a.operation == CREATE or a.old is None:
            if errs:
                raise errors.invalid("Namespace", a.name, errs)
            if a.name in self.config.exemptions.namespaces:
                self._warn_exempt_namespace(a, policy, labels)
            return
        old_labels = (a.old.get("metadata") or {}).get("labels") or {}
        old_policy, old_errs = policy_to_evaluate(old_labels, self.config.defaults)
        if errs and (not old_errs or errs != old_errs):
            raise errors.invalid("Namespace", a.name, errs)
        new, old = policy.enforce, old_policy.enforce
        if new == old or new.level == PRIVILEGED:
            return
        if new.version == old.version and compare_levels(new.level, old.level) < 1:
            return
        if a.name in self.config.exemptions.namespaces:
            self._warn_exempt_namespace(a, policy, labels)
            return
        a.opts.warnings += await self._check_existing_pods(a.name, new)

    def _warn_exempt_namespace(self, a: Attributes, policy: Policy, labels: dict) -> None:
        """Labels on an exempt namespace do nothing: say so (exemptNamespaceWarning)."""
        if policy.fully_privileged() or policy.equivalent(self.config.defaults):
            return
        parts = []
        for mode, lv, level_label, version_label in (
            ("enforce", policy.enforce, ENFORCE_LEVEL_LABEL, ENFORCE_VERSION_LABEL),
            ("audit", policy.audit, AUDIT_LEVEL_LABEL, AUDIT_VERSION_LABEL),
            ("warn", policy.warn, WARN_LEVEL_LABEL, WARN_VERSION_LABEL),
        ):
            if lv.level != PRIVILEGED and (level_label in labels or version_label in labels):
                parts.append(f"{mode}={lv}")
        a.opts.warnings.append(
            f'namespace "{a.name}" is exempt from Pod Security, and the policy '
            f"({', '.join(parts)}) will be ignored"
        )

    async def _check_existing_pods(self, namespace: str, enforce: LevelVersion) -> list[str]:
        """EvaluatePodsInNamespace: one warning per distinct violation, naming the first
        pod (and how many others); one pod per controller first, within a time budget."""
        pods, _ = await self.storage.list(prefix_key("pods", namespace))
        pods = self._prioritized(pods)
        total = len(pods)
        pods = pods[:NAMESPACE_MAX_PODS]
        deadline = asyncio.get_running_loop().time() + NAMESPACE_CHECK_SECONDS
        seen: dict[str, tuple[str, int]] = {}  # reason -> (first pod name, count)
        checked = 0
        for pod in pods:
            checked += 1
            result = self.evaluator.evaluate(
                enforce, pod.get("metadata") or {}, pod.get("spec") or {}
            )
            if not result.allowed:
                reason = result.reason()
                name = str((pod.get("metadata") or {}).get("name") or "")
                first, count = seen.get(reason, (name, 0))
                seen[reason] = (min(first, name), count + 1)
            if asyncio.get_running_loop().time() > deadline:
                break
        warnings = []
        if checked < total:
            warnings.append(
                f"new PodSecurity enforce level only checked against the first {checked} of "
                f"{total} existing pods"
            )
        if seen:
            warnings.append(
                f'existing pods in namespace "{namespace}" violate the new PodSecurity '
                f'enforce level "{enforce}"'
            )
        return warnings + sorted(_pods_phrase(n, c) + f": {r}" for r, (n, c) in seen.items())

    def _prioritized(self, pods: list[dict]) -> list[dict]:
        """Pods of exempt runtime classes dropped; the first pod of each controller
        first, its siblings after every other pod (prioritizePods)."""
        first: list[dict] = []
        rest: list[dict] = []
        controllers: set[str] = set()
        for pod in pods:
            if self._exempt_runtime_class(pod.get("spec") or {}):
                continue
            owner = next(
                (
                    r.get("uid")
                    for r in (pod.get("metadata") or {}).get("ownerReferences") or []
                    if isinstance(r, dict) and r.get("controller") is True
                ),
                None,
            )
            if owner is None:
                first.append(pod)
            elif owner in controllers:
                rest.append(pod)
            else:
                controllers.add(owner)
                first.append(pod)
        return first + rest

    # ---- pods and workloads -------------------------------------------------------

    async def _validate_pod(self, a: Attributes) -> None:
        if self._exempt(a):
            return
        policy, errs = await self._namespace_policy(a, enforcing=True)
        if not errs and policy.fully_privileged():
            self._audit(a, {ENFORCE_POLICY_ANNOTATION: f"{PRIVILEGED}:latest"}, debug=True)
            return
        if a.operation == UPDATE and a.old is not None and not significant_update(a.obj, a.old):
            return
        self._evaluate(a, policy, errs, a.obj.get("metadata") or {}, a.obj.get("spec") or {}, True)

    async def _validate_workload(self, a: Attributes) -> None:
        if self._exempt(a):
            return
        policy, errs = await self._namespace_policy(a, enforcing=False)
        if not errs and policy.warn.level == PRIVILEGED and policy.audit.level == PRIVILEGED:
            return
        template = pod_template(a.kind, a.obj)
        if template is None:
            return
        self._evaluate(a, policy, errs, template[0], template[1], False)

    def _exempt(self, a: Attributes) -> bool:
        exemptions = self.config.exemptions
        user = getattr(a.opts.user, "name", "") or ""
        reason = (
            "namespace"
            if a.namespace and a.namespace in exemptions.namespaces
            else "user"
            if user and user in exemptions.usernames
            else None
        )
        if reason is not None:
            self._exemption(a, reason)
        return reason is not None

    def _exempt_runtime_class(self, spec: dict) -> bool:
        runtime_class = spec.get("runtimeClassName")
        return bool(runtime_class) and runtime_class in self.config.exemptions.runtime_classes

    def _exemption(self, a: Attributes, reason: str) -> None:
        metrics.exemption(a.operation, a.info.resource.plural, a.subresource or "")
        self._audit(a, {EXEMPT_ANNOTATION: reason}, debug=True)

    async def _namespace_policy(self, a: Attributes, enforcing: bool) -> tuple[Policy, list]:
        namespace = a.namespace or ""
        ns = a.namespace_object or await self.storage.get(object_key("namespaces", None, namespace))
        if ns is None:
            if enforcing:  # fail closed, as Kubernetes does for pods
                raise errors.internal(f'failed to lookup namespace "{namespace}"')
            return self.config.defaults, []
        labels = (ns.get("metadata") or {}).get("labels") or {}
        return policy_to_evaluate(labels, self.config.defaults)

    def _evaluate(
        self, a: Attributes, policy: Policy, errs: list, meta: dict, spec: dict, enforce: bool
    ) -> None:
        """EvaluatePod: enforce (pods only), then audit and warn, each level evaluated
        once; warnings only on a write that is allowed."""
        if self._exempt_runtime_class(spec):
            self._exemption(a, "runtimeClass")
            return
        annotations: dict[str, str] = {}
        if errs:
            text = "; ".join(f"{c['field']}: {c['message']}" for c in errs)
            annotations[ERROR_ANNOTATION] = f"Failed to parse policy: {text}"
        cache: dict[LevelVersion, Result] = {}

        def result(lv: LevelVersion) -> Result:
            if lv not in cache:
                cache[lv] = self.evaluator.evaluate(lv, meta, spec)
            return cache[lv]

        refusal = None
        if enforce:
            annotations[ENFORCE_POLICY_ANNOTATION] = str(policy.enforce)
            verdict = result(policy.enforce)
            self._count(a, verdict, policy.enforce, "enforce")
            if not verdict.allowed:
                refusal = a.forbidden(
                    f'violates PodSecurity "{policy.enforce}": {verdict.detail()}'
                )
        audit = result(policy.audit)
        if not audit.allowed:
            annotations[AUDIT_VIOLATIONS_ANNOTATION] = (
                f'would violate PodSecurity "{policy.audit}": {audit.detail()}'
            )
            self._count(a, audit, policy.audit, "audit")
        if refusal is None:
            warn = result(policy.warn)
            if not warn.allowed:
                a.opts.warnings.append(
                    f'would violate PodSecurity "{policy.warn}": {warn.detail()}'
                )
                self._count(a, warn, policy.warn, "warn")
        self._audit(a, annotations)
        if refusal is not None:
            raise refusal

    def _count(self, a: Attributes, verdict: Result, lv: LevelVersion, mode: str) -> None:
        metrics.evaluation(
            "allow" if verdict.allowed else "deny",
            lv,
            self.evaluator.server_version,
            mode,
            a.operation,
            a.info.resource.plural,
            a.subresource or "",
        )

    def _audit(self, a: Attributes, annotations: dict[str, str], debug: bool = False) -> None:
        """What Kubernetes adds to the request's audit event, as one log line."""
        if not annotations:
            return
        loud = not debug and (
            AUDIT_VIOLATIONS_ANNOTATION in annotations or ERROR_ANNOTATION in annotations
        )
        if not loud and not audit_log.isEnabledFor(logging.DEBUG):
            return
        user = getattr(a.opts.user, "name", "") or ""
        where = f"{a.namespace}/{a.name}" if a.namespace else a.name
        record = {LABEL_PREFIX + k: v for k, v in annotations.items()}
        audit_log.log(
            logging.INFO if loud else logging.DEBUG,
            "%s %s %s by %r: %s",
            a.operation.lower(),
            a.info.resource.plural + (f"/{a.subresource}" if a.subresource else ""),
            where,
            user,
            json.dumps(record, sort_keys=True),
        )


def significant_update(pod: dict, old: dict) -> bool:
    """Whether a pod update can change what the policy sees (isSignificantPodUpdate):
    the only mutable spec fields that matter are images and ephemeral containers."""
    spec, old_spec = pod.get("spec") or {}, old.get("spec") or {}
    for key in ("containers", "initContainers"):
        new_list, old_list = spec.get(key) or [], old_spec.get(key) or []
        if len(new_list) != len(old_list):
            return True
        if any(_image(c) != _image(o) for c, o in zip(new_list, old_list, strict=True)):
            return True
    old_ephemeral = {
        c.get("name"): c for c in old_spec.get("ephemeralContainers") or [] if isinstance(c, dict)
    }
    for c in spec.get("ephemeralContainers") or []:
        if not isinstance(c, dict):
            continue
        before = old_ephemeral.get(c.get("name"))
        if before is None or _image(c) != _image(before):
            return True
    return False


def _image(container: object) -> object:
    return container.get("image") if isinstance(container, dict) else None


def _pods_phrase(name: str, count: int) -> str:
    if count == 1:
        return name
    if count == 2:
        return f"{name} (and 1 other pod)"
    return f"{name} (and {count - 1} other pods)"
