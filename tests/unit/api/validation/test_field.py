"""api.validation.field: bad values worded as Go's %#v prints them."""

from api.validation.field import go_value
from api.validation.meta import go_label_selector


def test_go_value_rendering():
    assert go_value("x") == '"x"'
    assert go_value(3) == "3"
    assert go_value(None) == "null"
    assert go_value(True) == "true"
    assert go_value({"b": "2", "a": "1"}) == 'map[string]string{"a":"1", "b":"2"}'
    assert go_value(["10.0.0.1"]) == '[]string{"10.0.0.1"}'
    assert go_label_selector({}) == (
        "v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
    )
