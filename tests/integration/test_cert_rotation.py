"""Kubelet client certificate rotation (kubelet/certrotation) against a real
apiserver and controller manager whose --cluster-signing-duration is 20 s: after the
TLS bootstrap, the kubelet's own client asks, as `system:node:<name>`, for a new
certificate at 70-90% of the current one's life; csrapproving approves it as
`selfnodeclient`; the client switches to it (its connections closed, its watch
resumed) and keeps working after the first certificate has expired, which by then no
longer authenticates."""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from api import certificates as certs
from api.resources import NODES, SELFSUBJECTREVIEWS
from client.informer import Informer
from client.kubeconfig import load as load_kubeconfig
from client.kubeconfig import write_kubeconfig
from client.rest import AsyncClient
from kubelet import certbootstrap
from kubelet.certrotation import ClientCertificateRotator
from tests.support.bootstrapcluster import TOKEN_ID, TOKEN_SECRET, Cluster, bootstrap_cluster
from tests.support.wait import eventually_async

LIFETIME = 20  # seconds: --cluster-signing-duration
NODE = "rot-node"
CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with bootstrap_cluster(signing_duration=f"{LIFETIME}s") as c:
        yield c


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _user(cluster: Cluster, pem: Path) -> int:
    """The status code of a request made over a new connection with that cert+key."""
    with cluster.as_cert(pem, pem) as http:
        try:
            return http.get(f"/api/v1/nodes/{NODE}").status_code
        except httpx.HTTPError:
            return 0  # refused at the handshake


def test_client_certificate_rotates_and_the_client_keeps_working(cluster: Cluster, tmp_path: Path):
    bootstrap = tmp_path / "bootstrap-kubelet.conf"
    write_kubeconfig(
        bootstrap, cluster.api.url, f"{TOKEN_ID}.{TOKEN_SECRET}", ca_file=cluster.api.ca_file
    )
    kubeconfig, cert_dir = tmp_path / "kubelet.conf", tmp_path / "pki"
    current = cert_dir / certbootstrap.CURRENT

    async def scenario() -> None:
        assert await certbootstrap.load_client_cert(
            kubeconfig, bootstrap, cert_dir, NODE, timeout=30
        )
        first_file = current.resolve()
        first = _cert(first_file)
        life = first.not_valid_after_utc - first.not_valid_before_utc
        assert life == datetime.timedelta(seconds=LIFETIME)
        api = AsyncClient(load_kubeconfig(kubeconfig), user_agent="rotation-test")
        seen: dict[str, dict] = {}
        nodes = Informer(
            api,
            NODES,
            field_selector=f"metadata.name={NODE}",
            on_add=lambda o: seen.update({"node": o}),
            on_update=lambda _o, n: seen.update({"node": n}),
        )
        rotator = ClientCertificateRotator(api, cert_dir, NODE)
        task = asyncio.create_task(rotator.run())
        try:
            await api.create(
                NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}}
            )
            nodes.start()
            assert await nodes.wait_for_sync(timeout=10)
            began = time.monotonic()
            await eventually_async(
                lambda: rotator.rotations >= 2, timeout=2 * LIFETIME + 10, message="two rotations"
            )
            took = time.monotonic() - began
            # each at 70-90% of a 20 s life (less what the bootstrap took)
            assert 2 * 0.7 * LIFETIME - 3 <= took <= 2 * 0.9 * LIFETIME + 4, took
            assert current.resolve() != first_file
            # past the first certificate's end: it no longer authenticates, the
            # rotated client (new connections since the rotation) still does
            now = datetime.datetime.now(datetime.UTC)
            await asyncio.sleep(max(0.0, (first.not_valid_after_utc - now).total_seconds() + 1))
            assert _user(cluster, first_file) in (0, 401)
            review = await api.create(
                SELFSUBJECTREVIEWS,
                {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
            )
            assert review["status"]["userInfo"]["username"] == f"system:node:{NODE}"
            # the watch came back after the connections were closed
            with cluster.http() as http:
                r = http.patch(
                    f"/api/v1/nodes/{NODE}",
                    json={"metadata": {"labels": {"rotated": "yes"}}},
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                assert r.status_code == 200, r.text
            await eventually_async(
                lambda: (seen["node"]["metadata"].get("labels") or {}).get("rotated") == "yes",
                message="the informer sees the label after the rotation",
            )
        finally:
            task.cancel()
            await nodes.stop()
            await api.aclose()

    asyncio.run(scenario())
    # the renewals were asked for by the node itself and approved as selfnodeclient
    with cluster.http() as http:
        items = http.get(CSRS).json()["items"]
    renewals = [c for c in items if c["spec"]["username"] == f"system:node:{NODE}"]
    assert len(renewals) >= 2
    for csr in renewals:
        assert certs.condition_word(csr) == "Approved,Issued"
        approved = next(c for c in certs.conditions(csr) if c["type"] == "Approved")
        assert approved["reason"] == "AutoApproved"
        assert "self kubelet client" in approved["message"]
