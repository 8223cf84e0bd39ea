"""Drift ignore rules: label selectors, target selectors (anchored regular expressions) and
the paths that apply to an object; a bad pattern fails when the rule is compiled."""

from __future__ import annotations

import pytest
from gotk_api.objects import Obj
from gotk_ssa import IgnoreRule, InvalidIgnoreRule, ObjectSelector, ignored_paths
from gotk_ssa.ignore import LabelSelector

LABELS = {"app": "web", "tier": "front", "size": "3"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app = web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app in (db, web)", True),
        ("app in (db)", False),
        ("app notin (db)", True),
        ("missing notin (db)", True),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("size>2", True),
        ("size<3", False),
        ("missing>1", False),
        ("app=web,tier in (front,back),!missing", True),
        ("app=web,tier=back", False),
    ],
)
def test_label_selectors_match_as_kubernetes_does(selector: str, matches: bool) -> None:
    assert LabelSelector.parse(selector).matches(LABELS) is matches


@pytest.mark.parametrize("selector", ["app=(x", "size>big", "a b"])
def test_an_unparsable_label_selector_is_refused(selector: str) -> None:
    with pytest.raises(InvalidIgnoreRule):
        LabelSelector.parse(selector)


def deployment(name: str = "web", namespace: str = "apps", **labels: str) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
    }


@pytest.mark.parametrize(
    ("fields", "matches"),
    [
        ({}, True),
        ({"group": "apps", "version": "v1", "kind": "Deployment"}, True),
        ({"kind": "Deploy"}, False),
        ({"kind": "Deploy.*"}, True),
        ({"name": "web|api", "namespace": "apps"}, True),
        ({"name": "we"}, False),
        ({"group": ""}, True),
        ({"label_selector": "app=web"}, True),
        ({"label_selector": "app=db"}, False),
        ({"annotation_selector": "note"}, False),
    ],
)
def test_object_selectors_match_whole_values(fields: dict[str, str], matches: bool) -> None:
    assert ObjectSelector.compile(**fields).matches(deployment(app="web")) is matches


def test_a_bad_pattern_names_the_target_field() -> None:
    with pytest.raises(InvalidIgnoreRule, match=r"target\.kind: invalid regular expression"):
        ObjectSelector.compile(kind="Deploy(")
    with pytest.raises(InvalidIgnoreRule, match=r"target\.labelSelector: "):
        ObjectSelector.compile(label_selector="a in (b")
    with pytest.raises(InvalidIgnoreRule, match="does not start with '/'"):
        IgnoreRule.compile(["spec/replicas"])


def test_ignored_paths_are_those_of_the_rules_selecting_the_object() -> None:
    rules = [
        IgnoreRule.compile(["/spec/replicas"], ObjectSelector.compile(kind="Deployment")),
        IgnoreRule.compile(["/data"], ObjectSelector.compile(kind="ConfigMap")),
        IgnoreRule.compile(["/metadata/annotations/x"]),
    ]
    assert ignored_paths(rules, deployment()) == ["/spec/replicas", "/metadata/annotations/x"]
