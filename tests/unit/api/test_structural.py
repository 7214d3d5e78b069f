"""Structural schemas applied to custom objects: pruning, defaulting, validation with
Kubernetes' field paths and wording, and the structural checks a CRD's schema passes."""

from __future__ import annotations

from api import structural

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["image"],
            "properties": {
                "image": {"type": "string", "minLength": 1, "maxLength": 20},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 5, "default": 1},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "name": {"type": "string", "pattern": "^[a-z]+$"},
                "port": {"x-kubernetes-int-or-string": True},
                "when": {"type": "string", "format": "date-time"},
                "note": {"type": "string", "nullable": True},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "tags": {
                    "type": "array",
                    "maxItems": 3,
                    "items": {"type": "string"},
                    "x-kubernetes-list-type": "set",
                },
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["port"],
                    "items": {
                        "type": "object",
                        "properties": {
                            "port": {"type": "integer"},
                            "protocol": {"type": "string", "default": "TCP"},
                        },
                    },
                },
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
            },
        }
    },
}


def obj(**spec) -> dict:
    return {"apiVersion": "x.io/v1", "kind": "W", "metadata": {"name": "w"}, "spec": spec}


def causes_by_field(o: dict) -> dict[str, str]:
    return {c["field"]: c["message"] for c in structural.validate(SCHEMA, o)}


def test_prune_drops_unknown_fields_and_reports_their_paths():
    o = obj(image="x", bogus=1, free={"any": {"thing": 1}}, ports=[{"port": 1, "nope": 2}])
    o["top"] = 1
    unknown = structural.prune(SCHEMA, o)
    assert unknown == ["spec.bogus", "spec.ports[0].nope", "top"]
    assert o["spec"] == {"image": "x", "free": {"any": {"thing": 1}}, "ports": [{"port": 1}]}
    assert o["metadata"] == {"name": "w"} and o["kind"] == "W"


def test_prune_drops_nulls_unless_nullable():
    o = obj(image="x", mode=None, note=None)
    assert structural.prune(SCHEMA, o) == []
    assert o["spec"] == {"image": "x", "note": None}


def test_defaults_fill_absent_fields_recursively():
    o = obj(image="x", ports=[{"port": 80}])
    structural.default(SCHEMA, o)
    assert o["spec"]["replicas"] == 1
    assert o["spec"]["ports"] == [{"port": 80, "protocol": "TCP"}]
    kept = obj(image="x", replicas=3)
    structural.default(SCHEMA, kept)
    assert kept["spec"]["replicas"] == 3


def test_valid_object_has_no_causes():
    o = obj(
        image="x",
        replicas=2,
        mode="a",
        name="abc",
        port="http",
        when="2024-01-02T03:04:05Z",
        labels={"a": "b"},
        tags=["a", "b"],
        template={"apiVersion": "v1", "kind": "Pod", "metadata": {}},
    )
    assert structural.validate(SCHEMA, o) == []
    assert structural.validate(SCHEMA, obj(image="x", port=8080)) == []


def test_validation_wording_as_kubernetes():
    causes = causes_by_field(obj(replicas=7, mode="c", name="A1", image=""))
    assert (
        causes["spec.image"]
        == 'Invalid value: "": spec.image in body should be at least 1 chars long'
    )
    assert causes["spec.replicas"] == (
        "Invalid value: 7: spec.replicas in body should be less than or equal to 5"
    )
    assert causes["spec.mode"] == 'Unsupported value: "c": supported values: "a", "b"'
    assert causes["spec.name"] == "Invalid value: \"A1\": spec.name in body should match '^[a-z]+$'"
    assert causes_by_field(obj())["spec.image"] == "Required value"
    typed = causes_by_field(obj(image=1))
    assert (
        typed["spec.image"]
        == 'Invalid value: "integer": spec.image in body must be of type string: "integer"'
    )


def test_lengths_lists_formats_and_embedded_resources():
    causes = causes_by_field(
        obj(
            image="x" * 21,
            tags=["a", "a", "b", "c"],
            ports=[{"port": 1}, {"port": 1}],
            port=[1],
            when="yesterday",
            labels={"a": 1},
            template={"metadata": {}},
        )
    )
    assert causes["spec.image"] == "Too long: may not be more than 20 bytes"
    assert causes["spec.tags"] == "Too many: 4: must have at most 3 items"
    assert causes["spec.tags[1]"] == 'Duplicate value: "a"'
    assert causes["spec.ports[1]"].startswith("Duplicate value:")
    assert "must be of type integer or string" in causes["spec.port"]
    assert "must be of type date-time" in causes["spec.when"]
    assert "must be of type string" in causes["spec.labels.a"]
    assert causes["spec.template.apiVersion"] == "Required value: must not be empty"
    assert causes["spec.template.kind"] == "Required value: must not be empty"


def test_structural_errors():
    assert structural.structural_errors(SCHEMA, "s") == []
    bad = {
        "type": "object",
        "properties": {
            "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}},
            "spec": {"properties": {"a": {"type": "array"}}},
            "b": {"type": "string", "x-kubernetes-int-or-string": True},
            "c": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "d": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "map"},
            "e": {"type": "thing"},
        },
    }
    fields = {c["field"] for c in structural.structural_errors(bad, "s")}
    assert fields == {
        "s.properties[metadata].properties[labels]",
        "s.properties[spec].type",
        "s.properties[spec].properties[a].items",
        "s.properties[b].type",
        "s.properties[c].uniqueItems",
        "s.properties[d].x-kubernetes-list-map-keys",
        "s.properties[e].type",
    }
    root = structural.structural_errors({"properties": {}}, "s")
    assert root[0]["message"] == "Required value: must not be empty at the root"


CEL_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.min <= self.max", "message": "min must not exceed max"},
                {"rule": "self.max <= oldSelf.max", "fieldPath": ".max"},
            ],
            "properties": {
                "min": {"type": "integer"},
                "max": {"type": "integer"},
                "name": {
                    "type": "string",
                    "x-kubernetes-validations": [{"rule": "self.startsWith('w-')"}],
                },
            },
        }
    },
}


def test_cel_rules():
    ok = obj(min=1, max=2, name="w-a")
    assert structural.validate(CEL_SCHEMA, ok) == []
    causes = {
        c["field"]: c["message"]
        for c in structural.validate(CEL_SCHEMA, obj(min=3, max=2, name="x"))
    }
    assert causes == {
        "spec": 'Invalid value: "object": min must not exceed max',
        "spec.name": "Invalid value: \"string\": failed rule: self.startsWith('w-')",
    }
    # the transition rule runs on updates only
    grown = structural.validate(CEL_SCHEMA, obj(min=1, max=5, name="w-a"), ok)
    assert grown == [
        {
            "field": "spec.max",
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "object": failed rule: self.max <= oldSelf.max',
        }
    ]


def test_cel_rules_must_compile():
    bad = {"type": "object", "x-kubernetes-validations": [{"rule": "self.a <"}, {"message": "m"}]}
    causes = structural.structural_errors(bad, "s")
    assert [c["field"] for c in causes] == [
        "s.x-kubernetes-validations[0].rule",
        "s.x-kubernetes-validations[1].rule",
    ]
    assert "compilation failed" in causes[0]["message"]
