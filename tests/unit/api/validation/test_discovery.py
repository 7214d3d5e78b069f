"""api.validation.discovery: EndpointSlices."""

from api.validation import validate
from tests.unit.api.validation.objects import defaulted, fields


def make_slice(**fields):
    obj = {
        "metadata": {"name": "web-x", "namespace": "default"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}],
        "ports": [{"port": 80}],
        **fields,
    }
    return defaulted("EndpointSlice", obj)


def test_endpointslice():
    assert validate("EndpointSlice", make_slice()) == []
    assert validate("EndpointSlice", make_slice(addressType=None)) == [
        {"field": "addressType", "message": "Required value", "reason": "FieldValueRequired"}
    ]
    assert validate("EndpointSlice", make_slice(addressType="IP"))[0]["message"] == (
        'Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'
    )
    bad = make_slice(
        endpoints=[
            {"addresses": []},
            {"addresses": ["fd00::1", "10.0.0.2"], "nodeName": "Node_1"},
            {"addresses": ["10.0.0.3"] * 101},
        ],
        ports=[{"port": 80}, {"port": 81, "protocol": "ICMP"}, {"name": "Web", "port": 82}],
    )
    causes = validate("EndpointSlice", bad)
    assert [(c["field"], c["reason"]) for c in causes] == [
        ("endpoints[0].addresses", "FieldValueRequired"),
        ("endpoints[1].addresses[0]", "FieldValueInvalid"),
        ("endpoints[1].nodeName", "FieldValueInvalid"),
        ("endpoints[2].addresses", "FieldValueTooMany"),
        ("ports[1].name", "FieldValueDuplicate"),
        ("ports[1].protocol", "FieldValueNotSupported"),
        ("ports[2].name", "FieldValueInvalid"),
    ]
    assert causes[0]["message"] == "Required value: must contain at least 1 address"
    assert causes[1]["message"] == 'Invalid value: "fd00::1": must be a valid IPv4 address'
    assert causes[3]["message"] == "Too many: 101: must have at most 100 items"
    many = make_slice(endpoints=[{"addresses": ["10.0.0.1"]}] * 1001)
    assert fields(validate("EndpointSlice", many)) == ["endpoints"]
    fqdn = make_slice(addressType="FQDN", endpoints=[{"addresses": ["db.example.com", "db"]}])
    assert fields(validate("EndpointSlice", fqdn)) == ["endpoints[0].addresses[1]"]
    old = make_slice()
    new = make_slice(addressType="IPv6", endpoints=[])
    assert validate("EndpointSlice", new, old) == [
        {
            "field": "addressType",
            "message": 'Invalid value: "IPv6": field is immutable',
            "reason": "FieldValueInvalid",
        }
    ]
