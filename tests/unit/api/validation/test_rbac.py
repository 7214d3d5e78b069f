"""rbac.authorization.k8s.io/v1 validation messages, as Kubernetes words them."""

from __future__ import annotations

from api.defaults import apply_defaults
from api.validation import validate

REF = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}


def messages(kind: str, obj: dict, old: dict | None = None) -> list[str]:
    apply_defaults(kind, obj)
    return [f"{c['field']}: {c['message']}" for c in validate(kind, obj, old)]


def test_role_rules():
    assert messages("Role", {"metadata": {"name": "system:r", "namespace": "n"}, "rules": [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
    ]}) == []  # fmt: skip
    assert messages(
        "Role",
        {
            "metadata": {"name": "r", "namespace": "n"},
            "rules": [
                {"verbs": [], "resources": ["pods"]},
                {"verbs": ["get"], "nonResourceURLs": ["/healthz"]},
            ],
        },
    ) == [
        "rules[0].verbs: Required value: verbs must contain at least one value",
        "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
        'rules[1].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules '
        "cannot apply to non-resource URLs",
    ]
    assert messages(
        "ClusterRole",
        {
            "metadata": {"name": "a/b"},
            "rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"], "resources": ["pods"]}],
        },
    ) == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'",
        'rules[0].nonResourceURLs: Invalid value: []string{"/x"}: rules cannot apply to both '
        "regular resources and non-resource URLs",
    ]


def test_bindings():
    ok = {"metadata": {"name": "b"}, "roleRef": dict(REF), "subjects": [
        {"kind": "User", "name": "jane"},
        {"kind": "ServiceAccount", "name": "robot", "namespace": "n"},
    ]}  # fmt: skip
    assert messages("ClusterRoleBinding", ok) == []
    assert ok["subjects"][0]["apiGroup"] == "rbac.authorization.k8s.io"  # defaulted
    bad = {"metadata": {"name": "b"}, "roleRef": {**REF, "kind": "Role"}, "subjects": [
        {"kind": "ServiceAccount", "name": "robot"}, {"kind": "Robot", "name": "x"}
    ]}  # fmt: skip
    assert messages("ClusterRoleBinding", bad) == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[0].namespace: Required value",
        'subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", '
        '"User", "Group"',
    ]
    old = {"metadata": {"name": "b", "namespace": "n", "resourceVersion": "1"},
           "roleRef": dict(REF), "subjects": []}  # fmt: skip
    new = {**old, "roleRef": {**REF, "name": "edit"}}
    assert any(m.startswith("roleRef: Invalid value") and m.endswith("cannot change roleRef")
               for m in messages("RoleBinding", new, old))  # fmt: skip
