"""controller.daemonset.backoff: client-go's flowcontrol.Backoff for failed pods."""

from controller.daemonset.backoff import MAXIMUM, FailedPodsBackoff, backoff_key


def test_doubles_to_the_maximum_and_forgets_idle_entries():
    b = FailedPodsBackoff(initial=1.0, maximum=8.0)
    assert not b.in_backoff("k", 0.0) and b.get("k") == 0.0
    waits = []
    for i in range(6):
        b.next("k", float(i))
        waits.append(b.get("k"))
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert b.in_backoff("k", 5.0 + 7.9) and not b.in_backoff("k", 13.0)
    b.next("k", 5.0 + 16.1)  # more than twice the maximum since the last update: afresh
    assert b.get("k") == 1.0
    b.gc(21.1 + 16.0)
    assert b.get("k") == 1.0  # not yet idle for twice the maximum
    b.gc(21.1 + 16.2)
    assert b.get("k") == 0.0


def test_key_is_per_daemonset_generation_and_node():
    ds = {"metadata": {"uid": "u1"}, "status": {"observedGeneration": 3}}
    assert backoff_key(ds, "n1") == "u1/3/n1"
    assert MAXIMUM == 900.0
