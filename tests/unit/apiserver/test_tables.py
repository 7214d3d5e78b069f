"""Table columns and cells (kubectl get)."""

from __future__ import annotations

from api.defaults import apply_defaults
from apiserver import tables


def cm(**fields):
    return {"metadata": {"name": "cfg", "namespace": "ns"}, **fields}


def secret(**fields):
    obj = {"metadata": {"name": "s", "namespace": "ns"}, **fields}
    apply_defaults("Secret", obj)
    return obj


def test_tables():
    now = 1_000_000.0
    row = tables.CELLS["ConfigMap"](cm(data={"a": "1"}, binaryData={"b": ""}), now)
    assert row[:2] == ["cfg", 2]
    srow = tables.CELLS["Secret"](secret(data={"a": ""}), now)
    assert srow[:3] == ["s", "Opaque", 1]
    assert [c["name"] for c in tables.COLUMNS["Secret"]] == ["Name", "Type", "Data", "Age"]
