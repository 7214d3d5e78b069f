"""The apiserver compacts etcd's history every --etcd-compaction-interval, one interval
behind, as kube-apiserver does: a watch from before the last turn's revision gets 410
Expired, a recent one still resumes. A cluster of its own (it compacts its etcd)."""

from __future__ import annotations

import json

import httpx

from deploy.controlplane import make_workdir, remove_workdir, start_apiserver, start_etcd
from tests.support.wait import eventually

PATH = "/api/v1/namespaces/default/configmaps"


def first_watch_event(http: httpx.Client, rv: str) -> dict:
    params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "2"}
    with http.stream("GET", PATH, params=params) as r:
        for line in r.iter_lines():
            if line.strip():
                return json.loads(line)
    return {}


def test_history_is_compacted_one_interval_behind() -> None:
    workdir = make_workdir("minik-compaction-")
    etcd = start_etcd(workdir)
    apiserver = start_apiserver(etcd, workdir / "apiserver", ["--etcd-compaction-interval=1s"])
    try:
        with apiserver.http() as http:
            old = http.post(PATH, json={"metadata": {"name": "a"}}).json()
            old_rv = old["metadata"]["resourceVersion"]

            def compacted() -> bool:
                http.post(PATH, json={"metadata": {"generateName": "churn-"}})
                apiserver.restart()  # a fresh watch cache: history is read from etcd
                return first_watch_event(http, old_rv).get("type") == "ERROR"

            eventually(compacted, timeout=30, interval=1.0, message="the old revision compacted")
            event = first_watch_event(http, old_rv)
            assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
            recent = http.post(PATH, json={"metadata": {"name": "b"}}).json()
            resumed = first_watch_event(http, str(int(recent["metadata"]["resourceVersion"]) - 1))
            assert resumed["type"] == "ADDED" and resumed["object"]["metadata"]["name"] == "b"
    finally:
        apiserver.stop()
        etcd.stop()
        remove_workdir(workdir)
