"""Ingresses and IngressClasses (pkg/apis/networking/validation): hosts are DNS
subdomains (a leading `*.` allowed), Exact and Prefix paths absolute and clean,
every backend exactly one of a Service (with a port name or number) or a resource."""

from __future__ import annotations

import re
from typing import Any

from api import labels as lbl
from api.ingress import CLASS_ANNOTATION, PATH_EXACT, PATH_PREFIX, PATH_TYPES
from api.validation.field import (
    IMMUTABLE,
    IP_ERROR,
    Cause,
    GoText,
    as_dict,
    as_list,
    as_str,
    forbidden,
    invalid,
    invalid_each,
    is_ip,
    not_supported,
    required,
    too_long,
)
from api.validation.pods import port_name_errors, port_number

_INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_PATH_SUFFIXES = ("/..", "/.")
_NOT_IP = "must be a DNS name, not an IP address"
_SCOPES = ("Cluster", "Namespace")
_MAX_CONTROLLER_LEN = 250
_HTTP_PATH_FMT = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"


def _host_errors(host: str) -> list[str]:
    if "*" in host:
        return lbl.wildcard_dns1123_subdomain_errors(host)
    return lbl.dns1123_subdomain_errors(host)


def path_segment_errors(name: str) -> list[str]:
    """IsValidPathSegmentName: what may be one segment of a URL path."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _typed_reference(ref: dict, path: str) -> list[Cause]:
    """validateIngressTypedLocalObjectReference."""
    causes: list[Cause] = []
    group = ref.get("apiGroup")
    if group is not None:
        causes += invalid_each(
            f"{path}.apiGroup", as_str(group), lbl.dns1123_subdomain_errors(as_str(group))
        )
    for key in ("kind", "name"):
        value = as_str(ref.get(key))
        if not value:
            causes.append(required(f"{path}.{key}", f"{key} is required"))
        else:
            causes += invalid_each(f"{path}.{key}", value, path_segment_errors(value))
    return causes


def validate_backend(backend: Any, path: str) -> list[Cause]:
    """validateIngressBackend: a Service with a port, or a typed resource; not both."""
    backend = as_dict(backend)
    resource, service = backend.get("resource"), backend.get("service")
    if resource is not None and service is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        return _typed_reference(as_dict(resource), f"{path}.resource")
    if service is None:
        return [invalid(path, "", "resource or service backend is required")]
    service = as_dict(service)
    causes: list[Cause] = []
    name = as_str(service.get("name"))
    if not name:
        causes.append(required(f"{path}.service.name"))
    else:
        causes += invalid_each(f"{path}.service.name", name, lbl.dns1035_label_errors(name))
    port = as_dict(service.get("port"))
    port_name, number = as_str(port.get("name")), port.get("number") or 0
    if port_name and number:
        causes.append(invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        causes += invalid_each(f"{path}.service.port.name", port_name, port_name_errors(port_name))
    elif number:
        causes += port_number(f"{path}.service.port.number", number)
    else:
        causes.append(required(path, "port name or number is required"))
    return causes


def _http_path(entry: dict, path: str) -> list[Cause]:
    """validateHTTPIngressPath."""
    path_type = entry.get("pathType")
    if path_type in (None, ""):
        return [required(f"{path}.pathType", "pathType must be specified")]
    value = as_str(entry.get("path"))
    causes: list[Cause] = []
    if path_type in (PATH_EXACT, PATH_PREFIX):
        if not value.startswith("/"):
            causes.append(invalid(f"{path}.path", value, "must be an absolute path"))
        if value:
            for seq in _INVALID_PATH_SEQUENCES:
                if seq in value:
                    causes.append(invalid(f"{path}.path", value, f"must not contain '{seq}'"))
            for suffix in _INVALID_PATH_SUFFIXES:
                if value.endswith(suffix):
                    causes.append(invalid(f"{path}.path", value, f"cannot end with '{suffix}'"))
    elif path_type in PATH_TYPES:  # ImplementationSpecific: absolute when given
        if value and not value.startswith("/"):
            causes.append(invalid(f"{path}.path", value, "must be an absolute path"))
    else:
        causes.append(not_supported(f"{path}.pathType", path_type, PATH_TYPES))
    return causes + validate_backend(entry.get("backend"), f"{path}.backend")


def _rules(rules: list, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, rule in enumerate(rules):
        rule = as_dict(rule)
        p = f"{path}[{i}]"
        host = as_str(rule.get("host"))
        if host:
            if is_ip(host):
                causes.append(invalid(f"{p}.host", host, _NOT_IP))
            causes += invalid_each(f"{p}.host", host, _host_errors(host))
        http = rule.get("http")
        if http is not None:
            paths = as_list(as_dict(http).get("paths"))
            if not paths:
                causes.append(required(f"{p}.http.paths"))
            for j, entry in enumerate(paths):
                causes += _http_path(as_dict(entry), f"{p}.http.paths[{j}]")
    return causes


def _tls(tls: list, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, entry in enumerate(tls):
        entry = as_dict(entry)
        for j, host in enumerate(as_list(entry.get("hosts"))):
            host = as_str(host)
            causes += invalid_each(f"{path}[{i}].hosts[{j}]", host, _host_errors(host))
        secret = as_str(entry.get("secretName"))
        if secret:
            causes += invalid_each(
                f"{path}[{i}].secretName", secret, lbl.dns1123_subdomain_errors(secret)
            )
    return causes


def validate_load_balancer_status(status: Any, path: str) -> list[Cause]:
    """ValidateIngressLoadBalancerStatus."""
    causes: list[Cause] = []
    for i, entry in enumerate(as_list(as_dict(status).get("ingress"))):
        entry = as_dict(entry)
        p = f"{path}.ingress[{i}]"
        ip, hostname = as_str(entry.get("ip")), as_str(entry.get("hostname"))
        if ip and not is_ip(ip):
            causes.append(invalid(f"{p}.ip", ip, IP_ERROR))
        if hostname:
            causes += invalid_each(
                f"{p}.hostname", hostname, lbl.dns1123_subdomain_errors(hostname)
            )
            if is_ip(hostname):
                causes.append(invalid(f"{p}.hostname", hostname, _NOT_IP))
    return causes


def validate_ingress(obj: dict) -> list[Cause]:
    """ValidateIngressCreate (and the spec part of every update)."""
    spec = as_dict(obj.get("spec"))
    causes: list[Cause] = []
    rules = as_list(spec.get("rules"))
    if not rules and spec.get("defaultBackend") is None:
        causes.append(
            invalid(
                "spec",
                GoText("[]networking.IngressRule(nil)"),
                "either `defaultBackend` or `rules` must be specified",
            )
        )
    if spec.get("defaultBackend") is not None:
        causes += validate_backend(spec["defaultBackend"], "spec.defaultBackend")
    causes += _rules(rules, "spec.rules")
    causes += _tls(as_list(spec.get("tls")), "spec.tls")
    class_name = spec.get("ingressClassName")
    if class_name is not None:
        causes += invalid_each(
            "spec.ingressClassName",
            as_str(class_name),
            lbl.dns1123_subdomain_errors(as_str(class_name)),
        )
    annotations = as_dict(as_dict(obj.get("metadata")).get("annotations"))
    annotated = annotations.get(CLASS_ANNOTATION)
    if annotated is not None and class_name is not None and annotated != class_name:
        causes.append(
            invalid(
                f"annotations.{CLASS_ANNOTATION}",
                as_str(annotated),
                "must match `ingressClassName` when both are specified",
            )
        )
    return causes + validate_load_balancer_status(
        as_dict(obj.get("status")).get("loadBalancer"), "status.loadBalancer"
    )


def _domain_prefixed_path(path: str, value: str) -> list[Cause]:
    """IsDomainPrefixedPath: `example.com/controller`."""
    if not value:
        return [required(path)]
    host, sep, rest = value.partition("/")
    if not sep or not host or not rest:
        return [invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')]
    causes = invalid_each(path, host, lbl.dns1123_subdomain_errors(host))
    if not re.fullmatch(_HTTP_PATH_FMT, rest):
        causes.append(invalid(path, rest, lbl.regex_error("Invalid path", _HTTP_PATH_FMT)))
    return causes


def validate_ingress_class(obj: dict) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    controller = as_str(spec.get("controller"))
    causes: list[Cause] = []
    if len(controller) > _MAX_CONTROLLER_LEN:
        causes.append(too_long("spec.controller", _MAX_CONTROLLER_LEN))
    causes += _domain_prefixed_path("spec.controller", controller)
    params = spec.get("parameters")
    if params is None:
        return causes
    params = as_dict(params)
    causes += _typed_reference(params, "spec.parameters")
    scope = params.get("scope")
    if scope is None:
        return [*causes, required("spec.parameters.scope")]
    if scope not in _SCOPES:
        return [*causes, not_supported("spec.parameters.scope", scope, _SCOPES)]
    namespace = params.get("namespace")
    if scope == "Namespace":
        if namespace is None:
            causes.append(
                required("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'")
            )
        else:
            causes += invalid_each(
                "spec.parameters.namespace",
                as_str(namespace),
                lbl.dns1123_label_errors(as_str(namespace)),
            )
    elif namespace is not None:
        causes.append(
            forbidden("spec.parameters.namespace", "`parameters.scope` is set to 'Cluster'")
        )
    return causes


def validate_ingress_class_update(new: dict, old: dict) -> list[Cause]:
    """The controller of a class never changes."""
    controller = as_str(as_dict(new.get("spec")).get("controller"))
    if controller != as_str(as_dict(old.get("spec")).get("controller")):
        return [invalid("spec.controller", controller, IMMUTABLE)]
    return []
