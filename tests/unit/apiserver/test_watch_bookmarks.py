"""When a watch's bookmarks are due: kube-apiserver's cacher schedule."""

from __future__ import annotations

from apiserver.watch import next_bookmark


def test_a_long_watch_gets_one_a_minute() -> None:
    assert next_bookmark(now=100.0, deadline=100.0 + 1800, interval=60.0) == 160.0


def test_the_last_comes_two_seconds_before_the_deadline() -> None:
    assert next_bookmark(now=100.0, deadline=130.0, interval=60.0) == 128.0
    assert next_bookmark(now=128.0, deadline=130.0, interval=60.0) is None


def test_a_watch_too_short_for_one_gets_none() -> None:
    assert next_bookmark(now=100.0, deadline=101.5, interval=60.0) is None
