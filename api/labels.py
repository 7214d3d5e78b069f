"""Label selectors, in both of Kubernetes' spellings: the string form of
`?labelSelector=app=web,tier in (a,b)` and the object form of a Deployment's
`spec.selector`. One model serves both, with Kubernetes' matching and rendering rules.

Also the syntax checks for label keys, label values and DNS names, which selectors need
for their keys and api.validation reuses for names and metadata."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError, bad_request

# ---------------------------------------------------------------------------
# Name and label syntax (messages worded as k8s.io/apimachinery's)
# ---------------------------------------------------------------------------

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + r"(\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
LABEL_KEY_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + LABEL_KEY_NAME_FMT + ")?"
# compiled once: every create validates a name, labels and DNS names with them
_DNS1123_LABEL = re.compile(DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL = re.compile(DNS1035_LABEL_FMT)
_LABEL_KEY_NAME = re.compile(LABEL_KEY_NAME_FMT)
_LABEL_VALUE = re.compile(LABEL_VALUE_FMT)

_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
    "characters or '-', and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case "
    "alphanumeric characters, '-' or '.', and must start and end with an "
    "alphanumeric character"
)
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or "
    "'-', start with an alphabetic character, and end with an alphanumeric "
    "character"
)
_LABEL_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric "
    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character"
)


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """Kubernetes' RegexError wording, double space before "or" included."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def _byte_len(value: str) -> int:
    return len(value.encode())


VALID_REMEMBERED = 4096  # per check; the set starts again when full


