"""The apiserver's gRPC target for etcd: one member as given, several as one address
list gRPC fails over within (apiserver/etcdclient.py)."""

from __future__ import annotations

from apiserver.etcdclient import grpc_target


def test_one_member_is_dialled_by_name() -> None:
    assert grpc_target([("localhost", 2379)]) == "localhost:2379"
    assert grpc_target([("::1", 2379)]) == "[::1]:2379"


def test_several_members_are_one_address_list() -> None:
    members = [("127.0.0.1", 2379), ("127.0.0.2", 22379), ("127.0.0.3", 32379)]
    assert grpc_target(members) == "ipv4:127.0.0.1:2379,127.0.0.2:22379,127.0.0.3:32379"
    assert grpc_target([("::1", 1), ("::1", 2)]) == "ipv6:[::1]:1,[::1]:2"


def test_names_are_resolved_and_one_family_is_kept() -> None:
    target = grpc_target([("localhost", 2379), ("127.0.0.1", 2380), ("::1", 2381)])
    assert target.startswith("ipv4:") or target.startswith("ipv6:")
    family_v4 = target.startswith("ipv4:")
    assert ("::1" in target) != family_v4
