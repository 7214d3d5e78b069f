"""APIService validation and defaults."""

from __future__ import annotations

from typing import Any

from api.defaults import apply_defaults
from api.validation import validate


def _apiservice(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "group": "metrics.k8s.io",
        "version": "v1beta1",
        "groupPriorityMinimum": 100,
        "versionPriority": 100,
        "service": {"namespace": "kube-system", "name": "metrics-server"},
    }
    base.update(spec)
    obj = {"metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": base}
    apply_defaults("APIService", obj)
    return obj


def test_a_valid_apiservice_gets_port_443() -> None:
    obj = _apiservice()
    assert obj["spec"]["service"]["port"] == 443
    assert validate("APIService", obj) == []


def test_name_priorities_and_tls_options_are_checked() -> None:
    fields = {c["field"] for c in validate("APIService", _apiservice(version="v1"))}
    assert "metadata.name" in fields
    fields = {
        c["field"]
        for c in validate(
            "APIService",
            _apiservice(
                groupPriorityMinimum=0,
                versionPriority=5000,
                insecureSkipTLSVerify=True,
                caBundle="eA==",
            ),
        )
    }
    assert fields == {
        "spec.groupPriorityMinimum",
        "spec.versionPriority",
        "spec.insecureSkipTLSVerify",
    }
