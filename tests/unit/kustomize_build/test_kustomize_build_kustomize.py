"""`kustomize build` through the real binary: confinement, remote bases, errors, parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from kustomize_controller.build import BuildError, kustomize_build, parse_manifests
from kustomize_controller.build.kustomize import check_references


def write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


async def test_overlay_builds_from_a_sibling_base_inside_the_root(tmp_path: Path) -> None:
    write(tmp_path / "base" / "cm.yaml", CM.format(name="base"))
    write(tmp_path / "base" / "kustomization.yaml", "resources: [cm.yaml]\n")
    write(tmp_path / "prod" / "kustomization.yaml", "resources: [../base]\nnamePrefix: prod-\n")
    objects = await kustomize_build(tmp_path, tmp_path / "prod")
    assert [o["metadata"]["name"] for o in objects] == ["prod-base"]


@pytest.mark.parametrize(
    "ref",
    [
        "https://github.com/org/repo//deploy?ref=v1",
        "github.com/org/repo/deploy",
        "git@github.com:org/repo.git",
        "git::https://example.com/repo.git",
        "ssh://git@example.com/repo.git",
        "http://example.com/cm.yaml",
    ],
)
async def test_remote_resources_are_refused_before_building(tmp_path: Path, ref: str) -> None:
    write(tmp_path / "kustomization.yaml", f"resources:\n  - {ref}\n")
    with pytest.raises(BuildError, match=r"remote resources\[0\] entry .* is not allowed") as info:
        await kustomize_build(tmp_path, tmp_path)
    assert info.value.reason == "BuildFailed"


async def test_remote_component_in_a_nested_base_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "base" / "kustomization.yaml", "components: [https://example.com/c]\n")
    write(tmp_path / "app" / "kustomization.yaml", "resources: [../base]\n")
    with pytest.raises(BuildError, match=r"base/kustomization\.yaml: remote components"):
        await kustomize_build(tmp_path, tmp_path / "app")


async def test_base_outside_the_artifact_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "outside" / "cm.yaml", CM.format(name="stolen"))
    write(tmp_path / "outside" / "kustomization.yaml", "resources: [cm.yaml]\n")
    root = tmp_path / "artifact"
    write(root / "kustomization.yaml", "resources: [../outside]\n")
    with pytest.raises(BuildError, match="points outside the artifact"):
        await kustomize_build(root, root)


async def test_files_outside_the_kustomization_root_are_refused_by_kustomize(
    tmp_path: Path,
) -> None:
    write(tmp_path / "secret.yaml", CM.format(name="outside"))
    write(tmp_path / "app" / "kustomization.yaml", "resources: [../secret.yaml]\n")
    with pytest.raises(BuildError, match="kustomize build failed") as info:
        await kustomize_build(tmp_path, tmp_path / "app")
    assert str(tmp_path) not in str(info.value)


async def test_invalid_kustomization_is_a_build_failure(tmp_path: Path) -> None:
    write(tmp_path / "kustomization.yaml", "resources: [missing.yaml]\n")
    with pytest.raises(BuildError, match=r"kustomize build failed.*missing\.yaml"):
        await kustomize_build(tmp_path, tmp_path)


def test_references_check_follows_nested_bases_without_looping(tmp_path: Path) -> None:
    write(tmp_path / "a" / "kustomization.yaml", "resources: [../b]\n")
    write(tmp_path / "b" / "kustomization.yaml", "resources: [../a, cm.yaml]\n")
    check_references(tmp_path, tmp_path / "a")


def test_parse_manifests_returns_objects_in_order() -> None:
    text = CM.format(name="a") + "---\n" + CM.format(name="b") + "---\n"
    assert [o["metadata"]["name"] for o in parse_manifests(text)] == ["a", "b"]


@pytest.mark.parametrize(
    "text",
    [
        "kind: ConfigMap\nmetadata: {name: a}\n",
        "apiVersion: v1\nmetadata: {name: a}\n",
        "apiVersion: v1\nkind: ConfigMap\n",
        "- just\n- a list\n",
        "a: [unclosed\n",
    ],
)
def test_parse_manifests_rejects_non_objects(text: str) -> None:
    with pytest.raises(BuildError):
        parse_manifests(text)


def _alias_bomb() -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "data:"]
    lines.append('  a0: &a0 "lollollollollollollollollollol"')
    for i in range(1, 12):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


async def test_alias_bomb_stops_kustomize_at_its_memory_limit(tmp_path: Path) -> None:
    write(tmp_path / "kustomization.yaml", "resources: [bomb.yaml]\n")
    write(tmp_path / "bomb.yaml", _alias_bomb())
    with pytest.raises(BuildError, match=r"reached its memory limit \(2 GiB\).*YAML aliases"):
        await kustomize_build(tmp_path, tmp_path)
