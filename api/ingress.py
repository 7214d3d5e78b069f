"""networking.k8s.io vocabulary shared by the apiserver (the default class, admission,
tables), the ingress controller and the CLI: the well-known annotations, which class an
Ingress asks for, and minik's own default IngressClass."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

# networking/v1 AnnotationIsDefaultIngressClass: "true" marks the class an Ingress
# without one gets (the DefaultIngressClass admission plugin).
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
# The deprecated way to pick a class, still honoured by controllers (ingress-nginx too).
CLASS_ANNOTATION = "kubernetes.io/ingress.class"

PATH_EXACT = "Exact"
PATH_PREFIX = "Prefix"
PATH_IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"
PATH_TYPES = (PATH_EXACT, PATH_IMPLEMENTATION_SPECIFIC, PATH_PREFIX)  # sorted, as Go lists them

# minik's class and controller: created by the apiserver at start when missing.
MINIK_CLASS = "minik"
MINIK_CONTROLLER = "minik.io/ingress"


def is_default_class(ingress_class: Obj) -> bool:
    annotations = (ingress_class.get("metadata") or {}).get("annotations") or {}
    return annotations.get(DEFAULT_CLASS_ANNOTATION) == "true"


def class_of(ingress: Obj) -> str | None:
    """The class an Ingress asks for: spec.ingressClassName, else the deprecated
    annotation; None when it names none."""
    name = (ingress.get("spec") or {}).get("ingressClassName")
    if name:
        return str(name)
    annotations = (ingress.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(CLASS_ANNOTATION)
    return str(value) if value else None


def minik_ingress_class() -> Obj:
    """The IngressClass `minik`, marked default so a plain Ingress is served."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": MINIK_CLASS,
            "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
            "labels": {"app.kubernetes.io/component": "controller"},
        },
        "spec": {"controller": MINIK_CONTROLLER},
    }


def backend_service_port(backend: Obj) -> str:
    """A backend as kubectl prints it: `svc:80`, `svc:http`, or `APIGroup/Kind:name`."""
    service = backend.get("service")
    if isinstance(service, dict):
        port = service.get("port") or {}
        shown = port.get("name") or port.get("number") or ""
        return f"{service.get('name', '')}:{shown}"
    resource = backend.get("resource")
    if isinstance(resource, dict):
        group = resource.get("apiGroup")
        kind = f"{group}/{resource.get('kind', '')}" if group else resource.get("kind", "")
        return f"{kind}:{resource.get('name', '')}"
    return ""
