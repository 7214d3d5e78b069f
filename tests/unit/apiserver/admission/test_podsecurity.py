"""The PodSecurity plugin's own decisions (the checks are tested in
tests/unit/api/test_podsecurity_*.py; the plugin against a real apiserver and kubectl in
tests/security/): which writes it sees, which pod updates it evaluates, the exempt
namespace's warning, and reading --admission-control-config-file."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from api.podsecurity.configuration import (
    ConfigurationError,
    Exemptions,
    PodSecurityConfiguration,
)
from api.podsecurity.levels import BASELINE, RESTRICTED, LevelVersion, Policy, v1
from api.resources import find
from apiserver.admission import CREATE, UPDATE, Attributes
from apiserver.admission.podsecurity import PodSecurity, config, pod_security
from apiserver.admission.podsecurity.plugin import significant_update
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo
from deploy.podsecurity import admission_configuration, write_admission_config


def attributes(
    operation: str,
    group: str,
    plural: str,
    obj: dict,
    old: dict | None = None,
    subresource: str | None = None,
) -> Attributes:
    resource = find(group, "v1", plural)
    assert resource is not None
    name = (obj.get("metadata") or {}).get("name")
    info = RequestInfo(resource, None if plural == "namespaces" else "ns", name, subresource)
    return Attributes(operation, info, obj, old, WriteOptions())


def plugin(cfg: PodSecurityConfiguration | None = None) -> PodSecurity:
    return pod_security(None, cfg, v1(32))  # type: ignore[arg-type]


POD = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": []}}


def test_it_sees_pods_templates_and_namespaces_but_not_pod_status_or_scale() -> None:
    p = plugin()
    assert p.handles(attributes(CREATE, "", "pods", POD))
    assert p.handles(attributes(UPDATE, "", "pods", POD, POD, "ephemeralcontainers"))
    assert not p.handles(attributes(UPDATE, "", "pods", POD, POD, "status"))
    assert p.handles(attributes(CREATE, "apps", "deployments", POD))
    assert p.handles(attributes(CREATE, "batch", "cronjobs", POD))
    assert not p.handles(attributes(UPDATE, "apps", "deployments", POD, POD, "scale"))
    assert p.handles(attributes(UPDATE, "", "namespaces", {"metadata": {"name": "x"}}, {}))
    assert not p.handles(attributes(CREATE, "", "configmaps", POD))
    deployments = find("apps", "v1", "deployments")
    assert deployments is not None
    custom = RequestInfo(replace(deployments, group="example.com"), "ns", "p", None)
    assert not p.handles(Attributes(CREATE, custom, POD, None, WriteOptions()))


def test_only_images_and_added_containers_make_a_pod_update_significant() -> None:
    old = {
        "metadata": {"labels": {}},
        "spec": {"containers": [{"name": "a", "image": "x"}], "activeDeadlineSeconds": 5},
    }
    labelled = {**old, "metadata": {"labels": {"a": "b"}}}
    assert not significant_update(labelled, old)
    image = {"spec": {"containers": [{"name": "a", "image": "y"}]}}
    assert significant_update(image, old)
    debug = {"spec": {**old["spec"], "ephemeralContainers": [{"name": "d", "image": "z"}]}}
    assert significant_update(debug, old)
    assert not significant_update(debug, debug)


def test_labels_on_an_exempt_namespace_are_said_to_be_ignored() -> None:
    cfg = PodSecurityConfiguration(
        Policy(LevelVersion(BASELINE)), Exemptions(namespaces=frozenset({"kube-system"}))
    )
    ns = {
        "metadata": {
            "name": "kube-system",
            "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
        }
    }
    a = attributes(CREATE, "", "namespaces", ns)
    asyncio.run(plugin(cfg).validate(a))
    assert a.opts.warnings == [
        'namespace "kube-system" is exempt from Pod Security, and the policy '
        "(enforce=restricted:latest) will be ignored"
    ]


def test_the_config_file_is_read_inline_or_by_path(tmp_path: Path) -> None:
    assert config.load(None) == PodSecurityConfiguration()  # Kubernetes' default
    inline = config.load(write_admission_config(tmp_path / "a.yaml"))
    assert inline.defaults.enforce.level == BASELINE
    assert inline.defaults.audit.level == RESTRICTED
    embedded = admission_configuration(enforce="restricted")["plugins"][0]["configuration"]
    (tmp_path / "psa.yaml").write_text(yaml.safe_dump(embedded))
    outer = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AdmissionConfiguration",
        "plugins": [{"name": "PodSecurity", "path": "psa.yaml"}],
    }
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(outer))
    assert config.load(tmp_path / "b.yaml").defaults.enforce.level == RESTRICTED


def test_a_bad_config_file_names_itself(tmp_path: Path) -> None:
    doc = admission_configuration(enforce="strict")
    path = write_admission_config(tmp_path / "bad.yaml", doc)
    with pytest.raises(ConfigurationError, match=r"bad\.yaml: defaults\.enforce: Invalid value"):
        config.load(path)
    with pytest.raises(ConfigurationError, match=r"missing\.yaml"):
        config.load(tmp_path / "missing.yaml")
