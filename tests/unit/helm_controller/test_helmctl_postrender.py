"""gotk's Helm 4 post-renderer plugin: what it does to rendered manifests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from gotk_runtime.tools import find_tool
from helm_controller.postrender import PLUGIN_NAME, install_plugin, post_render, render_config

MANIFESTS = """---
# Source: demo/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
  labels: {chart: demo}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: web, image: nginx:1.0}]
"""


def test_common_metadata_then_origin_labels_are_added_to_every_object() -> None:
    config = render_config(
        kustomize=[],
        labels={"team": "a", "helm.toolkit.fluxcd.io/name": "overridden"},
        annotations={"owner": "ops"},
        origin={"helm.toolkit.fluxcd.io/name": "app", "helm.toolkit.fluxcd.io/namespace": "ns"},
    )
    docs = list(yaml.safe_load_all(post_render(MANIFESTS, config)))
    assert [d["kind"] for d in docs] == ["ConfigMap", "Deployment"]
    assert docs[0]["metadata"]["labels"] == {
        "chart": "demo",
        "team": "a",
        "helm.toolkit.fluxcd.io/name": "app",
        "helm.toolkit.fluxcd.io/namespace": "ns",
    }
    assert docs[1]["metadata"]["annotations"] == {"owner": "ops"}


def test_kustomize_patches_and_images_run_first() -> None:
    config = render_config(
        kustomize=[
            {
                "patches": [
                    {
                        "patch": "- op: add\n  path: /data/b\n  value: '2'\n",
                        "target": {"kind": "ConfigMap"},
                    }
                ],
                "images": [{"name": "nginx", "newTag": "2.0"}],
            }
        ],
        labels={},
        annotations={},
        origin={"o": "x"},
        kustomize_bin=str(find_tool("kustomize")),
    )
    docs = {d["kind"]: d for d in yaml.safe_load_all(post_render(MANIFESTS, config))}
    assert docs["ConfigMap"]["data"] == {"a": "1", "b": "2"}
    image = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "nginx:2.0"
    assert docs["Deployment"]["metadata"]["labels"] == {"o": "x"}


def test_the_plugin_runs_this_module_with_its_config(tmp_path: Path) -> None:
    plugin = install_plugin(tmp_path, python=sys.executable)
    assert plugin.name == PLUGIN_NAME
    manifest = yaml.safe_load((plugin / "plugin.yaml").read_text())
    assert (manifest["type"], manifest["runtime"]) == ("postrenderer/v1", "subprocess")
    config = tmp_path / "config.json"
    config.write_text('{"origin": {"o": "x"}}')
    result = subprocess.run(
        [str(plugin / "postrender"), str(config)],
        input=MANIFESTS.encode(),
        capture_output=True,
        check=True,
    )
    docs = list(yaml.safe_load_all(result.stdout))
    assert all(d["metadata"]["labels"]["o"] == "x" for d in docs)
