"""bench/convergetrace.py: marks keep their first time, and the report's figures."""

from __future__ import annotations

from bench.convergetrace import ConvergeTrace


def test_first_mark_wins_and_report_orders_by_replica() -> None:
    trace = ConvergeTrace()
    trace.start()
    began = trace.began
    for i, name in enumerate(("a", "b", "c")):
        trace.mark(name, "added", began + i)
        trace.mark(name, "added", began + 10)  # later sightings do not move it
        trace.mark(name, "ready", began + i + 2)
    trace.finish()
    trace.mark("d", "added", began)  # not recorded once finished
    report = trace.report(("added", "ready"))
    assert "added -> ready     per replica: median  2.00s  max  2.00s" in report
    assert "added    n=3   1st  0.00s  mid  1.00s  last  2.00s" in report
    assert "ready    n=3   1st  2.00s  mid  3.00s  last  4.00s" in report