def remember_valid(check: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    """`check`, answering [] at once for a string it already found valid: every create
    checks the same names, label keys and values again (only valid ones are kept, and
    each answer is a new list, so callers may change it)."""
    valid: set[str] = set()

    @functools.wraps(check)
    def checked(value: str) -> list[str]:
        if value in valid:
            return []
        errs = check(value)
        if not errs:
            if len(valid) >= VALID_REMEMBERED:
                valid.clear()
            valid.add(value)
        return errs

    return checked


@remember_valid
def dns1123_label_errors(value: str) -> list[str]:
    errs = []
    if _byte_len(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1123_LABEL.fullmatch(value):
        if _DNS1123_SUBDOMAIN.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


@remember_valid
def dns1123_subdomain_errors(value: str) -> list[str]:
    errs = []
    if _byte_len(value) > 253:
        errs.append(max_len_error(253))
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


WILDCARD_DNS1123_SUBDOMAIN_FMT = r"\*\." + DNS1123_SUBDOMAIN_FMT
_WILDCARD_DNS1123_SUBDOMAIN = re.compile(WILDCARD_DNS1123_SUBDOMAIN_FMT)
_WILDCARD_DNS1123_SUBDOMAIN_MSG = (
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
    "subdomain, which must consist of lower case alphanumeric characters, '-' or '.' "
    "and end with an alphanumeric character"
)


def wildcard_dns1123_subdomain_errors(value: str) -> list[str]:
    """IsWildcardDNS1123Subdomain: `*.example.com` (Ingress hosts)."""
    errs = []
    if _byte_len(value) > 253:
        errs.append(max_len_error(253))
    if not _WILDCARD_DNS1123_SUBDOMAIN.fullmatch(value):
        errs.append(
            regex_error(
                _WILDCARD_DNS1123_SUBDOMAIN_MSG, WILDCARD_DNS1123_SUBDOMAIN_FMT, "*.example.com"
            )
        )
    return errs


@remember_valid
def dns1035_label_errors(value: str) -> list[str]:
    errs = []
    if _byte_len(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1035_LABEL.fullmatch(value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


@remember_valid
def label_key_errors(key: str) -> list[str]:
    """Every problem with a label key (Kubernetes' "qualified name"); [] when valid."""
    parts = key.split("/")
    errs: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in dns1123_subdomain_errors(prefix)]
    else:
        return [
            "a valid label key "
            + regex_error(_LABEL_KEY_MSG, LABEL_KEY_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif _byte_len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _LABEL_KEY_NAME.fullmatch(name):
        errs.append(
            "name part "
            + regex_error(_LABEL_KEY_MSG, LABEL_KEY_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


@remember_valid
def label_value_errors(value: str) -> list[str]:
    errs = []
    if _byte_len(value) > 63:
        errs.append(max_len_error(63))
    if not _LABEL_VALUE.fullmatch(value):
        errs.append(regex_error(_LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def validate_label_key(key: str) -> str | None:
    """The error message for a bad label key, or None when it is valid."""
    return "; ".join(label_key_errors(key)) or None


def validate_label_value(value: str) -> str | None:
    """The error message for a bad label value, or None when it is valid."""
    return "; ".join(label_value_errors(value)) or None


# ---------------------------------------------------------------------------
# The selector model
# ---------------------------------------------------------------------------

# Operators as Kubernetes' selection package names them in the string form.
EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST = "in", "notin", "exists", "!"
GREATER_THAN, LESS_THAN = "gt", "lt"
_SET_OPERATORS = (IN, NOT_IN)
_NUMERIC_OPERATORS = (GREATER_THAN, LESS_THAN)

# matchExpressions operator -> string-form operator
_EXPRESSION_OPERATORS = {
    "In": IN,
    "NotIn": NOT_IN,
    "Exists": EXISTS,
    "DoesNotExist": DOES_NOT_EXIST,
}


@dataclass(frozen=True)
class Requirement:
    """One `key <op> values` term; values are sorted and unique for in/notin."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        op = self.operator
        if op in (EQUALS, DOUBLE_EQUALS, IN):
            return present and labels[self.key] in self.values
        if op in (NOT_EQUALS, NOT_IN):
            return not present or labels[self.key] not in self.values
        if op == EXISTS:
            return present
        if op == DOES_NOT_EXIST:
            return not present
        if not present:  # gt / lt need an integer label value
            return False
        try:
            have, want = int(labels[self.key]), int(self.values[0])
        except ValueError:
            return False
        return have > want if op == GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        if op in _SET_OPERATORS:
            return f"{self.key} {op} ({','.join(self.values)})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{self.values[0]}"


@dataclass(frozen=True)
class LabelSelector:
    """All requirements must hold. `nothing` is Kubernetes' nil selector: it matches no
    object (a missing `spec.selector`), unlike an empty one that matches every object."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """True for the match-everything selector."""
        return not self.nothing and not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _selector(requirements: Iterable[Requirement]) -> LabelSelector:
    """Requirements in key order (stable), as Kubernetes keeps and renders them."""
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


def new_requirement(key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
    """A checked requirement; raises a 400 ApiError worded as Kubernetes' NewRequirement."""
    vals = list(values)
    key_errs = label_key_errors(key)
    if key_errs:
        raise bad_request(
            f'unable to parse requirement: invalid label key "{key}": ' + "; ".join(key_errs)
        )
    if operator in _SET_OPERATORS:
        if not vals:
            raise bad_request("for 'in', 'notin' operators, values set can't be empty")
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            raise bad_request("exact-match compatibility requires one single value")
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            raise bad_request("values set must be empty for exists and does not exist")
    elif operator in _NUMERIC_OPERATORS:
        if len(vals) != 1 or not re.fullmatch(r"[+-]?[0-9]+", vals[0]):
            raise bad_request("for 'Gt', 'Lt' operators, the value must be an integer")
    else:
        raise bad_request(f'operator "{operator}" is not recognized')
    if operator not in _NUMERIC_OPERATORS:
        for v in vals:
            errs = label_value_errors(v)
            if errs:
                raise bad_request(
                    f'invalid label value: "{v}": at key: "{key}": ' + "; ".join(errs)
                )
    if operator in _SET_OPERATORS:
        vals = sorted(set(vals))
    return Requirement(key, operator, tuple(vals))


def everything() -> LabelSelector:
    return LabelSelector()


def nothing() -> LabelSelector:
    return LabelSelector(nothing=True)


# ---------------------------------------------------------------------------
# Object form: metav1.LabelSelector
# ---------------------------------------------------------------------------


def from_label_selector(obj: Mapping[str, Any] | None) -> LabelSelector:
    """The selector a `{matchLabels, matchExpressions}` object means. None (no selector)
    matches nothing; an empty object matches everything, as Kubernetes'
    LabelSelectorAsSelector. Bad operators or values raise a 400 ApiError."""
    if obj is None:
        return nothing()
    if not isinstance(obj, Mapping):
        raise bad_request("a label selector must be an object")
    match_labels = obj.get("matchLabels") or {}
    expressions = obj.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        raise bad_request("matchLabels must be an object and matchExpressions a list")
    reqs = [new_requirement(str(k), EQUALS, [str(v)]) for k, v in match_labels.items()]
    for expr in expressions:
        if not isinstance(expr, Mapping):
            raise bad_request("each of matchExpressions must be an object")
        op = expr.get("operator")
        if op not in _EXPRESSION_OPERATORS:
            raise bad_request(f'"{op}" is not a valid label selector operator')
        values = expr.get("values") or []
        reqs.append(
            new_requirement(
                str(expr.get("key") or ""), _EXPRESSION_OPERATORS[op], [str(v) for v in values]
            )
        )
    return _selector(reqs)


def selector_from_set(labels: Mapping[str, Any] | None) -> LabelSelector:
    """An equality-based selector from a plain label map (a ReplicationController's or a
    Service's `spec.selector`; labels.SelectorFromSet): empty or None matches everything.
    Values are taken as they are (validation checks them), so this never raises."""
    reqs = [Requirement(str(k), EQUALS, (str(v),)) for k, v in (labels or {}).items()]
    return _selector(reqs)


def selector_string(label_selector_obj: Mapping[str, Any] | None) -> str:
    """Kubernetes' string form of a selector object ("" for none or an empty one), as a
    Scale's `status.selector` carries it and kubectl prints it; `<error>` for one that
    does not parse (metav1.FormatLabelSelector), so printing never fails."""
    try:
        return str(from_label_selector(label_selector_obj))
    except ApiError:
        return "<error>"


# ---------------------------------------------------------------------------
# String form: the labelSelector query parameter
# ---------------------------------------------------------------------------

_SPECIAL = set("!=<>(),")
_OPERATOR_TOKENS = ("!=", "==", "=", "<", ">", "!")
_END = ("end", "end of string")


class _Lexer:
    """Splits a selector into (kind, literal) tokens: kinds are 'id', 'op', '(', ')',
    ',' and 'end'. Identifiers run until whitespace or a special character."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch.isspace():
                i += 1
            elif ch in "(),":
                self.tokens.append((ch, ch))
                i += 1
            elif ch in _SPECIAL:
                op = next(o for o in _OPERATOR_TOKENS if text.startswith(o, i))
                self.tokens.append(("op", op))
                i += len(op)
            else:
                start = i
                while i < len(text) and not text[i].isspace() and text[i] not in _SPECIAL:
                    i += 1
                self.tokens.append(("id", text[start:i]))
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else _END

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.pos += 1
        return tok


def _fail(message: str) -> ApiError:
    return bad_request(f"unable to parse requirement: {message}")


def parse_selector(text: str) -> LabelSelector:
    """The string form (`a=b,c!=d,e in (x,y),f notin (z),g,!h`); "" selects everything.
    Bad syntax raises a 400 ApiError naming what was found and what was expected."""
    lex = _Lexer(text)
    reqs: list[Requirement] = []
    while True:
        kind, lit = lex.peek()
        if kind == "end":
            break
        if not (kind == "id" or (kind == "op" and lit == "!")):
            raise _fail(f"found '{lit}', expected: !, identifier, or 'end of string'")
        reqs.append(_parse_requirement(lex))
        kind, lit = lex.take()
        if kind == "end":
            break
        if kind != ",":
            raise _fail(f"found '{lit}', expected: ',' or 'end of string'")
        kind, lit = lex.peek()
        if not (kind == "id" or (kind == "op" and lit == "!")):
            raise _fail(f"found '{lit}', expected: identifier after ','")
    return _selector(reqs)


def _parse_requirement(lex: _Lexer) -> Requirement:
    negated = lex.peek() == ("op", "!")
    if negated:
        lex.take()
    kind, key = lex.take()
    if kind != "id":
        raise _fail(f"found '{key}', expected: identifier")
    if negated:
        return new_requirement(key, DOES_NOT_EXIST)
    if lex.peek()[0] in ("end", ","):
        return new_requirement(key, EXISTS)
    kind, lit = lex.take()
    if kind == "id" and lit in _SET_OPERATORS:
        return new_requirement(key, lit, _parse_values(lex))
    operator = (
        {"=": EQUALS, "==": DOUBLE_EQUALS, "!=": NOT_EQUALS, ">": GREATER_THAN, "<": LESS_THAN}.get(
            lit
        )
        if kind == "op"
        else None
    )
    if operator is None:
        raise _fail(f"found '{lit}', expected: in, notin, =, ==, !=, gt, lt")
    kind, value = lex.peek()
    if kind in ("end", ","):
        return new_requirement(key, operator, [""])
    if kind != "id":
        raise _fail(f"found '{value}', expected: identifier")
    lex.take()
    return new_requirement(key, operator, [value])


def _parse_values(lex: _Lexer) -> list[str]:
    kind, lit = lex.take()
    if kind != "(":
        raise _fail(f"found '{lit}', expected: '('")
    values: list[str] = []
    expect_value = True
    while True:
        kind, lit = lex.take()
        if kind == ")":
            if expect_value and values:  # "(a,)" keeps an empty value, as Kubernetes does
                values.append("")
            return values
        if kind == "id" and expect_value:
            values.append(lit)
            expect_value = False
        elif kind == ",":
            if expect_value:
                values.append("")
            expect_value = True
        else:
            raise _fail(f"found '{lit}', expected: ',', ')' or identifier")
