"""Packaging a chart directory with the real `helm` binary: dependencies, then the .tgz.

helm runs with its config, cache and data homes inside the build's own temp directory, so
builds never share or leak repository credentials, and with a timeout that kills it.
Dependencies follow Flux's rules: local ones (no repository, or `file://`) must stay inside
the source root; remote ones must be `http(s)://` or `oci://` (no `@alias` references);
credentials come from a HelmRepository in the same namespace with the same URL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from gotk_runtime.process import ProcessError, run
from gotk_runtime.tools import ToolNotFound, find_tool

from source_controller.helm.chart_archive import ChartMetadata
from source_controller.helm.errors import ChartPackageError, DependencyBuildError
from source_controller.helm.values import safe_join

__all__ = [
    "DependencyRepository",
    "HelmPackager",
    "check_chart_files",
    "normalize_repository_url",
    "remote_dependency_urls",
]


@dataclass(frozen=True, slots=True, repr=False)
class DependencyRepository:
    """A chart repository a dependency is fetched from, with its credentials if any."""

    url: str
    username: str = ""
    password: str = ""
    ca: bytes | None = None
    cert: bytes | None = None
    key: bytes | None = None
    pass_credentials: bool = False

    def __repr__(self) -> str:
        return f"DependencyRepository({self.url!r})"


def normalize_repository_url(url: str) -> str:
    return url.strip().rstrip("/")


def _is_local(repository: str) -> bool:
    return not repository or repository.startswith("file://")


def _vendored(chart_dir: Path, dep: dict[str, Any]) -> bool:
    charts = chart_dir / "charts"
    name = str(dep.get("name") or "")
    if not name or not charts.is_dir():
        return False
    if (charts / name / "Chart.yaml").is_file():
        return True
    return any(p.name.startswith(f"{name}-") and p.suffix == ".tgz" for p in charts.iterdir())


def remote_dependency_urls(meta: ChartMetadata) -> list[str]:
    """The distinct http(s) repository URLs of `meta`'s dependencies."""
    urls: list[str] = []
    for dep in meta.dependencies:
        repository = str(dep.get("repository") or "")
        if repository.startswith(("http://", "https://")):
            url = normalize_repository_url(repository)
            if url not in urls:
                urls.append(url)
    return urls


def _check_dependencies(chart_dir: Path, source_root: Path, meta: ChartMetadata) -> list[str]:
    """Validate each dependency; return the names that are not vendored in charts/."""
    missing = []
    for dep in meta.dependencies:
        name = str(dep.get("name") or "")
        repository = str(dep.get("repository") or "")
        if not name:
            raise DependencyBuildError("a dependency in Chart.yaml has no name")
        if repository.startswith("@") or repository.startswith("alias:"):
            raise DependencyBuildError(
                f"dependency '{name}': repository aliases ('{repository}') are not supported; "
                "use the repository URL"
            )
        if _is_local(repository):
            relative = repository.removeprefix("file://")
            if relative:
                target = (chart_dir / relative).resolve()
                root = source_root.resolve()
                if target != root and root not in target.parents:
                    raise DependencyBuildError(
                        f"dependency '{name}': local path '{relative}' is outside the source root"
                    )
        elif not repository.startswith(("http://", "https://", "oci://")):
            raise DependencyBuildError(
                f"dependency '{name}': unsupported repository '{repository}'"
            )
        if not _vendored(chart_dir, dep):
            missing.append(name)
    return missing


def check_chart_files(chart_dir: Path, max_file_size: int) -> None:
    """Refuse a chart with a file above the per-file cap (Flux's secure loader does too)."""
    for dirpath, _dirs, files in os.walk(chart_dir):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            size = path.stat().st_size
            if size > max_file_size:
                rel = path.relative_to(chart_dir)
                raise ChartPackageError(
                    f"chart file '{rel}' is {size} bytes, above the limit of {max_file_size}"
                )


