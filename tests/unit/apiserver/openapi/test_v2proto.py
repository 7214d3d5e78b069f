"""The Swagger 2.0 document as the gnostic protobuf kubectl 1.27 asks for."""

from __future__ import annotations

import json

from apiserver.openapi import v2proto
from apiserver.protobuf import iter_fields

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"


def message(buf: bytes) -> dict[int, list]:
    out: dict[int, list] = {}
    for field, _, value in iter_fields(buf):
        out.setdefault(field, []).append(value)
    return out


def test_v2_protobuf_is_what_kubectl_127_looks_for():
    """Walk the gnostic Document the way kubectl's QueryParamVerifier does."""
    doc = message(v2proto.v2_protobuf())
    assert doc[1] == [b"2.0"]
    found = False
    for named_path in message(doc[8][0])[2]:  # Paths.path: NamedPathItem
        path_item = message(message(named_path)[2][0])
        if 8 not in path_item:  # PathItem.patch
            continue
        op = message(path_item[8][0])
        gvks = []
        for ext in op.get(13, []):  # Operation.vendor_extension: NamedAny
            named = message(ext)
            if named[1] == [b"x-kubernetes-group-version-kind"]:
                gvks.append(json.loads(message(named[2][0])[2][0]))
        if {"group": "apps", "version": "v1", "kind": "Deployment"} not in gvks:
            continue
        names = []
        for item in op[8]:  # ParametersItem -> Parameter -> NonBodyParameter -> query
            parameter = message(message(item)[1][0])
            if 2 in parameter:
                query = message(parameter[2][0]).get(3)
                if query:
                    names.extend(message(query[0])[4])
        assert b"fieldValidation" in names
        found = True
        break
    assert found
    definitions = {
        message(d)[1][0].decode(): message(message(d)[2][0]) for d in message(doc[9][0])[1]
    }
    deployment = definitions[DEPLOYMENT]
    assert message(deployment[22][0])[1] == [b"object"]  # Schema.type
    props = {message(p)[1][0].decode() for p in message(deployment[25][0])[1]}
    assert {"apiVersion", "kind", "metadata", "spec", "status"} <= props
    ext = message(deployment[31][0])
    assert json.loads(message(ext[2][0])[2][0]) == [
        {"group": "apps", "version": "v1", "kind": "Deployment"}
    ]
