"""APIServices (k8s.io/kube-aggregator/pkg/apis/apiregistration/validation)."""

from __future__ import annotations

from api import labels as lbl
from api.validation.field import Cause, as_dict, as_int, as_str, invalid, required


def validate_apiservice(obj: dict) -> list[Cause]:
    """The name is `<version>.<group>`; a local service (none named) needs no
    priorities checked beyond their ranges; a named service needs its namespace,
    name and a valid port."""
    name = as_str(as_dict(obj.get("metadata")).get("name"))
    spec = as_dict(obj.get("spec"))
    group, version = as_str(spec.get("group")), as_str(spec.get("version"))
    causes: list[Cause] = []
    if not version:
        causes.append(required("spec.version"))
    want = f"{version}.{group}" if group else version
    if name and version and name != want:
        causes.append(invalid("metadata.name", name, f'must be "{want}"'))
    minimum = as_int(spec.get("groupPriorityMinimum"))
    if minimum is None or not 0 < minimum <= 20000:
        causes.append(
            invalid(
                "spec.groupPriorityMinimum",
                spec.get("groupPriorityMinimum"),
                "must be positive and less than 20000",
            )
        )
    priority = as_int(spec.get("versionPriority"))
    if priority is None or not 0 < priority <= 1000:
        causes.append(
            invalid(
                "spec.versionPriority",
                spec.get("versionPriority"),
                "must be positive and less than 1000",
            )
        )
    service = spec.get("service")
    if service is not None:
        svc = as_dict(service)
        for key in ("namespace", "name"):
            if not as_str(svc.get(key)):
                causes.append(required(f"spec.service.{key}"))
            else:
                causes.extend(
                    invalid(f"spec.service.{key}", svc.get(key), m)
                    for m in lbl.dns1123_label_errors(as_str(svc.get(key)))
                )
        port = svc.get("port", 443)
        if as_int(port) is None or not 0 < int(port) < 65536:
            causes.append(invalid("spec.service.port", port, "port is not valid"))
        if spec.get("insecureSkipTLSVerify") and spec.get("caBundle"):
            causes.append(
                invalid(
                    "spec.insecureSkipTLSVerify",
                    True,
                    "may not be true if caBundle is present",
                )
            )
    return causes
