"""Kustomization file generation and the spec overlays, checked through a real build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from gotk_api.kustomize import KustomizationSpec
from kustomize_controller.build import (
    BuildError,
    PathNotFoundError,
    generate_kustomization,
    kustomize_build,
    resolve_build_dir,
)


def spec(**fields: Any) -> KustomizationSpec:
    base = {"interval": "1m", "prune": True, "sourceRef": {"kind": "GitRepository", "name": "s"}}
    return KustomizationSpec.model_validate({**base, **fields})


def write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def config_map(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/org/web:1.0.0
"""


async def build(root: Path, path: str | None, **fields: Any) -> list[dict[str, Any]]:
    build_dir = resolve_build_dir(root, path)
    generate_kustomization(root, build_dir, spec(path=path, **fields))
    return await kustomize_build(root, build_dir)


def names(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects)


async def test_missing_kustomization_is_generated_from_all_manifests(tmp_path: Path) -> None:
    write(tmp_path / "apps" / "a.yaml", config_map("a"))
    write(tmp_path / "apps" / "nested" / "b.yml", config_map("b"))
    write(tmp_path / "apps" / "base" / "kustomization.yaml", "resources: [c.yaml]\n")
    write(tmp_path / "apps" / "base" / "c.yaml", config_map("c"))
    write(tmp_path / "apps" / "base" / "unlisted.yaml", config_map("unlisted"))
    write(tmp_path / "apps" / "README.md", "not yaml")
    write(tmp_path / "apps" / "empty.yaml", "---\n")
    result = generate_kustomization(tmp_path, tmp_path / "apps", spec())
    assert result.created
    generated = yaml.safe_load(result.path.read_text())
    assert generated["resources"] == ["./a.yaml", "./base", "./empty.yaml", "./nested/b.yml"]
    objects = await kustomize_build(tmp_path, tmp_path / "apps")
    assert names(objects) == ["ConfigMap/a", "ConfigMap/b", "ConfigMap/c"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("key: value\n", "missing kind"),
        ("apiVersion: v1\nkind: ConfigMap\n", "missing metadata.name"),
        ("a: [unclosed\n", "failed to decode"),
    ],
)
def test_non_kubernetes_yaml_fails_generation_naming_the_file(
    tmp_path: Path, content: str, problem: str
) -> None:
    write(tmp_path / "ci" / "pipeline.yaml", content)
    with pytest.raises(BuildError, match=rf"ci/pipeline\.yaml.*{problem}|{problem}.*pipeline"):
        generate_kustomization(tmp_path, tmp_path, spec())


async def test_empty_directory_builds_to_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert await build(tmp_path, "./empty") == []


async def test_existing_kustomization_without_resources_builds(tmp_path: Path) -> None:
    write(tmp_path / "kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\n")
    assert await build(tmp_path, None) == []


async def test_spec_overlays_are_applied_to_an_existing_kustomization(tmp_path: Path) -> None:
    write(tmp_path / "app" / "deploy.yaml", DEPLOYMENT)
    write(tmp_path / "app" / "cm.yaml", config_map("settings"))
    write(
        tmp_path / "app" / "kustomization.yaml",
        "resources: [deploy.yaml, cm.yaml]\n"
        "images:\n  - name: ghcr.io/org/web\n    newTag: 2.0.0\n",
    )
    write(
        tmp_path / "app" / "extra" / "kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "commonAnnotations: {component: extra}\n",
    )
    objects = await build(
        tmp_path,
        "./app",
        targetNamespace="prod",
        namePrefix="p-",
        nameSuffix="-s",
        images=[{"name": "ghcr.io/org/web", "newName": "registry.local/web"}],
        patches=[
            {
                "patch": "- op: add\n  path: /data/patched\n  value: 'yes'\n",
                "target": {"kind": "ConfigMap", "name": "settings"},
            }
        ],
        components=["extra", "missing"],
        ignoreMissingComponents=True,
    )
    by_kind = {o["kind"]: o for o in objects}
    deploy, cm = by_kind["Deployment"], by_kind["ConfigMap"]
    assert deploy["metadata"]["name"] == "p-web-s"
    assert deploy["metadata"]["namespace"] == "prod"
    image = deploy["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.local/web:2.0.0"
    assert cm["data"]["patched"] == "yes"
    assert cm["metadata"]["annotations"]["component"] == "extra"


def test_image_override_replaces_tag_and_digest_together(tmp_path: Path) -> None:
    write(
        tmp_path / "kustomization.yaml",
        "images:\n  - name: web\n    newTag: '1'\n    digest: sha256:old\n",
    )
    result = generate_kustomization(
        tmp_path, tmp_path, spec(images=[{"name": "web", "newTag": "2"}])
    )
    assert yaml.safe_load(result.path.read_text())["images"] == [{"name": "web", "newTag": "2"}]


def test_missing_component_is_kept_unless_ignored(tmp_path: Path) -> None:
    write(tmp_path / "kustomization.yaml", "resources: []\n")
    result = generate_kustomization(tmp_path, tmp_path, spec(components=["gone"]))
    assert yaml.safe_load(result.path.read_text())["components"] == ["gone"]


@pytest.mark.parametrize(
    "component", ["https://github.com/org/repo//c", "github.com/org/repo", "/abs/path"]
)
def test_remote_or_absolute_components_are_refused(tmp_path: Path, component: str) -> None:
    write(tmp_path / "kustomization.yaml", "resources: []\n")
    with pytest.raises(BuildError, match="must be a local relative path"):
        generate_kustomization(tmp_path, tmp_path, spec(components=[component]))


@pytest.mark.parametrize("path", ["../", "./apps/../../etc", "/../../"])
def test_spec_path_escaping_the_root_is_refused(tmp_path: Path, path: str) -> None:
    root = tmp_path / "artifact"
    (root / "apps").mkdir(parents=True)
    with pytest.raises(BuildError, match=r"spec\.path .* outside the artifact root"):
        resolve_build_dir(root, path)


def test_spec_path_through_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "artifact"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(BuildError, match="outside the artifact root"):
        resolve_build_dir(root, "link")


def test_missing_spec_path_is_an_artifact_failure(tmp_path: Path) -> None:
    with pytest.raises(PathNotFoundError, match="kustomization path not found") as info:
        resolve_build_dir(tmp_path, "./nope")
    assert info.value.reason == "ArtifactFailed"


@pytest.mark.parametrize(
    ("path", "expected"), [(None, ""), ("", ""), ("./a/b", "a/b"), ("/a", "a")]
)
def test_spec_path_is_relative_to_the_root(tmp_path: Path, path: str | None, expected: str) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert resolve_build_dir(tmp_path, path) == (tmp_path / expected).resolve()
