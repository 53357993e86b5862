"""Label and field selectors as the Kubernetes API parses them (``?labelSelector=`` / ``?fieldSelector=``).

Label selectors follow k8s.io/apimachinery/pkg/labels: ``=``, ``==``, ``!=``, ``in (...)``,
``notin (...)``, ``key``, ``!key``, ``>``/``<`` (integers), comma = AND. Field selectors follow
k8s.io/apimachinery/pkg/fields: ``path=value``, ``path==value``, ``path!=value``, with backslash
escapes. A real API server accepts only a few field paths per kind; the sandbox accepts any dotted
path and reads a missing field as the empty string, which is how e.g. ``spec.nodeName=`` behaves.
"""

from __future__ import annotations

import re
from collections.abc import Callable

LabelMatcher = Callable[[dict[str, str]], bool]
FieldMatcher = Callable[[dict], bool]

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_KEY_RE = re.compile(rf"({_DNS_SUBDOMAIN}/)?{_NAME}")
_VALUE_RE = re.compile(rf"({_NAME})?")
_INT_RE = re.compile(r"-?[0-9]+")

# Tokens of the label selector lexer; the longest operator wins ("==" before "=").
_OPERATORS = ("==", "!=", "=", "!", "(", ")", ",", ">", "<")
_SPECIAL = frozenset("=!(),<>")


class SelectorError(ValueError):
    """The selector text does not parse (the server answers 400 BadRequest with this message)."""


# --- label selectors -----------------------------------------------------------------------------------


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, pos)), None)
        if operator is not None:
            tokens.append(operator)
            pos += len(operator)
            continue
        start = pos
        while pos < len(text) and not text[pos].isspace() and text[pos] not in _SPECIAL:
            pos += 1
        tokens.append(text[start:pos])
    return tokens


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def fail(self, why: str) -> SelectorError:
        return SelectorError(f"unable to parse requirement: {why} in label selector {self.text!r}")

    def parse(self) -> list[LabelMatcher]:
        requirements: list[LabelMatcher] = []
        while self.peek() is not None:
            requirements.append(self.requirement())
            token = self.take()
            if token is None:
                break
            if token != ",":
                raise self.fail(f"found {token!r}, expected ','")
            if self.peek() is None:
                raise self.fail("found end of input after ','")
        return requirements

    def key(self) -> str:
        token = self.take()
        if token is None or token in _OPERATORS:
            raise self.fail(f"found {token or 'end of input'!r}, expected a label key")
        if len(token) > 316 or not _KEY_RE.fullmatch(token):
            raise self.fail(f"invalid label key {token!r}")
        return token

    def value(self) -> str:
        token = self.peek()
        if token is None or token in _OPERATORS:
            return ""  # "key=" selects an empty value
        self.pos += 1
        if len(token) > 63 or not _VALUE_RE.fullmatch(token):
            raise self.fail(f"invalid label value {token!r}")
        return token

    def value_set(self) -> frozenset[str]:
        if self.take() != "(":
            raise self.fail("expected '(' after in/notin")
        if self.peek() == ")":
            raise self.fail("for 'in', 'notin' operators, values set can't be empty")
        values: set[str] = set()
        while True:
            values.add(self.value())
            token = self.take()
            if token == ")":
                return frozenset(values)
            if token != ",":
                raise self.fail(f"found {token or 'end of input'!r}, expected ',' or ')'")

    def requirement(self) -> LabelMatcher:
        if self.peek() == "!":
            self.take()
            key = self.key()
            return lambda labels: key not in labels
        key = self.key()
        operator = self.peek()
        if operator is None or operator == ",":
            return lambda labels: key in labels
        self.take()
        if operator in ("=", "=="):
            wanted = self.value()
            return lambda labels: labels.get(key) == wanted
        if operator == "!=":
            unwanted = self.value()
            return lambda labels: labels.get(key) != unwanted
        if operator in ("in", "notin"):
            values = self.value_set()
            if operator == "in":
                return lambda labels: key in labels and labels[key] in values
            return lambda labels: labels.get(key) not in values
        if operator in (">", "<"):
            bound_text = self.take()
            if bound_text is None or not _INT_RE.fullmatch(bound_text):
                raise self.fail(f"for '{operator}' the value must be an integer, found {bound_text!r}")
            bound = int(bound_text)
            greater = operator == ">"
            return lambda labels: _compare_int(labels.get(key), bound, greater)
        raise self.fail(f"found {operator!r}, expected an operator (=, ==, !=, in, notin, >, <)")


def _compare_int(value: str | None, bound: int, greater: bool) -> bool:
    if value is None or not _INT_RE.fullmatch(value):
        return False
    return int(value) > bound if greater else int(value) < bound


def parse_label_selector(text: str | None) -> LabelMatcher:
    """Compile a label selector; the matcher takes an object's labels (None counts as no labels)."""
    requirements = _LabelParser(text or "").parse()

    def matcher(labels: dict[str, str] | None) -> bool:
        present = labels or {}
        return all(requirement(present) for requirement in requirements)

    return matcher


# --- field selectors -----------------------------------------------------------------------------------


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        raise SelectorError(f"invalid field selector {text!r}: it ends with an unfinished escape")
    parts.append("".join(current))
    return parts


def _unescape(text: str, whole: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            escaped = next(chars)
            if escaped not in "\\,=!":
                raise SelectorError(f"invalid field selector {whole!r}: invalid escape sequence \\{escaped}")
            out.append(escaped)
        else:
            out.append(char)
    return "".join(out)


def _find_operator(term: str) -> tuple[int, str] | None:
    """Position and spelling of the first unescaped operator in a term."""
    pos = 0
    while pos < len(term):
        if term[pos] == "\\":
            pos += 2
            continue
        for operator in ("!=", "==", "="):
            if term.startswith(operator, pos):
                return pos, operator
        pos += 1
    return None


def _field_value(obj: dict, path: str) -> str:
    value: object = obj
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return ""
        value = value[part]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_field_selector(text: str | None) -> FieldMatcher:
    """Compile a field selector over dotted paths of the object (metadata.name, status.phase, type ...)."""
    terms: list[tuple[str, bool, str]] = []
    for raw_term in _split_unescaped((text or "").strip(), ","):
        term = raw_term.strip()
        if not term:
            continue  # the API server skips empty terms too ("a=b," is fine)
        found = _find_operator(term)
        if found is None:
            raise SelectorError(f"invalid selector: {text!r}; can't understand {_unescape(term, text or '')!r}")
        pos, operator = found
        path = _unescape(term[:pos], text or "").strip()
        if not path:
            raise SelectorError(f"invalid field selector {text!r}: a term has no field path")
        wanted = _unescape(term[pos + len(operator) :], text or "").strip()
        terms.append((path, operator != "!=", wanted))

    def matcher(obj: dict) -> bool:
        return all((_field_value(obj, path) == wanted) is equal for path, equal, wanted in terms)

    return matcher


def matches(obj: dict, label_selector: str | None, field_selector: str | None) -> bool:
    """True when ``obj`` satisfies both selectors; an empty or missing selector selects everything.

    Both selectors are parsed before either is evaluated, so bad syntax always raises SelectorError.
    """
    by_labels = parse_label_selector(label_selector)
    by_fields = parse_field_selector(field_selector)
    return by_labels((obj.get("metadata") or {}).get("labels")) and by_fields(obj)
