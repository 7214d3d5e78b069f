"""apilb's choice of apiserver for each new connection (apilb/backends.py)."""

from __future__ import annotations

import pytest

from apilb.backends import Pool, parse_server


def _pool(n: int = 3) -> Pool:
    return Pool([parse_server(f"https://127.0.0.1:{6440 + i}") for i in range(n)])


def _ports(pool: Pool) -> list[int]:
    return [b.port for b in pool.candidates()]


def test_parse_server() -> None:
    b = parse_server("https://10.0.0.5:6443/")
    assert (b.url, b.host, b.port, b.healthy) == ("https://10.0.0.5:6443", "10.0.0.5", 6443, True)
    assert parse_server("example.test").port == 443
    with pytest.raises(ValueError):
        parse_server("https://:6443")


def test_new_connections_go_round_robin_over_the_healthy_ones() -> None:
    pool = _pool()
    firsts = [_ports(pool)[0] for _ in range(6)]
    assert firsts == [6440, 6441, 6442, 6440, 6441, 6442]


def test_an_unhealthy_backend_is_tried_last_and_comes_back_when_healthy() -> None:
    pool = _pool()
    assert pool.mark(pool.backends[1], ok=False) is True  # went down: close its connections
    assert pool.mark(pool.backends[1], ok=False) is False  # already down
    for _ in range(6):
        assert _ports(pool)[-1] == 6441
    assert pool.mark(pool.backends[1], ok=True) is False
    assert sorted(_ports(pool)[:3]) == [6440, 6441, 6442]
    assert pool.backends[1].failures == 0


def test_with_none_healthy_every_backend_is_still_tried() -> None:
    pool = _pool()
    for b in pool.backends:
        pool.mark(b, ok=False)
    assert sorted(_ports(pool)) == [6440, 6441, 6442]


def test_a_pool_needs_a_server() -> None:
    with pytest.raises(ValueError):
        Pool([])
