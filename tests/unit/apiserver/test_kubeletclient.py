"""Which Node addresses the apiserver dials (apiserver/kubeletclient.py)."""

from __future__ import annotations

import asyncio

import pytest

from api.errors import ApiError
from apiserver.kubeletclient import KubeletClient, KubeletClientConfig, Target


def target(address: str, port: int = 10250, local: bool = False) -> Target:
    client = KubeletClient(KubeletClientConfig(allow_local_addresses=local))
    return asyncio.run(client.target("n1", address, port))


def test_ips_are_dialled_as_written() -> None:
    assert target("10.0.0.5") == Target("10.0.0.5", 10250, "10.0.0.5")
    assert target("fd00::5", 1).url("https", "/x") == "https://[fd00::5]:1/x"


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "127.9.9.9", "::1", "169.254.169.254", "fe80::1", "0.0.0.0", "::", "0.1.2.3",
     "::ffff:127.0.0.1", "::ffff:169.254.169.254", "localhost"],
)  # fmt: skip
def test_local_addresses_only_with_the_flag(address: str) -> None:
    with pytest.raises(ApiError) as refused:
        target(address)
    assert "--kubelet-allow-local-addresses" in str(refused.value)
    assert refused.value.code == 500
    assert target(address, local=True).port == 10250


BAD = ["evil.example/x", "a b", "host:80", "", "-x.example", "224.0.0.1", "255.255.255.255"]


@pytest.mark.parametrize("address", BAD)
def test_malformed_or_non_unicast_addresses_are_refused(address: str) -> None:
    with pytest.raises(ApiError):
        target(address, local=True)


def test_ports_are_checked() -> None:
    for port in (0, 65536, -1):
        with pytest.raises(ApiError, match="not a valid port"):
            target("10.0.0.5", port)


def test_names_resolve_and_the_certificate_is_checked_against_the_name() -> None:
    found = target("localhost", local=True)
    assert found.ip in ("127.0.0.1", "::1") and found.server_name == "localhost"
    client = KubeletClient()
    assert client.httpx_extensions(found) == {"sni_hostname": "localhost"}
    assert client.httpx_extensions(Target("10.0.0.5", 1, "10.0.0.5")) == {}
    assert not client.verifies
