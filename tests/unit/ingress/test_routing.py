"""Route matching: Kubernetes' path semantics (the examples table of the Ingress
docs), host precedence with one-label wildcards, and backends resolved to ready
endpoints."""

from __future__ import annotations

import pytest

from ingress.routing import build_table, normalize_host, path_matches, resolve_backend, serves


@pytest.mark.parametrize(
    ("path_type", "rule", "request_path", "matches"),
    [  # https://kubernetes.io/docs/concepts/services-networking/ingress/#examples
        ("Prefix", "/", "/anything", True),
        ("Exact", "/foo", "/foo", True),
        ("Exact", "/foo", "/bar", False),
        ("Exact", "/foo", "/foo/", False),
        ("Exact", "/foo/", "/foo", False),
        ("Prefix", "/foo", "/foo", True),
        ("Prefix", "/foo", "/foo/", True),
        ("Prefix", "/foo/", "/foo", True),
        ("Prefix", "/foo/", "/foo/", True),
        ("Prefix", "/aaa/bb", "/aaa/bbb", False),
        ("Prefix", "/aaa/bbb", "/aaa/bbb", True),
        ("Prefix", "/aaa/bbb/", "/aaa/bbb", True),
        ("Prefix", "/aaa/bbb", "/aaa/bbb/", True),
        ("Prefix", "/aaa/bbb", "/aaa/bbb/ccc", True),
        ("Prefix", "/aaa/bbb", "/aaa/bbbxyz", False),
        ("ImplementationSpecific", "/aaa", "/aaa/ccc", True),
    ],
)
def test_path_semantics(path_type, rule, request_path, matches):
    assert path_matches(rule, path_type, request_path) is matches


def svc(name, ns="default", ports=(("http", 80),)):
    return {
        "metadata": {"name": name, "namespace": ns},
        "spec": {"ports": [{"name": n, "port": p, "protocol": "TCP"} for n, p in ports]},
    }


def eps(name, ips, port=8080, port_name="http", ns="default"):
    return {
        "metadata": {"name": name, "namespace": ns},
        "subsets": [
            {
                "addresses": [{"ip": ip} for ip in ips],
                "notReadyAddresses": [{"ip": "10.9.9.9"}],
                "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            }
        ],
    }


def path(p, service, path_type="Prefix", port=80):
    return {
        "path": p,
        "pathType": path_type,
        "backend": {"service": {"name": service, "port": {"number": port}}},
    }


def ingress(name, rules, created="2026-01-01T00:00:00Z", **spec):
    return {
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": created},
        "spec": {"rules": rules, **spec},
    }


SERVICES = {f"default/{n}": svc(n) for n in ("api", "web", "exact", "wild", "any", "dflt")}
ENDPOINTS = {
    f"default/{n}": eps(n, [f"10.0.0.{i}"])
    for i, n in enumerate(("api", "web", "exact", "wild", "any", "dflt"), start=1)
}


def table(*ingresses):
    return build_table(ingresses, SERVICES, ENDPOINTS)


def target(t, host, p):
    backend = t.match(host, p)
    return backend.service if backend else None


def test_longest_path_wins_and_exact_beats_prefix():
    t = table(
        ingress(
            "demo",
            [
                {
                    "host": "demo.local",
                    "http": {
                        "paths": [
                            path("/", "web"),
                            path("/api", "api"),
                            path("/api", "exact", "Exact"),
                        ]
                    },
                }
            ],
        )
    )
    assert target(t, "demo.local", "/api") == "exact"
    assert target(t, "demo.local", "/api/v1") == "api"
    assert target(t, "demo.local", "/apiv1") == "web"
    assert target(t, "DEMO.local:8080", "/") == "web"
    assert target(t, "other.local", "/api") is None


def test_exact_host_then_wildcard_then_any_host_then_default_backend():
    t = table(
        ingress("a", [{"host": "a.example.com", "http": {"paths": [path("/x", "exact")]}}]),
        ingress("w", [{"host": "*.example.com", "http": {"paths": [path("/", "wild")]}}]),
        ingress(
            "any",
            [{"http": {"paths": [path("/any", "any")]}}],
            defaultBackend={"service": {"name": "dflt", "port": {"name": "http"}}},
        ),
    )
    assert target(t, "a.example.com", "/x") == "exact"
    assert target(t, "a.example.com", "/y") == "wild"  # falls through to the wildcard
    assert target(t, "b.example.com", "/y") == "wild"
    assert target(t, "b.c.example.com", "/y") == "dflt"  # a wildcard covers one label
    assert target(t, "example.com", "/any") == "any"
    assert target(t, "example.com", "/nothing") == "dflt"


def test_the_oldest_ingress_wins_a_tie():
    young = ingress(
        "young", [{"host": "h", "http": {"paths": [path("/", "api")]}}], "2026-02-01T00:00:00Z"
    )
    old = ingress(
        "old", [{"host": "h", "http": {"paths": [path("/", "web")]}}], "2026-01-01T00:00:00Z"
    )
    assert target(table(young, old), "h", "/") == "web"


def test_backends_resolve_to_ready_endpoints_by_port_name():
    backend = resolve_backend(
        "default", {"service": {"name": "api", "port": {"number": 80}}}, SERVICES, ENDPOINTS
    )
    assert backend is not None and backend.endpoints == (("10.0.0.1", 8080),)
    missing = resolve_backend(
        "default", {"service": {"name": "nope", "port": {"number": 80}}}, SERVICES, ENDPOINTS
    )
    assert missing is not None and missing.endpoints == ()
    wrong_port = resolve_backend(
        "default", {"service": {"name": "api", "port": {"number": 81}}}, SERVICES, ENDPOINTS
    )
    assert wrong_port is not None and wrong_port.endpoints == ()
    assert (
        resolve_backend("default", {"resource": {"kind": "B", "name": "b"}}, SERVICES, ENDPOINTS)
        is None
    )


def test_host_normalisation():
    assert normalize_host("Demo.Local:8080") == "demo.local"
    assert normalize_host("demo.local.") == "demo.local"
    assert normalize_host("[::1]:80") == "[::1]"


def test_which_ingresses_a_class_serves():
    named = {"spec": {"ingressClassName": "minik"}}
    annotated = {"metadata": {"annotations": {"kubernetes.io/ingress.class": "minik"}}, "spec": {}}
    other = {"spec": {"ingressClassName": "nginx"}}
    unnamed = {"spec": {}}
    assert serves(named, "minik", False) and serves(annotated, "minik", False)
    assert not serves(other, "minik", True)
    assert serves(unnamed, "minik", True) and not serves(unnamed, "minik", False)
