"""Query parameters decoded as kube-apiserver decodes them."""

from __future__ import annotations

import base64
import json

import pytest

from api.errors import ApiError
from api.resources import lookup
from apiserver import paging
from apiserver.options import ListOptions, query_flag


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "t", "1", "", "yes"])
def test_anything_but_false_or_zero_is_true(value: str) -> None:
    assert query_flag({"watch": value}, "watch") is True


@pytest.mark.parametrize("value", ["false", "False", "FALSE", "0"])
def test_false_and_zero_are_false(value: str) -> None:
    assert query_flag({"watch": value}, "watch") is False


def test_absent_is_false() -> None:
    assert query_flag({}, "watch") is False


def _list_options(**params: str) -> ListOptions:
    return ListOptions.parse(lookup("pods"), params)


@pytest.mark.parametrize(
    ("params", "exact", "minimum"),
    [
        ({}, None, 0),
        ({"resourceVersion": "0"}, None, 0),
        ({"resourceVersion": "7"}, None, 7),  # a whole list: not older than
        ({"resourceVersion": "7", "limit": "5"}, 7, 0),  # a page: exactly (the older rule)
        ({"resourceVersion": "7", "resourceVersionMatch": "Exact"}, 7, 0),
        ({"resourceVersion": "7", "resourceVersionMatch": "NotOlderThan", "limit": "5"}, None, 7),
    ],
)
def test_which_revision_a_list_reads(params: dict, exact: int | None, minimum: int) -> None:
    """Kubernetes' table of resourceVersion and resourceVersionMatch for a LIST."""
    opts = _list_options(**params)
    opts.check_list()
    assert (opts.exact_revision, opts.min_revision) == (exact, minimum)


def test_a_continue_token_round_trips_and_is_kube_apiservers_shape() -> None:
    token = paging.encode_continue("ns/web-1\x00", 42)
    assert "=" not in token  # base64url without padding, as Go's RawURLEncoding
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert json.loads(raw) == {"v": "meta.k8s.io/v1", "rv": 42, "start": "ns/web-1\x00"}
    assert paging.decode_continue(token) == ("ns/web-1\x00", 42)
    assert paging.decode_continue(paging.encode_continue("a\x00", paging.LATEST)) == ("a\x00", 0)


def _token(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("%%%", "continue key is not valid"),
        (_token({"v": "v2", "rv": 3, "start": "a"}), "incorrect encoded start resourceVersion"),
        (_token({"v": "meta.k8s.io/v1", "rv": 0, "start": "a"}), "incorrect encoded start"),
        (_token({"v": "meta.k8s.io/v1", "rv": 3, "start": ""}), "encoded start key empty"),
        (_token({"v": "meta.k8s.io/v1", "rv": 3, "start": "a/../../b"}), "not valid: a/../../b"),
    ],
)
def test_a_bad_continue_token_is_a_400(token: str, says: str) -> None:
    with pytest.raises(ApiError) as err:
        paging.decode_continue(token)
    assert err.value.code == 400 and says in err.value.message


def test_an_expired_page_names_where_to_go_on() -> None:
    status = paging.expired_continue("web-2\x00").status()
    assert (status["code"], status["reason"]) == (410, "Expired")
    assert paging.decode_continue(status["metadata"]["continue"]) == ("web-2\x00", 0)
    rebuilt = ApiError.from_status(410, status)
    assert rebuilt.list_meta == status["metadata"]
