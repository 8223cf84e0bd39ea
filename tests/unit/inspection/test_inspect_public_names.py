"""The public names of gotk_inspect are what the web UI and the CLI import: pin them."""

import gotk_inspect

PUBLIC_NAMES = {
    "MAX_DEPTH",
    "Health",
    "NodeState",
    "ObjectReader",
    "ObjectRef",
    "Reference",
    "Relation",
    "State",
    "WhyNode",
    "health",
    "kube_reader",
    "object_ref",
    "references",
    "resource_of",
    "root_causes",
    "why",
}


def test_public_names_are_exactly_the_pinned_set() -> None:
    assert set(gotk_inspect.__all__) == PUBLIC_NAMES
    for name in PUBLIC_NAMES:
        assert hasattr(gotk_inspect, name)
