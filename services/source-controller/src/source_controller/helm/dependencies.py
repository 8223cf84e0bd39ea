"""Credentials for a chart's remote dependencies, as Flux finds them: from a HelmRepository
in the chart's namespace whose URL is the dependency's repository URL; anonymous otherwise."""

from __future__ import annotations

from gotk_api.source_helm import HelmRepository
from gotk_runtime import KubeClient

from source_controller.credentials import read_secret
from source_controller.helm.chart_archive import ChartMetadata
from source_controller.helm.package import (
    DependencyRepository,
    normalize_repository_url,
    remote_dependency_urls,
)

__all__ = ["dependency_repositories"]


async def dependency_repositories(
    client: KubeClient, namespace: str, meta: ChartMetadata
) -> list[DependencyRepository]:
    urls = remote_dependency_urls(meta)
    if not urls:
        return []
    resource = await client.discovery.resource_for(
        HelmRepository.api_version_string(), "HelmRepository"
    )
    listed = await client.list(resource, namespace)
    known: dict[str, HelmRepository] = {}
    for item in listed.get("items") or []:
        repo = HelmRepository.model_validate(item)
        if repo.spec.type != "oci":
            known.setdefault(normalize_repository_url(repo.spec.url), repo)
    found = []
    for url in urls:
        match = known.get(url)
        found.append(
            DependencyRepository(url)
            if match is None
            else await _with_credentials(client, namespace, url, match)
        )
    return found


async def _with_credentials(
    client: KubeClient, namespace: str, url: str, repo: HelmRepository
) -> DependencyRepository:
    secret: dict[str, bytes] = {}
    if repo.spec.secret_ref is not None:
        name = repo.spec.secret_ref.name
        secret.update(await read_secret(client, namespace, name, field="spec.secretRef"))
    ca, cert, key = secret.get("caFile"), secret.get("certFile"), secret.get("keyFile")
    if repo.spec.cert_secret_ref is not None:
        name = repo.spec.cert_secret_ref.name
        tls = await read_secret(client, namespace, name, field="spec.certSecretRef")
        ca, cert, key = tls.get("ca.crt"), tls.get("tls.crt"), tls.get("tls.key")
    return DependencyRepository(
        url,
        username=secret.get("username", b"").decode(errors="replace"),
        password=secret.get("password", b"").decode(errors="replace"),
        ca=ca,
        cert=cert,
        key=key,
        pass_credentials=bool(repo.spec.pass_credentials),
    )
