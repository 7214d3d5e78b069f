import pytest

from api.errors import ApiError
from api.labels import (
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    from_label_selector,
    label_key_errors,
    label_value_errors,
    parse_selector,
    selector_from_set,
    selector_string,
    validate_label_key,
    validate_label_value,
)

WEB = {"app": "web", "tier": "frontend", "version": "3"}


# --- string form -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("app=web", WEB, True),
        ("app==web", WEB, True),
        ("app=db", WEB, False),
        ("app!=db", WEB, True),
        ("app!=web", WEB, False),
        ("missing!=x", WEB, True),  # != matches objects without the label
        ("tier in (frontend,backend)", WEB, True),
        ("tier in (backend)", WEB, False),
        ("missing in (x)", WEB, False),
        ("tier notin (backend)", WEB, True),
        ("tier notin (frontend)", WEB, False),
        ("missing notin (x)", WEB, True),
        ("app", WEB, True),
        ("missing", WEB, False),
        ("!missing", WEB, True),
        ("!app", WEB, False),
        ("app=web,tier=frontend", WEB, True),
        ("app=web,tier=backend", WEB, False),
        ("version>2", WEB, True),
        ("version<3", WEB, False),
        ("app>2", WEB, False),  # not an integer label
        ("", WEB, True),
        ("app=", {"app": ""}, True),
        ("app=", WEB, False),
    ],
)
def test_string_selector_matching(text, labels, expected):
    assert parse_selector(text).matches(labels) is expected


def test_whitespace_is_tolerated():
    sel = parse_selector("  app = web ,  tier  in ( frontend , backend ) , ! missing ")
    assert sel.matches(WEB)
    assert str(sel) == "app=web,!missing,tier in (backend,frontend)"


def test_renders_sorted_by_key_with_sorted_values():
    sel = parse_selector("z notin (b,a),a==1,m,!n,k!=v")
    assert str(sel) == "a==1,k!=v,m,!n,z notin (a,b)"


def test_round_trips_through_its_string_form():
    text = "a=1,b in (x,y),c"
    assert str(parse_selector(str(parse_selector(text)))) == str(parse_selector(text))


def test_empty_string_selects_everything():
    sel = parse_selector("")
    assert sel.empty and sel.matches({}) and sel.matches(None) and str(sel) == ""


def test_none_labels_are_an_empty_set():
    assert parse_selector("!app").matches(None)
    assert not parse_selector("app").matches(None)


@pytest.mark.parametrize(
    "bad",
    [
        "app=web,",  # dangling comma
        ",app",
        "app in ()",  # empty set
        "app in web",  # missing parenthesis
        "app in (a b)",
        "app web",  # no operator
        "=web",
        "a b c",
        "app=web=x",
        "bad key=value",
        "a/b/c=x",
        "app=has space",
        "app=" + "x" * 64,  # value too long
        "app>x",  # gt needs an integer
    ],
)
def test_bad_syntax_is_a_400(bad):
    with pytest.raises(ApiError) as err:
        parse_selector(bad)
    assert err.value.code == 400
    assert err.value.reason == "BadRequest"
    assert err.value.message


def test_error_names_what_was_found():
    with pytest.raises(ApiError) as err:
        parse_selector("app=web,")
    assert "after ','" in err.value.message
    with pytest.raises(ApiError) as err:
        parse_selector("app in ()")
    assert "values set can't be empty" in err.value.message


# --- object form -------------------------------------------------------------


def test_match_labels_and_expressions():
    sel = from_label_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["frontend", "backend"]},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "version", "operator": "Exists"},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }
    )
    assert sel.matches(WEB)
    assert not sel.matches({**WEB, "canary": "1"})
    assert not sel.matches({**WEB, "env": "prod"})
    assert not sel.matches({"app": "web", "tier": "frontend"})
    assert str(sel) == "app=web,!canary,env notin (prod),tier in (backend,frontend),version"


def test_empty_object_matches_everything_and_none_matches_nothing():
    everything = from_label_selector({})
    assert everything.empty and everything.matches({}) and everything.matches(WEB)
    assert from_label_selector({"matchLabels": {}, "matchExpressions": []}).empty
    nothing = from_label_selector(None)
    assert not nothing.empty
    assert not nothing.matches({}) and not nothing.matches(WEB)
    assert str(nothing) == ""


def test_selector_string_is_the_scale_selector_form():
    assert selector_string({"matchLabels": {"app": "web", "a": "b"}}) == "a=b,app=web"
    assert selector_string({}) == ""
    assert selector_string(None) == ""


def test_selector_string_prints_an_unparsable_selector_as_error():
    bad = {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}
    assert selector_string(bad) == "<error>"


@pytest.mark.parametrize(
    "bad",
    [
        {"matchExpressions": [{"key": "a", "operator": "Bogus", "values": ["x"]}]},
        {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
        {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
        {"matchLabels": {"bad key": "x"}},
        {"matchLabels": "app=web"},
    ],
)
def test_bad_selector_objects_raise(bad):
    with pytest.raises(ApiError) as err:
        from_label_selector(bad)
    assert err.value.code == 400


def test_bad_operator_wording():
    with pytest.raises(ApiError) as err:
        from_label_selector({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})
    assert err.value.message == '"Bogus" is not a valid label selector operator'


# --- key / value / name syntax ----------------------------------------------


@pytest.mark.parametrize(
    "key", ["app", "App_1.x-y", "example.com/app", "kubernetes.io/metadata.name", "a" * 63]
)
def test_valid_label_keys(key):
    assert label_key_errors(key) == []
    assert validate_label_key(key) is None


def test_label_key_messages():
    assert label_key_errors("a" * 64) == ["name part must be no more than 63 characters"]
    assert label_key_errors("/app") == ["prefix part must be non-empty"]
    assert label_key_errors("Example.com/app")[0].startswith(
        "prefix part a lowercase RFC 1123 subdomain must consist of"
    )
    assert label_key_errors("app-") == [
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
        "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
        "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    ]
    assert label_key_errors("a/b/c")[0].startswith("a valid label key must consist of")
    assert validate_label_key("")  # name part must be non-empty


def test_label_values():
    assert validate_label_value("") is None
    assert validate_label_value("v1.2_x-y") is None
    assert label_value_errors("x" * 64) == ["must be no more than 63 characters"]
    assert "a valid label must be an empty string" in validate_label_value("-bad")


def test_dns_names():
    assert dns1123_subdomain_errors("web.example-1") == []
    assert dns1123_subdomain_errors("Web_1")
    assert dns1123_subdomain_errors("a" * 254)[0] == "must be no more than 253 characters"
    assert dns1123_label_errors("web-1") == []
    assert dns1123_label_errors("a.b") == ["must not contain dots"]
    assert dns1035_label_errors("web") == []
    assert dns1035_label_errors("1web")[0].startswith("a DNS-1035 label must consist of")


def test_selector_from_a_plain_label_map():
    sel = selector_from_set({"tier": "fe", "app": "web"})
    assert str(sel) == "app=web,tier=fe"
    assert sel.matches({"app": "web", "tier": "fe", "x": "y"})
    assert not sel.matches({"app": "web"})
    assert selector_from_set({}).empty and selector_from_set(None).empty
