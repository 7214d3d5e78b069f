"""Ephemeral containers (`kubectl debug`), as Kubernetes validates them: written only
through `pods/{name}/ephemeralcontainers`, which may add containers but never change
or remove one; names unique among all the pod's containers; no ports, probes,
lifecycle hooks or resources (an ephemeral container gets no guarantees);
`targetContainerName` names one of the pod's containers."""

from __future__ import annotations

from typing import Any

from api.validation.field import (
    Cause,
    as_dict,
    as_list,
    as_str,
    duplicate,
    forbidden,
    not_found,
)
from api.validation.pods import container_common

_FORBIDDEN = ("ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "resources")


def validate_ephemeral_containers(spec: Any, path: str) -> list[Cause]:
    """The shape of `spec.ephemeralContainers` (on every pod write)."""
    spec = as_dict(spec)
    volumes = {as_str(as_dict(v).get("name")) for v in as_list(spec.get("volumes"))}
    names = {
        as_str(as_dict(c).get("name"))
        for key in ("containers", "initContainers")
        for c in as_list(spec.get(key))
    }
    targets = {as_str(as_dict(c).get("name")) for c in as_list(spec.get("containers"))}
    causes: list[Cause] = []
    for i, raw in enumerate(as_list(spec.get("ephemeralContainers"))):
        c = as_dict(raw)
        p = f"{path}.ephemeralContainers[{i}]"
        causes += container_common(c, p, volumes)
        name = as_str(c.get("name"))
        if name in names:
            causes.append(duplicate(f"{p}.name", name))
        elif name:
            names.add(name)
        for key in _FORBIDDEN:
            if c.get(key) not in (None, {}, []):
                causes.append(forbidden(f"{p}.{key}", "cannot be set for an Ephemeral Container"))
        if c.get("restartPolicy") is not None:
            causes.append(
                forbidden(f"{p}.restartPolicy", "cannot be set for an Ephemeral Container")
            )
        target = as_str(c.get("targetContainerName"))
        if target and target not in targets:
            causes.append(not_found(f"{p}.targetContainerName", target))
    return causes


def validate_ephemeral_update(new: dict, old: dict) -> list[Cause]:
    """Only additions: every existing ephemeral container stays, unchanged."""
    before = {
        as_str(as_dict(c).get("name")): c
        for c in as_list(as_dict(old.get("spec")).get("ephemeralContainers"))
    }
    after = {
        as_str(as_dict(c).get("name")): (i, c)
        for i, c in enumerate(as_list(as_dict(new.get("spec")).get("ephemeralContainers")))
    }
    causes: list[Cause] = []
    for name, container in before.items():
        if name not in after:
            causes.append(
                forbidden(
                    "spec.ephemeralContainers",
                    f'existing ephemeral containers "{name}" may not be removed\n',
                )
            )
        elif after[name][1] != container:
            causes.append(
                forbidden(
                    f"spec.ephemeralContainers[{after[name][0]}]",
                    f'existing ephemeral containers "{name}" may not be changed\n',
                )
            )
    return causes
