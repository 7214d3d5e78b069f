"""api.nodeaffinity: nodeSelector and required node affinity, shared by the scheduler
and the DaemonSet controller."""

from api.nodeaffinity import parse_term, placement_of


def required(*terms):
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}}  # fmt: skip


def test_match_fields_on_the_node_name():
    spec = required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]})
    assert placement_of(spec).matches({}, "n1")
    assert not placement_of(spec).matches({}, "n2")


def test_terms_are_ored_and_requirements_anded_with_the_node_selector():
    ssd = {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}
    big = {"matchExpressions": [{"key": "size", "operator": "Gt", "values": ["4"]}]}
    spec = {**required(ssd, big), "nodeSelector": {"zone": "a"}}
    placement = placement_of(spec)
    assert placement.matches({"zone": "a", "disk": "ssd"}, "n")
    assert placement.matches({"zone": "a", "size": "8"}, "n")
    assert not placement.matches({"zone": "b", "disk": "ssd"}, "n")
    assert not placement.matches({"zone": "a"}, "n")


def test_empty_or_invalid_terms_match_nothing():
    assert parse_term({}) is None
    assert (
        parse_term({"matchFields": [{"key": "metadata.uid", "operator": "In", "values": ["x"]}]})
        is None
    )
    assert not placement_of(required({})).matches({}, "n")
    assert placement_of({}).matches({}, "n")
