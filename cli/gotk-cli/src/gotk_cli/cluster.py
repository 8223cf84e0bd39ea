"""Cluster access for the commands: KubeClient calls whose failures read as one-line messages."""

from __future__ import annotations

import builtins

from gotk_api.objects import Obj
from gotk_runtime import KubeClient, NoKindMatch, NotFound, Resource

from gotk_cli.errors import CliError, CrdNotInstalled
from gotk_cli.kinds import CliKind

__all__ = ["Cluster"]

_PAGE = 500


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

    async def list(self, kind: CliKind, namespace: str | None) -> builtins.list[Obj]:
        """Every object of ``kind`` in ``namespace`` (``None``: all namespaces)."""
        resource = await self.resource(kind)
        items: builtins.list[Obj] = []
        token: str | None = None
        while True:
            page = await self.client.list(resource, namespace, limit=_PAGE, continue_token=token)
            items.extend(page.get("items") or ())
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    async def merge_patch(self, kind: CliKind, name: str, namespace: str, patch: Obj) -> Obj:
        resource = await self.resource(kind)
        try:
            return await self.client.patch(resource, name, patch, namespace=namespace)
        except NotFound:
            raise CliError(f"{kind.kind} {namespace}/{name} not found") from None
