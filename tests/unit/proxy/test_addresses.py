"""The ClusterIPs held on `lo`, read back with their labels."""

from __future__ import annotations

from proxy.addresses import LABEL, parse_addresses


def test_lo_addresses_are_read_with_their_labels():
    output = (
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
        f"1: lo    inet 10.96.0.10/32 scope global {LABEL}\\       valid_lft forever\n"
        "1: lo    inet 10.1.2.3/32 scope global lo\\       valid_lft forever\n"
    )
    assert parse_addresses(output) == {"10.96.0.10": LABEL, "10.1.2.3": "lo"}