class HelmPackager:
    """Runs `helm dependency` and `helm package` inside one build's `workdir`."""

    def __init__(self, workdir: Path, *, timeout: float) -> None:
        self.workdir = workdir
        self.timeout = timeout
        home = workdir / ".helm"
        self._repositories = home / "config" / "repositories.yaml"
        self._env = {
            "HOME": str(home),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
            "HELM_REPOSITORY_CONFIG": str(self._repositories),
            "HELM_REPOSITORY_CACHE": str(home / "cache" / "repository"),
            "HELM_REGISTRY_CONFIG": str(home / "config" / "registry.json"),
            "HELM_PLUGINS": str(home / "plugins"),
        }
        self._secrets: list[str] = []

    def _helm(self) -> str:
        try:
            return str(find_tool("helm"))
        except ToolNotFound as exc:
            raise ChartPackageError(str(exc)) from None

    async def _run(
        self, args: Sequence[str], error: type[ChartPackageError | DependencyBuildError]
    ) -> str:
        try:
            result = await run(
                [self._helm(), *args],
                timeout=self.timeout,
                cwd=self.workdir,
                env=self._env,
                redact=self._secrets,
            )
        except ProcessError as exc:
            raise error(str(exc)) from None
        return result.stdout.decode("utf-8", errors="replace")

    async def build_dependencies(
        self,
        chart_dir: Path,
        source_root: Path,
        meta: ChartMetadata,
        repositories: Sequence[DependencyRepository],
    ) -> int:
        """Fetch the dependencies not vendored in charts/; return how many were missing."""
        missing = await asyncio.to_thread(_check_dependencies, chart_dir, source_root, meta)
        if not missing:
            return 0
        await asyncio.to_thread(self._write_repositories, repositories)
        # With a lock file the locked versions are fetched; without, the ranges are resolved.
        locked = await asyncio.to_thread(
            lambda: (
                (chart_dir / "Chart.lock").is_file() or (chart_dir / "requirements.lock").is_file()
            )
        )
        verb = "build" if locked else "update"
        await self._run(["dependency", verb, str(chart_dir)], DependencyBuildError)
        return len(missing)

    def _write_repositories(self, repositories: Sequence[DependencyRepository]) -> None:
        certs = self.workdir / ".helm" / "certs"
        entries = []
        for index, repo in enumerate(repositories):
            entry: dict[str, Any] = {"name": f"dep-{index}", "url": repo.url}
            if repo.username or repo.password:
                entry.update(username=repo.username, password=repo.password)
                self._secrets.extend(s for s in (repo.username, repo.password) if s)
            if repo.pass_credentials:
                entry["pass_credentials_all"] = True
            for key, data in (("caFile", repo.ca), ("certFile", repo.cert), ("keyFile", repo.key)):
                if data:
                    certs.mkdir(parents=True, exist_ok=True, mode=0o700)
                    path = certs / f"{index}-{key}"
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(data)
                    entry[key] = str(path)
            entries.append(entry)
        self._repositories.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._repositories, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump({"apiVersion": "", "repositories": entries}, fh)

    async def package(self, chart_dir: Path, dest_dir: Path, *, name: str, version: str) -> Path:
        """`helm package` `chart_dir` as `version` into `dest_dir`; return the .tgz path."""
        await asyncio.to_thread(dest_dir.mkdir, 0o700, True, True)
        await self._run(
            ["package", str(chart_dir), "--destination", str(dest_dir), "--version", version],
            ChartPackageError,
        )
        packaged = dest_dir / f"{name}-{version}.tgz"
        if not await asyncio.to_thread(packaged.is_file):
            raise ChartPackageError(f"helm package did not produce {packaged.name}")
        return packaged


def chart_dir_in_source(source_root: Path, chart: str) -> Path:
    """`spec.chart` inside the extracted source; IllegalPath when it escapes the root."""
    return safe_join(source_root, chart, "spec.chart")
