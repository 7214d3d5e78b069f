"""The admission configuration `minik up` and the compose lab give the apiserver
(`--admission-control-config-file`): Pod Security Standards enforced at `baseline`,
warned and audited at `restricted`, `kube-system` exempt — what the Kubernetes docs
suggest for a cluster-wide default. The test harness (deploy/controlplane.py) keeps
Kubernetes' own default (no file: privileged everywhere) unless a test asks."""

from __future__ import annotations

from pathlib import Path

import yaml

FILE_NAME = "admission-config.yaml"


def admission_configuration(
    enforce: str = "baseline",
    warn: str = "restricted",
    audit: str = "restricted",
    exempt_namespaces: tuple[str, ...] = ("kube-system",),
    exempt_usernames: tuple[str, ...] = (),
    exempt_runtime_classes: tuple[str, ...] = (),
) -> dict:
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AdmissionConfiguration",
        "plugins": [
            {
                "name": "PodSecurity",
                "configuration": {
                    "apiVersion": "pod-security.admission.config.k8s.io/v1",
                    "kind": "PodSecurityConfiguration",
                    "defaults": {
                        "enforce": enforce,
                        "enforce-version": "latest",
                        "audit": audit,
                        "audit-version": "latest",
                        "warn": warn,
                        "warn-version": "latest",
                    },
                    "exemptions": {
                        "usernames": list(exempt_usernames),
                        "runtimeClasses": list(exempt_runtime_classes),
                        "namespaces": list(exempt_namespaces),
                    },
                },
            }
        ],
    }


def write_admission_config(path: Path, configuration: dict | None = None) -> Path:
    """Write `configuration` (by default `admission_configuration()`) to `path`. It
    holds no secret: 0644 (the lab's apiserver gets a 0600 copy, as all its files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = configuration if configuration is not None else admission_configuration()
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o644)
    return path


def flags(path: Path) -> list[str]:
    return ["--admission-control-config-file", str(path)]
