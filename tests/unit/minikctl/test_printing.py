"""minikctl's output: tables laid out as kubectl's, YAML, quantities."""

from __future__ import annotations

from minikctl.printing import StreamingTable, TableOptions, TableView, render_rows, to_yaml

TABLE = {
    "kind": "Table",
    "apiVersion": "meta.k8s.io/v1",
    "columnDefinitions": [
        {"name": "Name", "type": "string", "format": "name", "priority": 0},
        {"name": "Ready", "type": "string", "priority": 0},
        {"name": "Status", "type": "string", "priority": 0},
        {"name": "Restarts", "type": "string", "priority": 0},
        {"name": "Age", "type": "string", "priority": 0},
        {"name": "IP", "type": "string", "priority": 1},
        {"name": "Nominated Node", "type": "string", "priority": 1},
    ],
    "rows": [
        {
            "cells": ["web-1", "1/1", "Running", 0, "5m", "10.0.0.5", None],
            "object": {
                "metadata": {
                    "name": "web-1",
                    "namespace": "default",
                    "labels": {"b": "2", "a": "1"},
                }
            },
        },
        {
            "cells": ["db", "0/1", "Pending", 12, "3h", "<none>", None],
            "object": {"metadata": {"name": "db", "namespace": "kube-system"}},
        },
    ],
}


def test_get_table_matches_kubectl_layout():
    view = TableView(TableOptions())
    rows = view.rows(TABLE)  # learns the columns
    text = render_rows([view.header(), *rows])
    assert text.splitlines() == [
        "NAME    READY   STATUS    RESTARTS   AGE",
        "web-1   1/1     Running   0          5m",
        "db      0/1     Pending   12         3h",
    ]


def test_wide_namespace_labels_and_kind_prefix():
    view = TableView(
        TableOptions(wide=True, with_namespace=True, show_labels=True, kind_prefix="pod")
    )
    rows = view.rows(TABLE)
    assert view.header() == [
        "NAMESPACE",
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NOMINATED NODE",
        "LABELS",
    ]
    assert rows[0] == [
        "default",
        "pod/web-1",
        "1/1",
        "Running",
        "0",
        "5m",
        "10.0.0.5",
        "<none>",
        "a=1,b=2",
    ]
    assert rows[1][-1] == "<none>"


def test_plain_list_falls_back_to_name_and_age():
    view = TableView(TableOptions())
    rows = view.rows(
        {
            "kind": "PodList",
            "items": [{"metadata": {"name": "x", "creationTimestamp": "2000-01-01T00:00:00Z"}}],
        }
    )
    assert view.header() == ["NAME", "AGE"]
    assert rows[0][0] == "x" and rows[0][1].endswith("y")


def test_streaming_table_keeps_columns_aligned(capsys):
    import sys

    printer = StreamingTable(sys.stdout)
    printer.write([["NAME", "STATUS", "AGE"], ["a", "Pending", "0s"]])
    printer.write([["a", "Running", "1s"]])
    assert capsys.readouterr().out.splitlines() == [
        "NAME   STATUS    AGE",
        "a      Pending   0s",
        "a      Running   1s",
    ]


def test_yaml_output_is_sorted_block_style_with_literal_multiline():
    text = to_yaml({"b": [1, {"y": 2, "x": "a\nb\n"}], "a": "x"})
    assert text == "a: x\nb:\n- 1\n- x: |\n    a\n    b\n  y: 2\n"


def test_quantities_print_like_kubernetes():
    from decimal import Decimal

    from minikctl.describe.resources import Amount, format_quantity, pod_totals, share

    assert [format_quantity(Decimal(v)) for v in ("0", "0.1", "1.5", "2", "1000", "1500")] == [
        "0",
        "100m",
        "1500m",
        "2",
        "1k",
        "1500",
    ]
    assert format_quantity(Decimal(2**20 * 64), binary=True) == "64Mi"
    # Quantity.String(): a BinarySI value below 1024 prints as DecimalSI.
    assert format_quantity(Decimal(1000), binary=True) == "1k"
    assert format_quantity(Decimal(1536), binary=True) == "1536"
    pod = {
        "spec": {
            "containers": [
                {
                    "resources": {
                        "requests": {"cpu": "0.5", "memory": "100Mi"},
                        "limits": {"cpu": 1},
                    }
                },
                {"resources": {"requests": {"cpu": "250m", "memory": "28Mi"}}},
            ],
            "initContainers": [{"resources": {"requests": {"cpu": "2"}}}],
        }
    }
    requests, limits = pod_totals(pod)
    assert (str(requests["cpu"]), str(requests["memory"]), str(limits["cpu"])) == (
        "2",
        "128Mi",
        "1",
    )
    assert share(requests["memory"], "8Gi") == "128Mi (1%)"
    assert share(Amount(), None) == "0 (0%)"
