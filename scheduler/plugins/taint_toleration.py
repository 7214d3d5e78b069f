"""TaintToleration: a node's NoSchedule/NoExecute taints keep off pods that do not
tolerate them; untolerated PreferNoSchedule taints only lower the node's score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.taints import PREFER_NO_SCHEDULE, first_untolerated, tolerated
from scheduler.framework import Status, normalize_to_max, unresolvable
from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo


def pod_tolerations(pod: PodInfo) -> list[Mapping[str, Any]]:
    return pod.cached(
        "tolerations", lambda p: [t for t in p.spec.get("tolerations") or [] if isinstance(t, dict)]
    )


def _prefer_no_schedule_tolerations(pod: PodInfo) -> list[Mapping[str, Any]]:
    return [t for t in pod_tolerations(pod) if t.get("effect") in (None, "", PREFER_NO_SCHEDULE)]


def _new_verdicts(_pod: PodInfo) -> dict[tuple, Status | None]:
    return {}


class TaintToleration:
    name = "TaintToleration"

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status | None:
        """The verdict is the same on every node with the same taints (a cluster's
        NotReady nodes all carry node.kubernetes.io/not-ready), so it is computed once
        per pod and set of taints, not once per node."""
        if not node.no_schedule_taints:
            return None
        verdicts: dict[tuple, Status | None] = pod.cached("taint-verdicts", _new_verdicts)
        key = node.no_schedule_key
        try:
            return verdicts[key]
        except KeyError:
            verdict = verdicts[key] = self._verdict(pod, node.no_schedule_taints)
            return verdict

    def _verdict(self, pod: PodInfo, taints: list[dict[str, Any]]) -> Status | None:
        taint = first_untolerated(pod_tolerations(pod), taints)
        if taint is None:
            return None
        reason = (
            f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value') or ''}}}"
        )
        return unresolvable(self.name, reason)

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """The number of untolerated PreferNoSchedule taints (normalized: fewer is better)."""
        if not node.prefer_no_schedule_taints:
            return 0
        tolerations = pod.cached("prefer-no-schedule", _prefer_no_schedule_tolerations)
        return sum(1 for t in node.prefer_no_schedule_taints if not tolerated(tolerations, t))

    def score_nodes(self, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
        """Mostly no node has a PreferNoSchedule taint: 0s without a call per node."""
        score = self.score
        return [score(pod, node) if node.prefer_no_schedule_taints else 0 for node in nodes]

    def normalize(self, pod: PodInfo, scores: list[int]) -> None:
        normalize_to_max(scores, reverse=True)
