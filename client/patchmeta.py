"""Strategic-merge metadata for computing patches: which lists merge by which key,
which maps carry `$retainKeys`.

The merge keys come from `api.patch.keys`, the very table the apiserver applies
strategic merge patches with, so a patch computed here means on the server what it
meant here. Positions are paths of field names from the root (list elements add
nothing to the path), as in that table.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.patch import list_strategy
from api.resources import by_kind

# (parent field, field) → kinds (None: any) whose Go type tags it `retainKeys`:
# DeploymentSpec.strategy, and the elements of PodSpec.volumes / resourceClaims.
RETAIN_KEYS: dict[tuple[str, str], frozenset[str] | None] = {
    ("spec", "strategy"): frozenset({"Deployment"}),
    ("spec", "volumes"): None,
    ("spec", "resourceClaims"): None,
}


@dataclass(frozen=True)
class Field:
    """How one field patches; `node` is the position of its value (or list elements)."""

    node: Node | None
    strategy: str | None = None  # "merge" for merged lists, else None (replaced whole)
    retain_keys: bool = False
    merge_key: str | None = None  # None for a merged list of scalars


@dataclass(frozen=True)
class Node:
    """A position in an object of a known kind."""

    kind: str
    path: tuple[str, ...] = ()

    def field(self, key: str) -> Field:
        path = (*self.path, key)
        strategy = list_strategy(path, self.kind)
        kinds = RETAIN_KEYS.get((self.path[-1] if self.path else "", key), ())
        retain = kinds is None or self.kind in (kinds or ())
        return Field(
            Node(self.kind, path),
            "merge" if strategy.merges else None,
            retain,
            None if strategy.is_set else strategy.key,
        )


def for_kind(api_version: str, kind: str) -> Node | None:
    """The root position for a served kind; None means unknown (use JSON merge patch)."""
    return Node(kind) if by_kind(kind, api_version) is not None else None
