"""Reading manifests: YAML and JSON, many documents, directories, errors that name the file."""

from __future__ import annotations

import pytest

from minikctl.context import CLIError
from minikctl.manifests import load, parse


def test_parse_multi_document_yaml_lists_and_timestamps():
    text = """
apiVersion: v1
kind: Namespace
metadata: {name: a, annotations: {when: 2024-01-02T03:04:05Z}}
---
# a comment-only document is skipped
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: p1}}
- {apiVersion: v1, kind: Pod, metadata: {name: p2}}
"""
    objs = [m.obj for m in parse(text, "f.yaml")]
    assert [o["metadata"]["name"] for o in objs] == ["a", "p1", "p2"]
    assert objs[0]["metadata"]["annotations"]["when"] == "2024-01-02T03:04:05Z"


def test_parse_json():
    objs = parse('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}}', "p.json")
    assert objs[0].obj["metadata"]["name"] == "j"
    with pytest.raises(CLIError, match=r"error parsing p.json: line 2"):
        parse('{"apiVersion": "v1",\n "kind": }', "p.json")


def test_bad_yaml_names_file_and_line():
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: indent\n"
    with pytest.raises(CLIError, match=r"error parsing bad.yaml: yaml: line 5: "):
        parse(text, "bad.yaml")


def test_missing_kind_is_reported():
    with pytest.raises(CLIError, match=r'error validating "x.yaml".*kind not set'):
        parse("apiVersion: v1\nmetadata: {name: x}\n", "x.yaml")
    with pytest.raises(CLIError, match=r"\[apiVersion not set, kind not set\]"):
        parse("metadata: {name: x}\n", "x.yaml")


def test_directories_and_recursion(tmp_path):
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    (tmp_path / "notes.txt").write_text("ignored")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "b.json").write_text('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}')
    names = [m.obj["metadata"]["name"] for m in load([str(tmp_path)])]
    assert names == ["a"]
    names = [m.obj["metadata"]["name"] for m in load([str(tmp_path)], recursive=True)]
    assert names == ["a", "b"]
    with pytest.raises(CLIError, match="does not exist"):
        load([str(tmp_path / "missing.yaml")])
