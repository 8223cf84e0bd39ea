"""Pulling a chart from an OCI HelmRepository: `<spec.url>/<chart>:<tag>`.

The version is chosen as Flux chooses it: an exact version is used as the tag as is;
otherwise the registry's tags are listed and the highest in the range wins. OCI tags cannot
hold `+`, so Helm pushes `1.0.0+abc` as `1.0.0_abc`; tags are read back that way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from gotk_api.source_helm import HelmRepository
from gotk_runtime import KubeClient

from source_controller.credentials import read_secret
from source_controller.helm.errors import (
    ChartPullError,
    ChartReferenceError,
    HelmError,
    RepositoryAuthFailed,
)
from source_controller.helm.oci_repository import oci_credentials
from source_controller.oci import (
    HELM_CHART_LAYER,
    ClientOptions,
    ManifestNotFound,
    OCIClient,
    OCIError,
    RegistryAuthenticationFailed,
    parse_oci_url,
)
from source_controller.semver import InvalidConstraint, InvalidVersion, latest, parse_constraint
from source_controller.semver import parse_version as parse_semver

__all__ = ["OCIChartSource", "PulledChart"]


@dataclass(frozen=True, slots=True)
class PulledChart:
    name: str
    version: str
    path: Path


async def _options(client: KubeClient, repo: HelmRepository) -> ClientOptions:
    ca = cert = key = b""
    if repo.spec.cert_secret_ref is not None:
        tls = await read_secret(
            client, repo.namespace, repo.spec.cert_secret_ref.name, field="spec.certSecretRef"
        )
        ca, cert, key = tls.get("ca.crt", b""), tls.get("tls.crt", b""), tls.get("tls.key", b"")
    return ClientOptions(
        insecure=bool(repo.spec.insecure),
        ca_cert=ca,
        client_cert=cert,
        client_key=key,
        timeout=repo.spec.timeout_seconds(),
    )


def _choose_tag(tags: list[str], chart: str, wanted: str) -> str:
    by_version = {tag.replace("_", "+"): tag for tag in tags}
    try:
        rng = parse_constraint(wanted)
    except InvalidConstraint as exc:
        raise ChartReferenceError(f"invalid spec.version: {exc}") from None
    chosen = latest(by_version, rng, strict_tags=False)
    if chosen is None:
        raise ChartReferenceError(f"no '{chart}' chart with version matching '{wanted}' found")
    return by_version[chosen]


class OCIChartSource:
    """One chart of an OCI HelmRepository: choose its version, then download it."""

    def __init__(self, client: KubeClient, repo: HelmRepository, chart: str) -> None:
        self.kube = client
        self.repo = repo
        self.chart = chart
        try:
            self.repository = parse_oci_url(f"{repo.spec.url.rstrip('/')}/{chart}")
        except OCIError as exc:
            raise ChartReferenceError(f"invalid chart reference '{chart}': {exc}") from None

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[OCIClient]:
        credentials = await oci_credentials(self.kube, self.repo)
        options = await _options(self.kube, self.repo)
        try:
            async with OCIClient(self.repository, credentials=credentials, options=options) as oci:
                yield oci
        except HelmError:
            raise
        except RegistryAuthenticationFailed as exc:
            raise RepositoryAuthFailed(str(exc)) from None
        except ManifestNotFound as exc:
            raise ChartReferenceError(str(exc)) from None
        except OCIError as exc:
            raise ChartPullError(f"failed to pull chart: {exc}") from None

    async def choose_version(self, version: str) -> str:
        """The chart version `version` (exact, or a range over the tags) selects."""
        wanted = version.strip() or "*"
        try:
            if str(parse_semver(wanted)) == wanted:
                return wanted
        except InvalidVersion:
            pass
        async with self._client() as oci:
            tags = await oci.list_tags()
        return _choose_tag(tags, self.chart, wanted).replace("_", "+")

    async def download(self, version: str, dest: Path, *, max_size: int) -> PulledChart:
        tag = version.replace("+", "_")
        async with self._client() as oci:
            resolved = await oci.resolve(tag)
            layers = [d for d in resolved.manifest.layers if d.media_type == HELM_CHART_LAYER]
            if not layers:
                raise ChartPullError(f"'{self.repository}:{tag}' has no Helm chart layer")
            if layers[0].size > max_size:
                raise ChartPullError(
                    f"chart '{self.repository}:{tag}' is {layers[0].size} bytes, above the "
                    f"limit of {max_size} bytes"
                )
            await oci.fetch_blob(layers[0], dest)
        return PulledChart(self.chart, version, dest)
