"""`--sort-by` on lists and tables."""

from __future__ import annotations

import pytest

from minikctl.context import CLIError
from minikctl.sortby import sort_objects, sort_table


def test_sort_by():
    objs = [
        {
            "metadata": {"uid": "1", "name": "b"},
            "lastTimestamp": "2024-01-02T00:00:00Z",
            "count": 10,
        },
        {
            "metadata": {"uid": "2", "name": "a"},
            "lastTimestamp": "2024-01-01T00:00:00Z",
            "count": 9,
        },
        {"metadata": {"uid": "3", "name": "c"}, "count": 1},
    ]
    names = [o["metadata"]["name"] for o in sort_objects(objs, ".lastTimestamp")]
    assert names == ["c", "a", "b"]  # missing first
    assert [o["metadata"]["name"] for o in sort_objects(objs, "{.count}")] == ["c", "a", "b"]
    table = {
        "kind": "Table",
        "rows": [
            {
                "cells": [o["metadata"]["name"]],
                "object": {"metadata": {"uid": o["metadata"]["uid"]}},
            }
            for o in objs
        ],
    }
    assert [r["cells"][0] for r in sort_table(table, objs, ".metadata.name")["rows"]] == [
        "a",
        "b",
        "c",
    ]
    with pytest.raises(CLIError):
        sort_objects(objs, ".bad[")
