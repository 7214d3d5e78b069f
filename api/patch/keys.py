"""Which lists merge, and by what key: the `patchStrategy`/`patchMergeKey` tags of
Kubernetes' Go types, restated as one table keyed by (parent field, list field).

Kubernetes looks the strategy up in the type of the enclosing struct. minik has no Go
types, so the parent field stands in for the struct: a list element adds nothing to
the path, so `spec.template.spec.containers[*].ports` has parent `containers`. A parent
starting with "/" is anchored at the root: ("/spec", "ports") is a Service's
`spec.ports` and nothing deeper. Lists not in the table are atomic: a patch replaces
them whole, as Kubernetes does for `tolerations`, `args`, `subsets`.
"""

from __future__ import annotations

from dataclasses import dataclass

SET = ""  # merge key meaning "a list of primitives merged as a set" (patchStrategy=merge)

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_CONTAINER_FIELDS = {  # core/v1 Container (and EphemeralContainerCommon)
    "ports": "containerPort",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
}

# (parent field, list field) -> merge key. "" (SET) merges primitives as a set.
MERGE_KEYS: dict[tuple[str, str], str] = {
    # ObjectMeta
    ("metadata", "finalizers"): SET,
    ("metadata", "ownerReferences"): "uid",
    # PodSpec (a Pod's spec, or any pod template's spec)
    **{("spec", name): "name" for name in _CONTAINER_LISTS},
    ("spec", "volumes"): "name",
    ("spec", "imagePullSecrets"): "name",
    ("spec", "hostAliases"): "ip",
    ("spec", "topologySpreadConstraints"): "topologyKey",
    ("spec", "schedulingGates"): "name",
    ("spec", "resourceClaims"): "name",
    # Container fields
    **{
        (parent, field): key
        for parent in _CONTAINER_LISTS
        for field, key in _CONTAINER_FIELDS.items()
    },
    # ServiceSpec, NodeSpec, NodeStatus
    ("/spec", "ports"): "port",
    ("/spec", "podCIDRs"): SET,
    ("/status", "addresses"): "type",
    # Status of pods, nodes, deployments, replica sets, namespaces, services...
    ("status", "conditions"): "type",
    ("status", "podIPs"): "ip",
    ("status", "hostIPs"): "ip",
    ("status", "resourceClaimStatuses"): "name",
}

# Entries that hold only for some kinds. With the kind unknown they hold everywhere.
KIND_ONLY: dict[tuple[str, str], frozenset[str]] = {
    ("/spec", "ports"): frozenset({"Service"}),
    ("/spec", "podCIDRs"): frozenset({"Node"}),
    ("/status", "addresses"): frozenset({"Node"}),
}


@dataclass(frozen=True)
class ListStrategy:
    """How a list merges: by `key` (maps), as a set (`key == SET`), or not at all."""

    key: str | None

    @property
    def merges(self) -> bool:
        return self.key is not None

    @property
    def is_set(self) -> bool:
        return self.key == SET


ATOMIC = ListStrategy(None)


def list_strategy(path: tuple[str, ...], kind: str | None = None) -> ListStrategy:
    """The strategy of the list at `path` (field names from the root, no indexes)."""
    if not path:
        return ATOMIC
    anchored = ("/" + "/".join(path[:-1]), path[-1])
    relative = (path[-2] if len(path) > 1 else "", path[-1])
    for entry in (anchored, relative):
        key = MERGE_KEYS.get(entry)
        if key is None:
            continue
        kinds = KIND_ONLY.get(entry)
        if kind and kinds and kind not in kinds:
            return ATOMIC
        return ListStrategy(key)
    return ATOMIC
