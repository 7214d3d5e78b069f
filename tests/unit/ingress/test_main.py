"""`python -m ingress`'s flags, as issue 15 names them: defaults that leave port 80 to
a LoadBalancer Service on the same node, and values checked before anything starts."""

from __future__ import annotations

import socket

import pytest

from ingress.__main__ import parse_args


def test_defaults_leave_80_and_443_free():
    args = parse_args(["--kubeconfig", "k"])
    assert (args.http_port, args.https_port) == (8080, 8443)
    assert args.bind_address == "0.0.0.0"
    assert args.ingress_class == "minik"
    assert args.node_name == socket.gethostname()
    assert args.metrics_bind_address.port == 10254  # ingress-nginx's


def test_every_flag():
    args = parse_args(
        ["--kubeconfig", "k", "--node-name", "n1", "--bind-address", "127.0.0.1",
         "--http-port", "80", "--https-port", "443", "--ingress-class", "other",
         "--publish-ip", "192.0.2.1"]
    )  # fmt: skip
    assert (args.kubeconfig, args.node_name, args.bind_address) == ("k", "n1", "127.0.0.1")
    assert (args.http_port, args.https_port, args.ingress_class) == (80, 443, "other")
    assert args.publish_ip == ["192.0.2.1"]


@pytest.mark.parametrize(
    "bad", [["--http-port", "0"], ["--https-port", "x"], ["--bind-address", "localhost"]]
)
def test_bad_values_are_refused(bad, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--kubeconfig", "k", *bad])
    assert exit_.value.code == 2
    assert "python -m ingress: error" in capsys.readouterr().err
