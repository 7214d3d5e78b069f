"""controller.job.backoff: 10 s doubling per failure since the last success, capped
at six minutes."""

from controller.job.backoff import BackoffRecord


def test_delay_doubles_and_is_capped():
    record = BackoffRecord()
    assert record.remaining(0.0) == 0.0
    record.observe([(False, 100.0)])
    assert record.delay() == 10.0 and record.remaining(104.0) == 6.0
    record.observe([(False, 110.0), (False, 111.0)])
    assert record.delay() == 40.0 and record.remaining(111.0) == 40.0
    for t in range(10):
        record.observe([(False, 200.0 + t)])
    assert record.delay() == 360.0


def test_a_success_resets_it():
    record = BackoffRecord()
    record.observe([(False, 1.0), (True, 2.0)])
    assert record.delay() == 0.0 and record.remaining(2.0) == 0.0
    record.observe([(True, 5.0), (False, 3.0)])  # ordered by finish time
    assert record.failures_after_last_success == 0
