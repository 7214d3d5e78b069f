"""The plugin interface, as Kubernetes' scheduling framework has it, cut down to the
two extension points that decide placement:

- a **filter** plugin answers `filter(pod, node) -> Status | None`: None means the
  node can run the pod, a Status carries Kubernetes' reason strings (they end up,
  counted, in the FailedScheduling message);
- a **score** plugin answers `score(pod, node) -> int` in 0..100 for each node that
  passed the filters; its weight multiplies it. A plugin whose raw score is relative
  (a count) also defines `normalize(pod, scores)`, mapping the list in place to
  0..100 (Kubernetes' NormalizeScore).

A plugin may also define `filter_applies(pod)` / `score_applies(pod)`; False skips
that extension point for the pod altogether (Kubernetes' PreFilter/PreScore "Skip"),
which keeps per-node work small. A score plugin may define `score_nodes(pod, nodes)`,
the scores of a whole list at once: the same numbers as `score` per node, without a
Python call per node (at 1,000 nodes, ~420 are scored for every pod). Plugins are
registered, in order, in `scheduler.plugins.DEFAULT_PLUGINS`; one plugin may both
filter and score.

A filter's Status is `Unschedulable` (removing pods from the node could help: too
little room, a host port taken) or `UnschedulableAndUnresolvable` (nothing on the node
could: a taint, a selector); a **post-filter** plugin (`post_filter`, Kubernetes'
PostFilter: DefaultPreemption) runs when no node passed, and may nominate a node and
name the pods to remove there. It decides only; the scheduler makes the API writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo

MAX_NODE_SCORE = 100
UNSCHEDULABLE = "Unschedulable"
UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"


@dataclass(frozen=True, slots=True)
class Status:
    """Why one node cannot run the pod (one plugin may give several reasons)."""

    reasons: tuple[str, ...]
    plugin: str = ""
    code: str = UNSCHEDULABLE


def unschedulable(plugin: str, *reasons: str) -> Status:
    return Status(tuple(reasons), plugin)


def unresolvable(plugin: str, *reasons: str) -> Status:
    """A failure no preemption on the node can cure."""
    return Status(tuple(reasons), plugin, UNSCHEDULABLE_AND_UNRESOLVABLE)


# Every filter of the profile for one pod on one node (nominated pods counted).
Filters = Callable[[PodInfo, NodeInfo], Status | None]


@dataclass
class PostFilterResult:
    """What a post-filter plugin found: a node to nominate and the pods to remove
    there, or (node None) why not, which the FailedScheduling message carries."""

    node: str | None = None
    victims: list[PodInfo] = field(default_factory=list)
    message: str = ""
    clear_nomination: bool = False  # no node can help: drop an earlier nomination


@runtime_checkable
class FilterPlugin(Protocol):
    name: str

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status | None: ...


@runtime_checkable
class ScorePlugin(Protocol):
    name: str

    def score(self, pod: PodInfo, node: NodeInfo) -> int: ...


@runtime_checkable
class PostFilterPlugin(Protocol):
    name: str

    def post_filter(
        self,
        pod: PodInfo,
        nodes: Sequence[NodeInfo],
        failures: Mapping[str, Status],
        filters: Filters,
        nominated_node: str | None,
    ) -> PostFilterResult: ...


@dataclass(frozen=True)
class Registered:
    """One entry of the plugin list: the plugin and, if it scores, its weight."""

    plugin: object
    weight: int = 1


@dataclass
class Profile:
    """The plugin list split by extension point, in registration order."""

    filters: list[FilterPlugin] = field(default_factory=list)
    scorers: list[tuple[ScorePlugin, int]] = field(default_factory=list)
    post_filters: list[PostFilterPlugin] = field(default_factory=list)

    @classmethod
    def from_plugins(cls, plugins: Sequence[Registered]) -> Profile:
        profile = cls()
        for entry in plugins:
            if isinstance(entry.plugin, FilterPlugin):
                profile.filters.append(entry.plugin)
            if isinstance(entry.plugin, ScorePlugin) and entry.weight > 0:
                profile.scorers.append((entry.plugin, entry.weight))
            if isinstance(entry.plugin, PostFilterPlugin):
                profile.post_filters.append(entry.plugin)
        return profile


def filter_applies(plugin: object, pod: PodInfo) -> bool:
    check = getattr(plugin, "filter_applies", None)
    return True if check is None else bool(check(pod))


def score_applies(plugin: object, pod: PodInfo) -> bool:
    check = getattr(plugin, "score_applies", None)
    return True if check is None else bool(check(pod))


def node_scores(plugin: ScorePlugin, pod: PodInfo, nodes: Sequence[NodeInfo]) -> list[int]:
    """`plugin`'s raw scores for `nodes`: its `score_nodes` when it has one."""
    batch = getattr(plugin, "score_nodes", None)
    if batch is not None:
        return batch(pod, nodes)
    score = plugin.score
    return [score(pod, node) for node in nodes]


def normalize_to_max(scores: list[int], reverse: bool = False) -> None:
    """Kubernetes' DefaultNormalizeScore: scale so the highest raw score is 100
    (reverse: the lowest raw score gets 100)."""
    highest = max(scores, default=0)
    if highest == 0:
        if reverse:
            scores[:] = [MAX_NODE_SCORE] * len(scores)
        return
    for i, s in enumerate(scores):
        scaled = MAX_NODE_SCORE * s // highest
        scores[i] = MAX_NODE_SCORE - scaled if reverse else scaled
