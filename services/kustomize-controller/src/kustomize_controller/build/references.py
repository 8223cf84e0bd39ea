"""Every file, directory and URL a kustomization tree names, found before kustomize runs.

kustomize reads far more than `resources`: patches, generator sources, CRDs, transformer
configurations, replacements, OpenAPI schemas, Helm values, plugin configurations (inline
or in files, whose own fields name more files), and its file loader fetches any of them
over http(s). `collect_references` walks the kustomization schema (kustomize
api/types/kustomization.go and the builtin plugin configs) for each kustomization reachable
from the build directory, and refuses, naming the kustomization file, the field and the
value, any remote reference or any path that resolves (symlinks included) outside the
artifact. What it returns tells the SOPS step which files kustomize will read as objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from gotk_artifacts.yaml_guard import load_all_yaml, load_yaml

from kustomize_controller.build.errors import BuildError
from kustomize_controller.build.generator import find_kustomization_file, is_remote_reference

__all__ = [
    "Entry",
    "Reference",
    "ReferenceTree",
    "Role",
    "collect_references",
    "kustomization_references",
    "plugin_references",
]

Role = Literal["resource", "patch", "generator-source", "plugin", "file", "directory", "url"]
"""How kustomize uses what an entry names:
- resource: objects, or a kustomization directory (resources, bases, components)
- patch: a patch file (patches, patchesStrategicMerge, patchesJson6902)
- generator-source: data of a ConfigMap or Secret generator (files, envs, env)
- plugin: a plugin configuration file, or a kustomization directory of them
- file / directory: read as data or searched (crds, configurations, replacements, …)
- url: a location that is remote by nature (a Helm chart repository)
"""

_PLUGIN_FIELDS = ("generators", "transformers", "validators")


@dataclass(frozen=True, slots=True)
class Reference:
    kfile: Path
    """The kustomization (or plugin configuration) file that names it."""
    field: str
    """Where, e.g. `patches[0].path` or `transformers[1] (PatchTransformer).path`."""
    value: str
    role: Role
    target: Path | None = None
    """The resolved path inside the artifact (None for a url)."""
    generator: str = ""
    """`secretGenerator` or `configMapGenerator` for a generator source."""
    key: str = ""
    """For a generator `files` entry, the key its data gets (`key=` or the path)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a kustomization or plugin configuration that names something."""

    field: str
    value: Any
    role: Role
    generator: str = ""
    key: str = ""


@dataclass(slots=True)
class ReferenceTree:
    kustomizations: list[Path] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)

    def of_role(self, *roles: Role) -> Iterator[Reference]:
        return (r for r in self.references if r.role in roles)


def kustomization_references(document: dict[str, Any]) -> Iterator[Entry]:
    """Every entry of one kustomization that names a file, directory or URL."""
    for name in ("resources", "bases", "components"):
        for i, value in enumerate(_list(document, name)):
            yield Entry(f"{name}[{i}]", value, "resource")
    for name in ("crds", "configurations"):
        for i, value in enumerate(_list(document, name)):
            yield Entry(f"{name}[{i}]", value, "file")
    for name in _PLUGIN_FIELDS:
        for i, value in enumerate(_list(document, name)):
            if not _is_inline(value):
                yield Entry(f"{name}[{i}]", value, "plugin")
    for i, value in enumerate(_list(document, "patchesStrategicMerge")):
        if not _is_inline(value):
            yield Entry(f"patchesStrategicMerge[{i}]", value, "patch")
    for name in ("patches", "patchesJson6902"):
        for i, patch in enumerate(_list(document, name)):
            if isinstance(patch, dict) and patch.get("path") is not None:
                yield Entry(f"{name}[{i}].path", patch["path"], "patch")
    for name in ("configMapGenerator", "secretGenerator"):
        for i, generator in enumerate(_list(document, name)):
            if isinstance(generator, dict):
                yield from _generator_sources(generator, f"{name}[{i}].", name)
    for i, replacement in enumerate(_list(document, "replacements")):
        if isinstance(replacement, dict) and replacement.get("path") is not None:
            yield Entry(f"replacements[{i}].path", replacement["path"], "file")
    openapi = document.get("openapi")
    if isinstance(openapi, dict) and openapi.get("path") is not None:
        yield Entry("openapi.path", openapi["path"], "file")
    yield from _helm_references(document)


def _generator_sources(generator: dict[str, Any], prefix: str, kind: str) -> Iterator[Entry]:
    for j, entry in enumerate(_list(generator, "files")):
        # `[{key}=]{path}`: the key names the file's data in the generated object.
        key, path = entry, entry
        if isinstance(entry, str) and "=" in entry:
            key, _, path = entry.partition("=")
        yield Entry(f"{prefix}files[{j}]", path, "generator-source", kind, str(key))
    for j, entry in enumerate(_list(generator, "envs")):
        yield Entry(f"{prefix}envs[{j}]", entry, "generator-source", kind)
    if generator.get("env") is not None:
        yield Entry(f"{prefix}env", generator["env"], "generator-source", kind)
    for j, entry in enumerate(_list(generator, "ageIdentities")):
        yield Entry(f"{prefix}ageIdentities[{j}]", entry, "file")


def _helm_references(document: dict[str, Any]) -> Iterator[Entry]:
    globals_ = document.get("helmGlobals")
    if isinstance(globals_, dict):
        for name in ("chartHome", "configHome"):
            if globals_.get(name) is not None:
                yield Entry(f"helmGlobals.{name}", globals_[name], "directory")
    for i, chart in enumerate(_list(document, "helmCharts")):
        if isinstance(chart, dict):
            yield from _chart_references(chart, f"helmCharts[{i}].")
    fields: tuple[tuple[str, Role], ...] = (
        ("chartRepoUrl", "url"),
        ("chartHome", "directory"),
        ("helmHome", "directory"),
        ("values", "file"),
    )
    for i, args in enumerate(_list(document, "helmChartInflationGenerator")):
        if isinstance(args, dict):
            for name, role in fields:
                if args.get(name) is not None:
                    yield Entry(f"helmChartInflationGenerator[{i}].{name}", args[name], role)


def _chart_references(chart: dict[str, Any], prefix: str) -> Iterator[Entry]:
    if chart.get("repo") is not None:
        yield Entry(f"{prefix}repo", chart["repo"], "url")
    if chart.get("valuesFile") is not None:
        yield Entry(f"{prefix}valuesFile", chart["valuesFile"], "file")
    for j, value in enumerate(_list(chart, "additionalValuesFiles")):
        yield Entry(f"{prefix}additionalValuesFiles[{j}]", value, "file")


def plugin_references(config: dict[str, Any]) -> Iterator[Entry]:
    """The paths a builtin plugin configuration names (PatchTransformer's `path`, …)."""
    kind = str(config.get("kind") or "")
    prefix = f"({kind})."
    if kind in ("ConfigMapGenerator", "SecretGenerator"):
        generator = "secretGenerator" if kind == "SecretGenerator" else "configMapGenerator"
        yield from _generator_sources(config, prefix, generator)
    elif kind in ("PatchTransformer", "PatchJson6902Transformer") and config.get("path"):
        yield Entry(f"{prefix}path", config["path"], "patch")
    elif kind == "PatchStrategicMergeTransformer":
        for j, value in enumerate(_list(config, "paths")):
            yield Entry(f"{prefix}paths[{j}]", value, "patch")
    elif kind == "ReplacementTransformer":
        for j, replacement in enumerate(_list(config, "replacements")):
            if isinstance(replacement, dict) and replacement.get("path") is not None:
                yield Entry(f"{prefix}replacements[{j}].path", replacement["path"], "file")
    elif kind == "HelmChartInflationGenerator":
        yield from _chart_references(config, prefix)
        for name in ("chartHome", "configHome"):
            if config.get(name) is not None:
                yield Entry(f"{prefix}{name}", config[name], "directory")


def collect_references(root: Path, build_dir: Path) -> ReferenceTree:
    """Walk every kustomization reachable from `build_dir`; refuse what leaves `root`."""
    real_root = root.resolve()
    tree = ReferenceTree()
    pending, seen = [build_dir.resolve()], set[Path]()
    while pending:
        directory = pending.pop()
        if directory in seen:
            continue
        seen.add(directory)
        kfile = find_kustomization_file(directory)
        if kfile is None:
            continue
        tree.kustomizations.append(kfile)
        where = _relative(kfile, real_root)
        document = _load_mapping(kfile, where)
        for entry in kustomization_references(document):
            ref = _checked(real_root, directory, kfile, where, entry)
            tree.references.append(ref)
            if ref.target is None or ref.role not in ("resource", "plugin"):
                continue
            if ref.target.is_dir():
                pending.append(ref.target)
            elif ref.role == "plugin" and ref.target.is_file():
                _plugin_file(real_root, ref, tree)
        for name in _PLUGIN_FIELDS:
            for i, value in enumerate(_list(document, name)):
                if _is_inline(value):
                    configs = _load_configs(value, f"{where}: {name}[{i}]")
                    _plugin_configs(
                        real_root, directory, kfile, where, f"{name}[{i}]", configs, tree
                    )
    return tree


def _plugin_file(real_root: Path, ref: Reference, tree: ReferenceTree) -> None:
    assert ref.target is not None
    where = _relative(ref.target, real_root)
    configs = _load_configs(ref.target.read_text(encoding="utf-8"), where)
    _plugin_configs(real_root, ref.target.parent, ref.target, where, ref.field, configs, tree)


def _plugin_configs(
    real_root: Path,
    directory: Path,
    kfile: Path,
    where: str,
    fld: str,
    configs: list[Any],
    tree: ReferenceTree,
) -> None:
    for config in configs:
        if isinstance(config, dict):
            for entry in plugin_references(config):
                named = Entry(
                    f"{fld} {entry.field}", entry.value, entry.role, entry.generator, entry.key
                )
                tree.references.append(_checked(real_root, directory, kfile, where, named))


def _checked(real_root: Path, directory: Path, kfile: Path, where: str, entry: Entry) -> Reference:
    fld, value, role = entry.field, entry.value, entry.role
    if not isinstance(value, str) or not value:
        raise BuildError(f"{where}: {fld} entry {value!r} is not a path")
    # A `url` field (a chart repository) names a download location whatever its spelling.
    if role == "url" or is_remote_reference(value):
        raise BuildError(
            f"{where}: remote {fld} entry '{value}' is not allowed; "
            "only paths inside the source artifact can be built"
        )
    target = (directory / value.removeprefix("file://")).resolve()
    if not target.is_relative_to(real_root):
        raise BuildError(f"{where}: {fld} entry '{value}' points outside the artifact")
    return Reference(kfile, fld, value, role, target, entry.generator, entry.key)


def _is_inline(value: Any) -> bool:
    """An inline patch or plugin configuration rather than a path (kustomize reads a value
    that is no file as inline content)."""
    if not isinstance(value, str):
        return True
    if "\n" in value:
        return True
    try:
        return isinstance(yaml.safe_load(value), dict | list)
    except yaml.YAMLError:
        return False


def _load_mapping(path: Path, where: str) -> dict[str, Any]:
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BuildError(f"{where}: invalid YAML: {exc}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise BuildError(f"{where}: not a YAML mapping")
    return document


def _load_configs(text: Any, where: str) -> list[Any]:
    if not isinstance(text, str):
        return [text]
    try:
        return load_all_yaml(text)
    except yaml.YAMLError as exc:
        raise BuildError(f"{where}: invalid YAML: {exc}") from exc


def _list(document: dict[str, Any], name: str) -> list[Any]:
    # kustomize refuses a kustomization whose list field is not a list, before reading it.
    value = document.get(name)
    return value if isinstance(value, list) else []


def _relative(path: Path, real_root: Path) -> str:
    try:
        return path.relative_to(real_root).as_posix()
    except ValueError:
        return path.name
