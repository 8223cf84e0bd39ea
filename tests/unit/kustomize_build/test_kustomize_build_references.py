"""Every kustomization field that names a file, directory or URL is checked before kustomize
runs: a path leaving the artifact and a remote URL are refused, naming the kustomization
file, the field and the value, and the kustomize binary is never started.

kustomize's root-only load restrictor would refuse most `../` files itself, but not with a
message naming the field, and it fetches http(s) URLs in any file field (patches, generator
sources, replacements, Helm values, plugin configurations) — so nothing is left to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gotk_runtime import process
from kustomize_controller.build import BuildError, kustomize_build
from kustomize_controller.build.references import collect_references

OUTSIDE = "../outside.yaml"
REMOTE = "https://example.com/evil.yaml"

# (field as the error names it, kustomization text with {v} for the value)
FIELDS = [
    ("resources[0]", "resources: ['{v}']"),
    ("bases[0]", "bases: ['{v}']"),
    ("components[0]", "components: ['{v}']"),
    ("crds[0]", "crds: ['{v}']"),
    ("configurations[0]", "configurations: ['{v}']"),
    ("generators[0]", "generators: ['{v}']"),
    ("transformers[0]", "transformers: ['{v}']"),
    ("validators[0]", "validators: ['{v}']"),
    ("patchesStrategicMerge[0]", "patchesStrategicMerge: ['{v}']"),
    ("patches[0].path", "patches:\n- path: '{v}'\n  target: {{kind: ConfigMap}}"),
    (
        "patchesJson6902[0].path",
        "patchesJson6902:\n- path: '{v}'\n  target: {{version: v1, kind: ConfigMap, name: a}}",
    ),
    ("configMapGenerator[0].files[0]", "configMapGenerator:\n- name: c\n  files: ['{v}']"),
    ("configMapGenerator[0].files[0]", "configMapGenerator:\n- name: c\n  files: ['key={v}']"),
    ("configMapGenerator[0].envs[0]", "configMapGenerator:\n- name: c\n  envs: ['{v}']"),
    ("configMapGenerator[0].env", "configMapGenerator:\n- name: c\n  env: '{v}'"),
    ("secretGenerator[0].files[0]", "secretGenerator:\n- name: s\n  files: ['{v}']"),
    ("secretGenerator[0].envs[0]", "secretGenerator:\n- name: s\n  envs: ['{v}']"),
    ("replacements[0].path", "replacements:\n- path: '{v}'"),
    ("openapi.path", "openapi:\n  path: '{v}'"),
    ("helmCharts[0].valuesFile", "helmCharts:\n- name: c\n  valuesFile: '{v}'"),
    (
        "helmCharts[0].additionalValuesFiles[0]",
        "helmCharts:\n- name: c\n  additionalValuesFiles: ['{v}']",
    ),
    ("helmGlobals.chartHome", "helmGlobals:\n  chartHome: '{v}'"),
    ("helmGlobals.configHome", "helmGlobals:\n  configHome: '{v}'"),
    (
        "helmChartInflationGenerator[0].values",
        "helmChartInflationGenerator:\n- chartName: c\n  values: '{v}'",
    ),
    (
        "transformers[0] (PatchTransformer).path",
        "transformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n"
        "  metadata: {{name: p}}\n  path: '{v}'",
    ),
    (
        "generators[0] (SecretGenerator).envs[0]",
        "generators:\n- |\n  apiVersion: builtin\n  kind: SecretGenerator\n"
        "  metadata: {{name: s}}\n  envs: ['{v}']",
    ),
    (
        "transformers[0] (PatchStrategicMergeTransformer).paths[0]",
        "transformers:\n- |\n  apiVersion: builtin\n  kind: PatchStrategicMergeTransformer\n"
        "  metadata: {{name: p}}\n  paths: ['{v}']",
    ),
    (
        "transformers[0] (ReplacementTransformer).replacements[0].path",
        "transformers:\n- |\n  apiVersion: builtin\n  kind: ReplacementTransformer\n"
        "  metadata: {{name: r}}\n  replacements:\n  - path: '{v}'",
    ),
    (
        "generators[0] (HelmChartInflationGenerator).valuesFile",
        "generators:\n- |\n  apiVersion: builtin\n  kind: HelmChartInflationGenerator\n"
        "  metadata: {{name: h}}\n  name: c\n  valuesFile: '{v}'",
    ),
]
CASES = [
    pytest.param(field, text, value, id=f"{field}-{kind}")
    for field, text in FIELDS
    for kind, value in (("outside", OUTSIDE), ("remote", REMOTE))
]


def write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


@pytest.fixture
def kustomize_runs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every child process started, kustomize's included (a spy: the point is that there
    is none)."""
    calls: list[Any] = []
    real_run = process.run

    async def spy(argv: Any, **kwargs: Any) -> Any:
        calls.append(argv)
        return await real_run(argv, **kwargs)

    monkeypatch.setattr(process, "run", spy)
    return calls


