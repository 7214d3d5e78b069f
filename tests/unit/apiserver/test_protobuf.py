"""Protobuf request bodies (kubectl create with protobuf)."""

from __future__ import annotations

import base64

from apiserver import protobuf


def test_protobuf_secret_bytes_become_base64():
    entry = protobuf.Writer().string(1, "k").bytes(2, b"\x00\xff")
    meta = protobuf.Writer().string(1, "s")
    raw = protobuf.Writer().message(1, meta).message(2, entry).string(3, "Opaque")
    type_meta = protobuf.Writer().string(1, "v1").string(2, "Secret")
    body = protobuf.MAGIC + bytes(protobuf.Writer().message(1, type_meta).message(2, raw))
    obj = protobuf.decode_k8s_protobuf(body)
    assert obj["data"] == {"k": base64.b64encode(b"\x00\xff").decode()}
    assert obj["type"] == "Opaque" and obj["metadata"]["name"] == "s"
