"""An etcd outage, seen from the apiserver: /livez stays 200 (nothing to restart),
/readyz says etcd failed, and writes work again within seconds of etcd's return (gRPC's
reconnect back-off is capped). A cluster of its own: its etcd is stopped."""

from __future__ import annotations

import os
import time
from pathlib import Path

from deploy import processes
from deploy.controlplane import Etcd, make_workdir, remove_workdir, start_apiserver
from tests.support.wait import eventually

# Long outages are where an uncapped back-off hurts (30 s: the first write came 17.6 s
# after etcd's return); MINIK_OUTAGE_SECONDS=30 measures that by hand.
OUTAGE_SECONDS = float(os.environ.get("MINIK_OUTAGE_SECONDS", "5"))


def start_etcd_at(workdir: Path, client_port: int, peer_port: int) -> processes.Process:
    return processes.start_etcd(workdir / "etcd", client_port, peer_port, workdir / "etcd.log")


def test_livez_survives_an_etcd_outage_and_writes_resume_quickly() -> None:
    workdir = make_workdir("minik-outage-")
    client_port, peer_port = processes.free_port(), processes.free_port()
    proc = start_etcd_at(workdir, client_port, peer_port)
    etcd = Etcd(f"http://127.0.0.1:{client_port}", workdir / "etcd", proc)
    apiserver = start_apiserver(etcd, workdir / "apiserver")
    path = "/api/v1/namespaces/default/configmaps"
    try:
        with apiserver.http() as http:
            assert http.post(path, json={"metadata": {"name": "before"}}).status_code == 201
            etcd.process.stop()
            eventually(lambda: http.get("/readyz").status_code == 500, timeout=10)
            assert http.get("/livez").status_code == 200
            verbose = http.get("/readyz", params={"verbose": "1"}).text
            assert "[-]etcd failed: reason withheld" in verbose and "[+]ping ok" in verbose
            assert http.get("/readyz/etcd").status_code == 500
            time.sleep(OUTAGE_SECONDS)
            assert http.get("/livez").status_code == 200

            back = time.monotonic()
            etcd.process = start_etcd_at(workdir, client_port, peer_port)

            def written() -> bool:
                body = {"metadata": {"generateName": "after-"}}
                return http.post(path, json=body, timeout=5).status_code == 201

            eventually(written, timeout=15, interval=0.1, message="a write after etcd returned")
            waited = time.monotonic() - back
            print(f"first write {waited:.2f} s after etcd returned")
            assert waited < 3.0, waited
            assert http.get("/readyz").status_code == 200
    finally:
        apiserver.stop()
        etcd.process.stop()
        remove_workdir(workdir)


def test_a_full_etcd_refuses_writes_with_a_clear_status_and_readyz_says_so() -> None:
    workdir = make_workdir("minik-nospace-")
    client_port, peer_port = processes.free_port(), processes.free_port()
    proc = processes.start_etcd(
        workdir / "etcd", client_port, peer_port, workdir / "etcd.log", quota_bytes=2 * 1024**2
    )
    etcd = Etcd(f"http://127.0.0.1:{client_port}", workdir / "etcd", proc)
    apiserver = start_apiserver(etcd, workdir / "apiserver")
    path = "/api/v1/namespaces/default/configmaps"
    try:
        with apiserver.http() as http:
            big = {"metadata": {"generateName": "big-"}, "data": {"x": "y" * 50_000}}
            for _ in range(400):  # 2 MiB quota: full after a few dozen
                r = http.post(path, json=big)
                if r.status_code != 201:
                    break
            assert r.status_code == 500, r.text
            assert r.json()["message"] == "etcdserver: mvcc: database space exceeded"
            assert http.get(path).status_code == 200  # reads still work
            assert http.get("/livez").status_code == 200
            ready = http.get("/readyz", params={"verbose": "1"})
            assert ready.status_code == 500 and "[-]etcd-readiness failed" in ready.text
            assert "NOSPACE" in http.get("/readyz/etcd-readiness").text
    finally:
        apiserver.stop()
        etcd.process.stop()
        remove_workdir(workdir)
