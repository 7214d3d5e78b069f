"""Reading `-f` arguments: files, directories (`-R` to recurse), `-`, multi-document
YAML, JSON, and `List` kinds — with errors that name the file and line."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from minikctl.context import CLIError

EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass
class Manifest:
    obj: dict[str, Any]
    source: str  # the file name, or "STDIN"


class _Loader(yaml.SafeLoader):
    """YAML as Kubernetes reads it: timestamps stay strings (they are JSON strings)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(paths: list[str], recursive: bool = False) -> list[Manifest]:
    out: list[Manifest] = []
    for path in paths:
        for source, text in _read(path, recursive):
            out.extend(parse(text, source))
    return out


def parse(text: str, source: str) -> list[Manifest]:
    """Every object in one file's text, `List`s flattened, each checked for kind."""
    docs: list[Any]
    if text.lstrip().startswith(("{", "[")):
        try:
            docs = [json.loads(text)]
        except json.JSONDecodeError as err:
            raise CLIError(f"error parsing {source}: line {err.lineno}: {err.msg}") from None
    else:
        try:
            docs = list(yaml.load_all(text, Loader=_Loader))
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = f"line {mark.line + 1}: " if mark else ""
            problem = err.problem or err.context or "invalid YAML"
            raise CLIError(f"error parsing {source}: yaml: {line}{problem}") from None
        except yaml.YAMLError as err:
            raise CLIError(f"error parsing {source}: yaml: {err}") from None
    out: list[Manifest] = []
    for doc in docs:
        for obj in _flatten(doc):
            _check(obj, source)
            out.append(Manifest(obj, source))
    return out


def _flatten(doc: Any) -> list[Any]:
    if doc is None:
        return []
    if isinstance(doc, list):
        return [o for d in doc for o in _flatten(d)]
    if (
        isinstance(doc, dict)
        and str(doc.get("kind", "")).endswith("List")
        and isinstance(doc.get("items"), list)
    ):
        return [o for d in doc["items"] for o in _flatten(d)]
    return [doc]


def _check(obj: Any, source: str) -> None:
    if not isinstance(obj, dict):
        raise CLIError(
            f'error validating "{source}": error validating data: '
            f"expected an object, got {type(obj).__name__}"
        )
    missing = [f"{key} not set" for key in ("apiVersion", "kind") if not obj.get(key)]
    if missing:
        raise CLIError(
            f'error validating "{source}": error validating data: [{", ".join(missing)}]'
            if len(missing) > 1
            else f'error validating "{source}": error validating data: {missing[0]}'
        )


def _read(path: str, recursive: bool) -> list[tuple[str, str]]:
    if path == "-":
        return [("STDIN", sys.stdin.read())]
    p = Path(path)
    if p.is_dir():
        pattern = "**/*" if recursive else "*"
        files = sorted(f for f in p.glob(pattern) if f.is_file() and f.suffix in EXTENSIONS)
        return [(str(f), _text(f)) for f in files]
    if not p.exists():
        raise CLIError(f'the path "{path}" does not exist')
    return [(path, _text(p))]


def _text(p: Path) -> str:
    try:
        return p.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise CLIError(f"error reading {p}: {err}") from None
