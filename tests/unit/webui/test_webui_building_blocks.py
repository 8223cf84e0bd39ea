"""The UI's pure parts: escaping, flags, graph layout, inventory ids, kstatus."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_inspect import ObjectRef
from gotk_ui.html import Html, el, join
from gotk_ui.inventory import InventoryEntry, parse_inventory, tree
from gotk_ui.kstatus import live_status
from gotk_ui.options import parse_options
from gotk_ui.views.graph import layout


def test_object_data_never_becomes_markup() -> None:
    hostile = '<script>alert(1)</script>" onmouseover="x'
    html = el("a", hostile, href=f"/x?{hostile}", title=hostile)
    assert "<script>" not in html
    assert html.count('"') == 6  # three attributes, each quoted once
    assert join(hostile, Html("<b>ok</b>")).endswith("<b>ok</b>")


def test_flags_default_to_loopback_and_read_the_token_from_env_or_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("GOTK_UI_AUTH_TOKEN", raising=False)
    options = parse_options([])
    assert options.host_port == ("127.0.0.1", 9080)
    assert options.auth_token is None
    monkeypatch.setenv("GOTK_UI_AUTH_TOKEN", "from-env")
    assert parse_options(["--addr=:8000"]).auth_token == "from-env"
    assert parse_options(["--addr=:8000"]).host_port == ("0.0.0.0", 8000)
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert parse_options([f"--auth-token-file={token_file}"]).auth_token == "from-file"
    with pytest.raises(SystemExit):
        parse_options(["--addr=nonsense"])


def _obj(kind: str, name: str, **spec: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "namespace": "ns"}, "spec": spec}


def _nothing(ref: ObjectRef) -> None:
    return None


def test_graph_layers_sources_before_appliers_before_dependents() -> None:
    objects = [
        _obj("Kustomization", "apps", sourceRef={"kind": "GitRepository", "name": "repo"},
             dependsOn=[{"name": "infra"}]),
        _obj("Kustomization", "infra", sourceRef={"kind": "GitRepository", "name": "repo"}),
        _obj("GitRepository", "repo"),
        _obj("Kustomization", "loop-a", dependsOn=[{"name": "loop-b"}],
             sourceRef={"kind": "GitRepository", "name": "repo"}),
        _obj("Kustomization", "loop-b", dependsOn=[{"name": "loop-a"}],
             sourceRef={"kind": "GitRepository", "name": "repo"}),
    ]  # fmt: skip
    nodes, edges = layout(objects, _nothing)
    layers = {ref.name: node.layer for ref, node in nodes.items()}
    assert layers["repo"] == 0
    assert layers["infra"] == 1
    assert layers["apps"] == 2
    assert {layers["loop-a"], layers["loop-b"]} <= {1, 2}  # a cycle still gets drawn
    assert len(edges) == 7


def test_inventory_ids_parse_into_a_namespace_kind_tree() -> None:
    obj = {
        "status": {
            "inventory": {
                "entries": [
                    {"id": "apps_web_apps_Deployment", "v": "v1"},
                    {"id": "_apps__Namespace", "v": "v1"},
                    {"id": "apps_web__Service", "v": "v1"},
                    {"id": "broken", "v": "v1"},
                ]
            }
        }
    }
    entries = parse_inventory(obj)
    assert entries[0] == InventoryEntry("", "apps", "", "Namespace", "v1")
    assert entries[1].api_version == "apps/v1"
    assert {ns: sorted(kinds) for ns, kinds in tree(entries).items()} == {
        "": ["Namespace"],
        "apps": ["Deployment", "Service"],
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (None, "NotFound"),
        ({"kind": "ConfigMap", "metadata": {}}, "Current"),
        ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 2},
          "status": {"observedGeneration": 1}}, "InProgress"),
        ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}, "spec": {"replicas": 2},
          "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                     "updatedReplicas": 2,
                     "conditions": [{"type": "Available", "status": "True"}]}}, "Current"),
        ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}, "spec": {"replicas": 2},
          "status": {"availableReplicas": 1}}, "InProgress"),
        ({"apiVersion": "batch/v1", "kind": "Job", "metadata": {}, "status": {"conditions": [
            {"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}},
         "Failed"),
        ({"kind": "Widget", "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}},
         "Terminating"),
    ],
    ids=["missing", "configmap", "new-generation", "deployment-ready",
         "deployment-rolling", "job-failed", "terminating"],
)  # fmt: skip
def test_live_status(obj: dict[str, Any] | None, expected: str) -> None:
    assert live_status(obj).status == expected
