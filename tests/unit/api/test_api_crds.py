"""CRD generation: checked-in files are fresh, output is stable and structural."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from gotk_api import KINDS
from gotk_api.crds import crd, crd_filename, main, render_all, stale_files
from gotk_api.registry import KindModel

CRD_DIR = Path(__file__).resolve().parents[3] / "config" / "crds"


def test_checked_in_crds_equal_fresh_generator_output() -> None:
    stale = stale_files(CRD_DIR)
    assert stale == [], f"run `python -m gotk_api.crds --out config/crds`; stale: {stale}"


def test_config_crds_holds_no_file_the_generator_does_not_write() -> None:
    assert sorted(p.name for p in CRD_DIR.glob("*.yaml")) == sorted(render_all())


def test_generation_is_byte_for_byte_stable() -> None:
    assert render_all() == render_all()


def test_check_mode_fails_on_a_stale_file_and_passes_once_written(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    target = tmp_path / "source.toolkit.fluxcd.io_gitrepositories.yaml"
    assert main(["--out", str(tmp_path), "--check"]) == 0
    target.write_text(target.read_text().replace("gitrepo\n", "gr\n"))
    assert main(["--out", str(tmp_path), "--check"]) == 1
    target.unlink()
    assert main(["--out", str(tmp_path), "--check"]) == 1


def _walk(node: dict[str, Any], path: str) -> list[str]:
    problems = []
    if "type" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        problems.append(f"{path}: no type")
    for bad in ("anyOf", "$ref", "title", "nullable"):
        if bad in node:
            problems.append(f"{path}: {bad}")
    if node.get("default", 0) is None:
        problems.append(f"{path}: null default")
    for name, child in node.get("properties", {}).items():
        problems += _walk(child, f"{path}.{name}")
    if "items" in node:
        problems += _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        problems += _walk(node["additionalProperties"], f"{path}{{}}")
    return problems


@pytest.mark.parametrize("model", KINDS, ids=lambda m: m.KIND)
def test_schema_is_structural(model: KindModel) -> None:
    schema = crd(model)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _walk(schema, model.KIND) == []


@pytest.mark.parametrize("model", KINDS, ids=lambda m: m.KIND)
def test_crd_has_status_subresource_and_flux_ready_columns(model: KindModel) -> None:
    doc = yaml.safe_load(render_all()[crd_filename(model)])
    version = doc["spec"]["versions"][0]
    assert doc["metadata"]["name"] == f"{model.plural()}.{model.GROUP}"
    assert version["subresources"] == {"status": {}}
    assert version["served"]
    assert version["storage"]
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Status"] == '.status.conditions[?(@.type=="Ready")].message'
    assert columns["Age"] == ".metadata.creationTimestamp"


@pytest.mark.parametrize(
    ("kind", "short_names", "columns"),
    [
        ("GitRepository", ["gitrepo"], ["URL", "Age", "Ready", "Status"]),
        ("OCIRepository", ["ocirepo"], ["URL", "Ready", "Status", "Age"]),
        ("HelmRepository", ["helmrepo"], ["URL", "Age", "Ready", "Status"]),
        (
            "HelmChart",
            ["hc"],
            ["Chart", "Version", "Source Kind", "Source Name", "Age", "Ready", "Status"],
        ),
        ("Bucket", None, ["Endpoint", "Age", "Ready", "Status"]),
    ],
)
def test_source_crd_names_and_columns_are_fluxs(
    kind: str, short_names: list[str] | None, columns: list[str]
) -> None:
    model = next(m for m in KINDS if kind == m.KIND)
    doc = crd(model)
    assert doc["spec"]["names"].get("shortNames") == short_names
    assert doc["spec"]["names"]["categories"] == ["all", "fluxcd", "fluxcd-sources"]
    assert [c["name"] for c in doc["spec"]["versions"][0]["additionalPrinterColumns"]] == columns
