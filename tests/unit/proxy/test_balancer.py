"""Round robin and ClientIP session affinity (pure logic, fake clock)."""

from __future__ import annotations

from proxy.balancer import Balancer
from proxy.servicemap import Backend

A, B, C = Backend("10.0.0.1", 80), Backend("10.0.0.2", 80), Backend("10.0.0.3", 80)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def first(balancer: Balancer, client: str = "192.0.2.1") -> Backend:
    return next(balancer.candidates(client))


def test_round_robin_spreads_new_connections():
    balancer = Balancer([A, B, C])
    assert [first(balancer) for _ in range(6)] == [A, B, C, A, B, C]


def test_candidates_offer_every_backend_once_for_fallback():
    balancer = Balancer([A, B, C])
    assert list(balancer.candidates("x")) == [A, B, C]
    assert list(balancer.candidates("x")) == [B, C, A]


def test_no_backend_means_no_candidate():
    balancer = Balancer([])
    assert not balancer
    assert list(balancer.candidates("x")) == []


def test_affinity_sticks_to_the_backend_that_answered():
    clock = Clock()
    balancer = Balancer([A, B, C], affinity_seconds=60, clock=clock)
    chosen = first(balancer, "192.0.2.1")
    balancer.connected("192.0.2.1", chosen)
    assert [first(balancer, "192.0.2.1") for _ in range(5)] == [chosen] * 5
    assert {first(balancer, "192.0.2.2") for _ in range(3)} == {A, B, C}  # others rotate


def test_affinity_expires_after_its_timeout_of_idleness():
    clock = Clock()
    balancer = Balancer([A, B, C], affinity_seconds=10, clock=clock)
    balancer.connected("c", B)
    clock.now += 9
    assert first(balancer, "c") == B
    balancer.connected("c", B)  # used again: the timeout counts from here
    clock.now += 9
    assert first(balancer, "c") == B
    clock.now += 11
    picks = {first(balancer, "c") for _ in range(3)}
    assert picks == {A, B, C}


def test_a_removed_backend_loses_its_sticky_clients():
    balancer = Balancer([A, B], affinity_seconds=60)
    balancer.connected("c", A)
    balancer.update([B, C], 60)
    assert first(balancer, "c") in (B, C)
    assert A not in list(balancer.candidates("c"))


def test_turning_affinity_off_forgets_it():
    balancer = Balancer([A, B], affinity_seconds=60)
    balancer.connected("c", A)
    balancer.update([A, B], None)
    assert [first(balancer, "c") for _ in range(2)] in ([A, B], [B, A])


def test_without_affinity_nothing_is_remembered():
    balancer = Balancer([A, B])
    balancer.connected("c", A)
    assert [first(balancer, "c") for _ in range(2)] == [A, B]


def test_expire_drops_stale_entries():
    clock = Clock()
    balancer = Balancer([A, B], affinity_seconds=5, clock=clock)
    balancer.connected("c", A)
    clock.now += 6
    balancer.expire()
    assert balancer._affinity == {}
