"""Label and field selectors of the sandbox API server (tests/sandbox/selectors.py)."""

from __future__ import annotations

import pytest

from tests.sandbox import selectors

LABELS = {"app": "web", "tier": "front", "env": "", "example.com/owner": "solo", "replicas": "3"}

LABEL_CASES = [
    ("", True),
    ("   ", True),
    ("app=web", True),
    ("app==web", True),
    ("app = web", True),
    ("app=db", False),
    ("app!=db", True),
    ("app!=web", False),
    ("missing!=x", True),  # != also selects objects without the label
    ("missing=x", False),
    ("env=", True),  # empty value
    ("env==", True),
    ("app==", False),
    ("env!=", False),
    ("app", True),
    ("missing", False),
    ("!missing", True),
    ("!app", False),
    ("! app", False),
    ("app in (web,db)", True),
    ("app in ( db , web )", True),
    ("app in (db)", False),
    ("missing in (x)", False),
    ("app notin (db,cache)", True),
    ("app notin (web)", False),
    ("missing notin (x)", True),  # notin also selects objects without the label
    ("env in (,x)", True),  # an empty member selects the empty value
    ("example.com/owner=solo", True),
    ("example.com/owner in (solo),tier=front", True),
    ("app=web,tier=back", False),  # comma is AND
    ("app=web, tier=front, !missing, env", True),
    ("replicas>2", True),
    ("replicas>3", False),
    ("replicas<4", True),
    ("app>1", False),  # not a number
    ("missing<10", False),
    ("in=x", False),  # keywords are fine as keys
    ("a.b-c_d=e.f-g_h", False),
]


@pytest.mark.parametrize(("selector", "expected"), LABEL_CASES)
def test_label_selector(selector: str, expected: bool) -> None:
    assert selectors.parse_label_selector(selector)(LABELS) is expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("", True), ("!app", True), ("app", False), ("app!=web", True), ("app notin (web)", True)],
)
def test_label_selector_on_an_object_without_labels(selector: str, expected: bool) -> None:
    assert selectors.parse_label_selector(selector)({}) is expected
    assert selectors.parse_label_selector(selector)(None) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "selector",
    [
        "app=web=x",
        "app=web,",
        ",app=web",
        "app web",
        "app in web",
        "app in (web",
        "app in ()",
        "app notin ()",
        "app in (a b)",
        "!",
        "!app=web",
        "=web",
        "app >= 3",
        "app>x",
        "app<",
        "app)",
        "-app=x",
        "app=-x",
        "app=" + "v" * 64,
        "Example.com/owner=x",
        "/owner=x",
    ],
)
def test_label_selector_syntax_errors(selector: str) -> None:
    with pytest.raises(selectors.SelectorError) as caught:
        selectors.parse_label_selector(selector)
    assert selector in str(caught.value)


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "network-node1-0", "namespace": "solo", "labels": {"app": "network-node1"}},
    "spec": {"nodeName": "kind-worker", "hostNetwork": False, "priority": 0},
    "status": {"phase": "Running", "podIP": "10.0.0.5"},
}
SECRET = {"kind": "Secret", "metadata": {"name": "a,b=c", "namespace": "solo"}, "type": "helm.sh/release.v1"}

FIELD_CASES = [
    (POD, "", True),
    (POD, "metadata.name=network-node1-0", True),
    (POD, "metadata.name==network-node1-0", True),
    (POD, "metadata.name!=network-node1-0", False),
    (POD, "metadata.namespace=solo,status.phase=Running", True),
    (POD, "metadata.namespace=solo,status.phase!=Running", False),
    (POD, "status.phase=Pending", False),
    (POD, "spec.nodeName=kind-worker", True),
    (POD, "spec.nodeName=", False),
    (POD, "spec.missing=", True),  # a missing field reads as ""
    (POD, "spec.missing!=", False),
    (POD, "spec.hostNetwork=false", True),
    (POD, "spec.priority=0", True),
    (POD, "metadata.name=network-node1-0,", True),  # empty terms are skipped
    (POD, " metadata.name = network-node1-0 ", True),
    (POD, "metadata.labels.app=network-node1", True),
    (POD, "status.phase.deeper=x", False),  # a path through a scalar is missing
    (SECRET, "type=helm.sh/release.v1", True),
    (SECRET, "type!=helm.sh/release.v1", False),
    (SECRET, r"metadata.name=a\,b\=c", True),  # escaped separator and operator
    (SECRET, r"metadata.name=a\,b\=c,type=Opaque", False),
]


@pytest.mark.parametrize(("obj", "selector", "expected"), FIELD_CASES)
def test_field_selector(obj: dict, selector: str, expected: bool) -> None:
    assert selectors.parse_field_selector(selector)(obj) is expected


@pytest.mark.parametrize(
    "selector",
    ["metadata.name", "metadata.name=x,status.phase", "=x", r"metadata.name=x\q", "metadata.name=x\\"],
)
def test_field_selector_syntax_errors(selector: str) -> None:
    with pytest.raises(selectors.SelectorError):
        selectors.parse_field_selector(selector)


@pytest.mark.parametrize(
    ("label_selector", "field_selector", "expected"),
    [
        (None, None, True),
        ("", "", True),
        ("app=network-node1", None, True),
        (None, "metadata.namespace=solo", True),
        ("app=network-node1", "metadata.namespace=solo", True),
        ("app=network-node1", "metadata.namespace=other", False),
        ("app=other", "metadata.namespace=solo", False),
        ("app in (network-node1, network-node2)", "status.phase!=Failed", True),
    ],
)
def test_matches_combines_both_selectors(
    label_selector: str | None, field_selector: str | None, expected: bool
) -> None:
    assert selectors.matches(POD, label_selector, field_selector) is expected


def test_matches_an_object_without_metadata() -> None:
    assert selectors.matches({"kind": "X"}, "!app", "metadata.name=") is True
    assert selectors.matches({"kind": "X", "metadata": None}, "app", None) is False


@pytest.mark.parametrize(("label_selector", "field_selector"), [("app=", "metadata.name"), ("app in", None)])
def test_matches_raises_on_bad_syntax(label_selector: str, field_selector: str | None) -> None:
    with pytest.raises(selectors.SelectorError):
        selectors.matches(POD, label_selector, field_selector)
