"""Which checks a level and version runs, and their aggregate verdict
(policy/registry.go, policy/checks.go): baseline runs the baseline checks; restricted
runs the restricted ones plus every baseline check they do not override. Each check
runs in the newest revision not newer than the version asked for; `latest` (and any
version newer than the server) means the server's own version, as Kubernetes'
emulation version caps it. Checks run in id order, baseline first, so messages are
stable."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from api.podsecurity.checks import CHECKS, Check, CheckFn, Forbidden, VersionedCheck
from api.podsecurity.levels import BASELINE, PRIVILEGED, RESTRICTED, LevelVersion, Version


@dataclass
class Result:
    """The forbidden checks' reasons and details, in check order."""

    forbidden: list[Forbidden] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.forbidden

    def reason(self) -> str:
        """`host namespaces, privileged`: what a namespace-wide warning lists per pod."""
        return ", ".join(f.reason or "unknown forbidden reason" for f in self.forbidden)

    def detail(self) -> str:
        """`privileged (container "c" must not set securityContext.privileged=true)`."""
        return ", ".join(
            (f.reason or "unknown forbidden reason") + (f" ({f.detail})" if f.detail else "")
            for f in self.forbidden
        )


def _revision(check: Check, version: Version) -> VersionedCheck | None:
    chosen = None
    for revision in check.versions:
        if not version.older(revision.minimum):
            chosen = revision
    return chosen


class Evaluator:
    def __init__(self, server_version: Version, checks: tuple[Check, ...] = CHECKS) -> None:
        self.server_version = server_version
        self.checks = tuple(sorted(checks, key=lambda c: (c.level != BASELINE, c.id)))
        self._plan = lru_cache(maxsize=None)(self._checks_for)

    def _checks_for(self, level: str, version: Version) -> tuple[CheckFn, ...]:
        if level == PRIVILEGED:
            return ()
        chosen = {c.id: r for c in self.checks if (r := _revision(c, version)) is not None}
        levels = {c.id: c.level for c in self.checks}
        if level == BASELINE:
            return tuple(r.check for cid, r in chosen.items() if levels[cid] == BASELINE)
        overridden = {
            o for cid, r in chosen.items() if levels[cid] == RESTRICTED for o in r.overrides
        }
        return tuple(r.check for cid, r in chosen.items() if cid not in overridden)

    def evaluate(self, lv: LevelVersion, meta: dict, spec: dict) -> Result:
        version = lv.version
        if self.server_version.older(version):
            version = self.server_version
        results = (check(meta or {}, spec or {}) for check in self._plan(lv.level, version))
        return Result([r for r in results if r is not None])
