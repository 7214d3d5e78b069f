"""kubectl's generic description, for kinds without a describer of their own."""

from __future__ import annotations

from minikctl.context import Context
from minikctl.describe.writer import Obj, Writer, annotation_lines, labels_lines, title_case


def describe_generic(ctx: Context, w: Writer, obj: Obj) -> None:
    """kubectl's generic describer: title-cased field names, nested by indentation."""
    meta = obj.get("metadata") or {}
    w.field(0, "Name", meta.get("name", ""))
    if meta.get("namespace"):
        w.field(0, "Namespace", meta["namespace"])
    w.multiline(0, "Labels", labels_lines(meta.get("labels")))
    w.multiline(0, "Annotations", annotation_lines(meta.get("annotations")))
    w.field(0, "API Version", obj.get("apiVersion", ""))
    w.field(0, "Kind", obj.get("kind", ""))
    rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    rest["metadata"] = {
        k: v
        for k, v in meta.items()
        if k not in ("name", "namespace", "labels", "annotations", "managedFields")
    }
    _dump(w, rest, 0)


def _dump(w: Writer, value: Obj, level: int) -> None:
    for key in sorted(value):
        item = value[key]
        if isinstance(item, dict):
            if item:
                w.line(level, f"{title_case(key)}:")
                _dump(w, item, level + 1)
        elif isinstance(item, list):
            w.line(level, f"{title_case(key)}:")
            for elem in item:
                if isinstance(elem, dict):
                    _dump(w, elem, level + 1)
                else:
                    w.line(level + 1, str(elem))
        else:
            w.field(level, title_case(key), item)
