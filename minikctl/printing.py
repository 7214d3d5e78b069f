"""Rendering the server's Tables and objects the way kubectl prints them.

Columns and cells come from the server (`meta.k8s.io/v1` Table, asked for with
kubectl's Accept header), so minikctl and kubectl show the same thing; this module
only lays them out: upper-cased headers, priority-1 columns for `-o wide`, a
NAMESPACE column for `-A`, LABELS for `--show-labels`, `kind/name` when several
kinds are printed, aligned by Go's tabwriter rule (padding 3, min width 6).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import yaml

from api.humanize import age, format_labels
from minikctl.tabwriter import tabwrite

Obj = dict[str, Any]

GET_MINWIDTH, GET_PADDING = 6, 3


@dataclass
class TableOptions:
    wide: bool = False
    with_namespace: bool = False
    show_labels: bool = False
    kind_prefix: str | None = None  # "deployment.apps" → NAME cells print as kind/name


@dataclass
class TableView:
    """Server Table (or plain objects) → header + rows of strings."""

    options: TableOptions
    columns: list[Obj] = field(default_factory=list)

    def header(self) -> list[str]:
        """Column titles (call after `rows`, which learns the columns)."""
        names = [c.get("name", "").upper() for c in self._visible()]
        if self.options.with_namespace:
            names.insert(0, "NAMESPACE")
        if self.options.show_labels:
            names.append("LABELS")
        return names

    def rows(self, table: Obj) -> list[list[str]]:
        if table.get("kind") != "Table":
            return [self._plain_row(obj) for obj in _items(table)]
        self.columns = table.get("columnDefinitions") or self.columns
        visible = [i for i, c in enumerate(self.columns) if self._shows(c)]
        out = []
        for row in table.get("rows") or []:
            cells = row.get("cells") or []
            meta = (row.get("object") or {}).get("metadata") or {}
            line = [
                self._cell(cells[i] if i < len(cells) else None, self.columns[i]) for i in visible
            ]
            if self.options.with_namespace:
                line.insert(0, meta.get("namespace", ""))
            if self.options.show_labels:
                line.append(format_labels(meta.get("labels")))
            out.append(line)
        return out

    def _visible(self) -> list[Obj]:
        return [c for c in self.columns or PLAIN_COLUMNS if self._shows(c)]

    def _shows(self, column: Obj) -> bool:
        return self.options.wide or not column.get("priority")

    def _cell(self, value: Any, column: Obj) -> str:
        text = format_cell(value)
        if self.options.kind_prefix and column.get("format") == "name":
            text = f"{self.options.kind_prefix}/{text}"
        return text

    def _plain_row(self, obj: Obj) -> list[str]:
        """A server without Tables: NAME and AGE, as kubectl prints a plain list."""
        self.columns = PLAIN_COLUMNS
        meta = obj.get("metadata") or {}
        line = [
            self._cell(meta.get("name", ""), PLAIN_COLUMNS[0]),
            age(meta.get("creationTimestamp"), time.time()),
        ]
        if self.options.with_namespace:
            line.insert(0, meta.get("namespace", ""))
        if self.options.show_labels:
            line.append(format_labels(meta.get("labels")))
        return line


PLAIN_COLUMNS: list[Obj] = [
    {"name": "Name", "type": "string", "format": "name", "priority": 0},
    {"name": "Age", "type": "string", "priority": 0},
]


def format_cell(value: Any) -> str:
    if value is None:
        return "<none>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def render_rows(rows: list[list[str]]) -> str:
    """Rows (header first) aligned as kubectl's get printer aligns them."""
    text = "\n".join("\t".join(r) for r in rows)
    return tabwrite(text, GET_MINWIDTH, GET_PADDING)


class StreamingTable:
    """`get -w`: rows printed as they come, keeping the widths seen so far
    (tabwriter's RememberWidths), so later rows line up with the first table."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.widths: list[int] = []

    def write(self, rows: list[list[str]]) -> None:
        for row in rows:
            for i, cell in enumerate(row[:-1]):
                width = max(GET_MINWIDTH, len(cell) + GET_PADDING)
                if i >= len(self.widths):
                    self.widths.append(width)
                else:
                    self.widths[i] = max(self.widths[i], width)
        for row in rows:
            parts = [c.ljust(self.widths[i]) for i, c in enumerate(row[:-1])]
            self.out.write("".join(parts) + (row[-1] if row else "") + "\n")
        self.out.flush()


def _items(listing: Obj) -> list[Obj]:
    if "items" in listing:
        return list(listing.get("items") or [])
    return [listing] if listing.get("metadata") else []


def as_list(items: list[Obj]) -> Obj:
    """kubectl's wrapper for several objects in -o yaml/json."""
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def dump(obj: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(obj, indent=4, ensure_ascii=False, sort_keys=True) + "\n"
    return to_yaml(obj)


class _Dumper(yaml.SafeDumper):
    """Block-style YAML like kubectl's (go-yaml): lists not indented under their key,
    strings that need quoting double-quoted (`resourceVersion: "10"`)."""

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not value.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(
        obj,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=True,
        allow_unicode=True,
        width=float("inf"),
    )
