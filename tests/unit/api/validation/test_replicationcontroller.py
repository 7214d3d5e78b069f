"""core/v1 ReplicationControllers (api.validation.replicationcontroller) and their
defaults."""

from api.validation import validate
from tests.unit.api.validation.objects import defaulted, fields, only


def make_rc(labels=None, **spec):
    template = {
        "metadata": {"labels": labels if labels is not None else {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
    }
    body = {"template": template, **spec}
    return defaulted(
        "ReplicationController",
        {"apiVersion": "v1", "metadata": {"name": "web", "namespace": "d"}, "spec": body},
    )


def test_selector_labels_and_replicas_default_from_the_template():
    rc = make_rc()
    assert rc["spec"]["selector"] == {"app": "web"}
    assert rc["metadata"]["labels"] == {"app": "web"}
    assert rc["spec"]["replicas"] == 1
    assert rc["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert validate("ReplicationController", rc) == []
    own = make_rc(selector={"app": "web"}, replicas=0)
    own["metadata"]["labels"] = {"team": "a"}
    again = defaulted("ReplicationController", own)
    assert again["metadata"]["labels"] == {"team": "a"}
    assert again["spec"]["replicas"] == 0


def test_selector_must_match_and_not_be_empty():
    rc = make_rc(selector={"app": "other"})
    cause = only(validate("ReplicationController", rc), "spec.template.metadata.labels")
    assert cause["message"] == (
        'Invalid value: map[string]string{"app":"web"}: '
        "selector does not match labels in spec.template"
    )
    empty = make_rc(labels={})
    assert "spec.selector" in fields(validate("ReplicationController", empty))


def test_template_rules():
    rc = make_rc(replicas=-1, minReadySeconds=-1)
    rc["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    rc["spec"]["template"]["spec"]["activeDeadlineSeconds"] = 5
    assert sorted(fields(validate("ReplicationController", rc))) == [
        "spec.minReadySeconds",
        "spec.replicas",
        "spec.template.spec.activeDeadlineSeconds",
        "spec.template.spec.restartPolicy",
    ]
    missing = {"apiVersion": "v1", "metadata": {"name": "x"}, "spec": {"selector": {"a": "b"}}}
    assert "spec.template" in fields(validate("ReplicationController", missing))


def test_selector_may_change():
    old = make_rc()
    new = make_rc(selector={"app": "web"})
    new["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    new["spec"]["selector"] = {"app": "web", "v": "2"}
    assert validate("ReplicationController", new, old) == []
