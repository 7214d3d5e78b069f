"""Objects for the api.validation tests: defaulted pods, workloads and services, and
readers of the causes."""

from api.defaults import apply_defaults

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
    "[a-z0-9])?)*')"
)


def defaulted(kind, obj):
    apply_defaults(kind, obj)
    return obj


def make_pod(**spec):
    return defaulted(
        "Pod",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}
                ],
                **spec,
            },
        },
    )


def make_deployment(kind="Deployment", **spec):
    return defaulted(
        kind,
        {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                },
                **spec,
            },
        },
    )


def make_service(**spec):
    body = {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}
    return defaulted("Service", {"metadata": {"name": "web", "namespace": "default"}, "spec": body})


def only(causes, field):
    hits = [c for c in causes if c["field"] == field]
    assert len(hits) == 1, (field, causes)
    return hits[0]


def fields(causes):
    return [c["field"] for c in causes]
