"""`type: oci` HelmRepository: no index to fetch, only a check that the registry answers.

Flux treats an OCI HelmRepository as static (charts are pulled by HelmChart). gotk reports
Ready once the registry's `/v2/` endpoint answers; with credentials and a Basic challenge
it also checks that they are accepted. A Bearer challenge is only answered per repository
when a chart is pulled, so it is not checked here.
"""

from __future__ import annotations

import base64

import aiohttp
from gotk_api.source_helm import HelmRepository
from gotk_runtime import KubeClient

from source_controller.credentials import read_secret
from source_controller.helm.errors import (
    InvalidRepositoryURL,
    RepositoryAuthFailed,
    RepositoryFetchFailed,
)
from source_controller.oci import (
    OCIError,
    RegistryCredentials,
    Repository,
    credentials_from_dockerconfig,
    parse_oci_url,
)

__all__ = ["check_oci_repository", "oci_credentials", "oci_repository"]


def oci_repository(url: str) -> Repository:
    try:
        return parse_oci_url(url)
    except OCIError as exc:
        raise InvalidRepositoryURL(str(exc)) from None


async def oci_credentials(client: KubeClient, repo: HelmRepository) -> RegistryCredentials:
    """Credentials from `spec.secretRef`: `username`/`password`, or a docker config."""
    if repo.spec.secret_ref is None:
        return RegistryCredentials()
    data = await read_secret(
        client, repo.namespace, repo.spec.secret_ref.name, field="spec.secretRef"
    )
    if "username" in data or "password" in data:
        return RegistryCredentials(
            username=data.get("username", b"").decode(), password=data.get("password", b"").decode()
        )
    source = f"secret '{repo.namespace}/{repo.spec.secret_ref.name}'"
    try:
        host = oci_repository(repo.spec.url).host
        found = credentials_from_dockerconfig(data, host, source=source)
    except OCIError as exc:
        raise RepositoryAuthFailed(str(exc)) from None
    return found or RegistryCredentials()


async def check_oci_repository(client: KubeClient, repo: HelmRepository) -> None:
    registry = oci_repository(repo.spec.url)
    credentials = await oci_credentials(client, repo)
    scheme = "http" if repo.spec.insecure else "https"
    url = f"{scheme}://{registry.api_host}/v2/"
    timeout = aiohttp.ClientTimeout(total=repo.spec.timeout_seconds())
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(url) as response:
                status = response.status
                challenge = response.headers.get("WWW-Authenticate", "")
            if status == 401 and credentials.username and challenge.lower().startswith("basic"):
                pair = f"{credentials.username}:{credentials.password}".encode()
                headers = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
                async with session.get(url, headers=headers) as response:
                    status = response.status
                if status == 401:
                    raise RepositoryAuthFailed(
                        f"registry {registry.host} rejected the credentials of spec.secretRef"
                    )
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise RepositoryFetchFailed(
            f"registry {registry.host} is unreachable: {str(exc) or type(exc).__name__}"
        ) from None
    if status >= 500 or status == 404:
        raise RepositoryFetchFailed(f"registry {registry.host} answered {url} with status {status}")
