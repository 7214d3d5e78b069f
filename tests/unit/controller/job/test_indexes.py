"""controller.job.indexes: the completedIndexes interval strings."""

from controller.job.indexes import first_free_indexes, format_indexes, parse_indexes, pod_index


def test_format_and_parse_round_trip():
    assert format_indexes([7, 1, 3, 4, 5]) == "1,3-5,7"
    assert format_indexes([]) == ""
    assert parse_indexes("1,3-5,7", 10) == {1, 3, 4, 5, 7}
    assert parse_indexes("1,3-5,7", 5) == {1, 3, 4}  # beyond completions: dropped
    assert parse_indexes("x,2", 5) == {2}
    assert parse_indexes(None, 5) == set()


def test_pod_index_and_free_indexes():
    pod = {"metadata": {"annotations": {"batch.kubernetes.io/job-completion-index": "4"}}}
    assert pod_index(pod) == 4
    assert pod_index({"metadata": {}}) is None
    assert first_free_indexes(6, {0, 2}, 3) == [1, 3, 4]
    assert first_free_indexes(3, {0, 1, 2}, 2) == []