@pytest.mark.parametrize(("field", "text", "value"), CASES)
async def test_each_field_naming_a_path_outside_or_a_url_is_refused(
    tmp_path: Path, kustomize_runs: list[Any], field: str, text: str, value: str
) -> None:
    write(tmp_path / "outside.yaml", "stolen: true\n")
    root = tmp_path / "artifact"
    write(root / "kustomization.yaml", text.format(v=value) + "\n")
    with pytest.raises(BuildError) as caught:
        await kustomize_build(root, root)
    message = str(caught.value)
    assert message.startswith("kustomization.yaml: "), message
    if value == REMOTE:
        assert f"remote {field} entry '{value}' is not allowed" in message
    else:
        assert f"{field} entry '" in message
        assert "points outside the artifact" in message
        assert value in message
    assert kustomize_runs == []


@pytest.mark.parametrize("value", [OUTSIDE, REMOTE])
async def test_a_plugin_configuration_file_is_checked_too(
    tmp_path: Path, kustomize_runs: list[Any], value: str
) -> None:
    root = tmp_path / "artifact"
    path = f"../{value}" if value == OUTSIDE else value
    write(
        root / "app" / "patcher.yaml",
        f"apiVersion: builtin\nkind: PatchTransformer\nmetadata: {{name: p}}\npath: '{path}'\n",
    )
    write(root / "app" / "kustomization.yaml", "transformers: [patcher.yaml]\n")
    with pytest.raises(
        BuildError,
        match=r"^app/patcher\.yaml: (remote )?transformers\[0\] \(PatchTransformer\)\.path",
    ):
        await kustomize_build(root, root / "app")
    assert kustomize_runs == []


async def test_a_field_of_a_nested_base_is_checked(
    tmp_path: Path, kustomize_runs: list[Any]
) -> None:
    root = tmp_path / "artifact"
    write(
        root / "base" / "kustomization.yaml", f"secretGenerator:\n- name: s\n  envs: ['{REMOTE}']\n"
    )
    write(root / "app" / "kustomization.yaml", "resources: [../base]\n")
    with pytest.raises(
        BuildError, match=r"^base/kustomization\.yaml: remote secretGenerator\[0\]\.envs\[0\]"
    ):
        await kustomize_build(root, root / "app")
    assert kustomize_runs == []


async def test_a_symlink_leading_out_is_refused(tmp_path: Path, kustomize_runs: list[Any]) -> None:
    write(tmp_path / "outside.yaml", "stolen: true\n")
    root = tmp_path / "artifact"
    root.mkdir()
    (root / "innocent.env").symlink_to(tmp_path / "outside.yaml")
    write(root / "kustomization.yaml", "configMapGenerator:\n- name: c\n  envs: [innocent.env]\n")
    with pytest.raises(BuildError, match=r"envs\[0\] entry 'innocent\.env' points outside"):
        await kustomize_build(root, root)
    assert kustomize_runs == []


async def test_inline_patches_and_sound_references_build(
    tmp_path: Path, kustomize_runs: list[Any]
) -> None:
    write(tmp_path / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    write(
        tmp_path / "patch.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {from: file}\n",
    )
    write(tmp_path / "app.env", "A=1\n")
    write(
        tmp_path / "kustomization.yaml",
        "resources: [cm.yaml]\n"
        "patchesStrategicMerge:\n- patch.yaml\n"
        "- |-\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a, annotations: {x: y}}\n"
        "configMapGenerator:\n- name: gen\n  envs: [app.env]\n"
        "generatorOptions: {disableNameSuffixHash: true}\n",
    )
    objects = await kustomize_build(tmp_path, tmp_path)
    by_name = {o["metadata"]["name"]: o for o in objects}
    assert by_name["a"]["metadata"]["labels"] == {"from": "file"}
    assert by_name["a"]["metadata"]["annotations"] == {"x": "y"}
    assert by_name["gen"]["data"] == {"A": "1"}
    assert len(kustomize_runs) == 1
    tree = collect_references(tmp_path, tmp_path)
    assert [(r.field, r.role) for r in tree.references] == [
        ("resources[0]", "resource"),
        ("patchesStrategicMerge[0]", "patch"),
        ("configMapGenerator[0].envs[0]", "generator-source"),
    ]
