"""Selectors over labels and annotations, and common metadata stamped on every object."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_ssa import set_common_metadata
from gotk_ssa.metadata import any_in_metadata, has_labels


def cm(labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "labels": labels or {}, "annotations": annotations or {}},
    }


@pytest.mark.parametrize(
    ("obj", "matches"),
    [
        (cm(labels={"a.io/ssa": "Ignore"}), True),
        (cm(annotations={"a.io/ssa": "IGNORE"}), True),
        (cm(annotations={"a.io/prune": "disabled"}), True),
        (cm(annotations={"a.io/ssa": "Merge"}), False),
        (cm(annotations={"b.io/ssa": "ignore"}), False),
        (cm(annotations={"a.io/ssa": ""}), False),
        ({"kind": "ConfigMap"}, False),
    ],
)
def test_any_pair_matches_in_labels_or_annotations_values_ignoring_case(
    obj: Any, matches: bool
) -> None:
    selector = {"a.io/ssa": "ignore", "a.io/prune": "disabled"}
    assert any_in_metadata(obj, selector) is matches


def test_owner_labels_must_all_match_exactly() -> None:
    owner = {"a.io/name": "apps", "a.io/namespace": "flux"}
    assert has_labels(cm(labels={**owner, "team": "x"}), owner)
    assert not has_labels(cm(labels={"a.io/name": "apps"}), owner)
    assert not has_labels(cm(labels={**owner, "a.io/name": "Apps"}), owner)
    assert has_labels(cm(), {})


def test_common_metadata_overrides_same_keys_and_keeps_others() -> None:
    objects = [cm(labels={"team": "old", "keep": "1"}), {"kind": "Secret"}]
    set_common_metadata(objects, labels={"team": "new"}, annotations={"note": "x"})
    assert objects[0]["metadata"]["labels"] == {"team": "new", "keep": "1"}
    assert objects[0]["metadata"]["annotations"] == {"note": "x"}
    assert objects[1]["metadata"] == {"labels": {"team": "new"}, "annotations": {"note": "x"}}
