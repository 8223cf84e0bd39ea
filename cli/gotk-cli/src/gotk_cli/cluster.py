"""Cluster access for the commands: KubeClient calls whose failures read as one-line messages."""

from __future__ import annotations

import asyncio
import builtins
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gotk_api.objects import Obj
from gotk_runtime import KubeClient, NoKindMatch, NotFound, Resource, load_config
from gotk_runtime.kube import WatchEvent

from gotk_cli.cli import Settings
from gotk_cli.errors import CliError, CrdNotInstalled
from gotk_cli.kinds import CliKind

__all__ = ["FIELD_MANAGER", "Cluster", "connect"]

_PAGE = 500
FIELD_MANAGER = "gotk"


class Cluster:
    def __init__(self, client: KubeClient) -> None:
        self.client = client

    async def resource(self, kind: CliKind) -> Resource:
        try:
            return await self.client.discovery.resource_for(kind.api_version, kind.kind)
        except NoKindMatch:
            raise CrdNotInstalled(
                f"the {kind.kind} CRD ({kind.model.crd_name()}) is not installed in the cluster"
            ) from None

    async def get(self, kind: CliKind, name: str, namespace: str) -> Obj:
        resource = await self.resource(kind)
        try:
            return await self.client.get(resource, name, namespace)
        except NotFound:
            raise CliError(f"{kind.kind} {namespace}/{name} not found") from None

    async def list(
        self, kind: CliKind, namespace: str | None, *, label_selector: str | None = None
    ) -> builtins.list[Obj]:
        """Every object of ``kind`` in ``namespace`` (``None``: all namespaces)."""
        return (await self.list_with_version(kind, namespace, label_selector=label_selector))[0]

    async def list_with_version(
        self, kind: CliKind, namespace: str | None, *, label_selector: str | None = None
    ) -> tuple[builtins.list[Obj], str]:
        """The objects and the list's resourceVersion, to watch from."""
        resource = await self.resource(kind)
        return await self.list_resource(resource, namespace, label_selector=label_selector)

    async def list_resource(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[builtins.list[Obj], str]:
        items: builtins.list[Obj] = []
        token: str | None = None
        while True:
            page = await self.client.list(
                resource,
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                limit=_PAGE,
                continue_token=token,
            )
            items.extend(page.get("items") or ())
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                return items, str(metadata.get("resourceVersion", ""))

    async def watch(
        self,
        resource: Resource,
        namespace: str | None,
        resource_version: str,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> AsyncIterator[WatchEvent]:
        """Changes after ``resource_version``, across the server's watch time-outs."""
        version = resource_version
        while True:
            async for event in self.client.watch(
                resource,
                namespace,
                resource_version=version,
                label_selector=label_selector,
                field_selector=field_selector,
            ):
                version = (event.object.get("metadata") or {}).get("resourceVersion", version)
                if event.type != "BOOKMARK":
                    yield event

    async def resource_of(self, obj: Obj) -> Resource:
        try:
            return await self.client.discovery.resource_of(obj)
        except NoKindMatch:
            raise CrdNotInstalled(
                f"the API server serves no {obj['kind']} in {obj['apiVersion']}"
            ) from None

    async def find(self, obj: Obj) -> Obj | None:
        """The live object named by ``obj``'s kind, namespace and name, if there is one."""
        resource = await self.resource_of(obj)
        metadata = obj["metadata"]
        try:
            return await self.client.get(resource, metadata["name"], metadata.get("namespace"))
        except NotFound:
            return None

    async def apply(self, obj: Obj) -> Obj:
        """Server-side apply as field manager `gotk`, taking over fields it sets."""
        resource = await self.resource_of(obj)
        return await self.client.apply(resource, obj, field_manager=FIELD_MANAGER, force=True)

    async def delete(self, kind: CliKind, name: str, namespace: str) -> None:
        resource = await self.resource(kind)
        try:
            await self.client.delete(resource, name, namespace)
        except NotFound:
            raise CliError(f"{kind.kind} {namespace}/{name} not found") from None

    async def merge_patch(self, kind: CliKind, name: str, namespace: str, patch: Obj) -> Obj:
        resource = await self.resource(kind)
        try:
            return await self.client.patch(resource, name, patch, namespace=namespace)
        except NotFound:
            raise CliError(f"{kind.kind} {namespace}/{name} not found") from None


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Cluster]:
    """A cluster client from --kubeconfig ($KUBECONFIG, in-cluster, ~/.kube/config)."""
    kubeconfig = settings.kubeconfig
    if kubeconfig and not await asyncio.to_thread(os.path.exists, kubeconfig):
        # The loader would report a missing file as an invalid one.
        raise CliError(f"kubeconfig {kubeconfig} not found")
    config = await load_config(kubeconfig)
    async with KubeClient(config, user_agent="gotk-cli") as client:
        yield Cluster(client)
