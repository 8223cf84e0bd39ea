"""`gotk logs`: the services' JSON logs, filtered and formatted as `flux logs` prints them.

Lines come from a file or stdin (`--file`), or from the pods of the gotk (or Flux)
Deployments in `--flux-namespace`, one running pod per Deployment as Flux picks them.
A line that is not a JSON object is skipped (Flux does the same); each entry prints as
`<ts> <level> <Kind>/<name>.<namespace> - <msg> <error>`.

Which object an entry is about is read from gotk's fields (`kind`, `name`, `namespace`,
bound by the controller around each reconcile) or from controller-runtime's
(`controllerKind`, `reconciler kind`), so logs of Flux's own controllers read as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, TextIO

import aiohttp
import orjson
from gotk_api.objects import Obj
from gotk_runtime import KubeError
from gotk_runtime.kube.config import ClusterConfig

from gotk_cli.cluster import Cluster
from gotk_cli.errors import CliError
from gotk_cli.style import Style

__all__ = ["LogEntry", "LogFilter", "file_lines", "pod_lines", "print_logs"]

PART_OF = "app.kubernetes.io/part-of in (gotk,flux)"
"""The Deployments of gotk's chart, and of a Flux installation."""
_POLL = 0.3
_LEVEL_COLOURS = {"error": "red", "critical": "red", "warning": "yellow", "debug": "dim"}


@dataclass(frozen=True)
class LogEntry:
    ts: str
    level: str
    message: str
    kind: str = ""
    name: str = ""
    namespace: str = ""
    error: str = ""
    logger: str = ""

    @classmethod
    def parse(cls, line: str) -> LogEntry | None:
        """The entry of one JSON line; None for anything else."""
        text = line.strip()
        if not text.startswith("{"):
            return None
        try:
            fields = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(fields, dict):
            return None
        kind = fields.get("kind") or fields.get("controllerKind") or fields.get("reconciler kind")
        return cls(
            ts=_text(fields.get("ts")),
            level=_text(fields.get("level")).lower(),
            message=_text(fields.get("msg")),
            kind=_text(kind),
            name=_text(fields.get("name")),
            namespace=_text(fields.get("namespace")),
            error=_text(fields.get("error")),
            logger=_text(fields.get("logger")),
        )

    def text(self, style: Style) -> str:
        who = self.kind or self.logger
        if self.kind and self.name:
            who = f"{self.kind}/{self.name}.{self.namespace}"
        # A traceback's last line names the exception; the whole of it stays in the JSON.
        error = self.error.strip().splitlines()[-1] if self.error.strip() else ""
        colour = _LEVEL_COLOURS.get(self.level)
        level = style.paint(self.level, colour) if colour else self.level
        return f"{self.ts} {level} {who} - {self.message} {error}".rstrip()

    def timestamp(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.ts.replace("Z", "+00:00"))
        except ValueError:
            return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class LogFilter:
    """Flux's filters: each one given must match, case-insensitively; ``namespace`` None
    (`-A`) lets every namespace through, and without `-A` an entry about no object is
    left out, as in Flux."""

    namespace: str | None
    kind: str | None = None
    name: str | None = None
    level: str | None = None
    since: datetime | None = None

    def matches(self, entry: LogEntry) -> bool:
        if self.level and entry.level != self.level.lower():
            return False
        if self.kind and entry.kind.lower() != self.kind.lower():
            return False
        if self.name and entry.name.lower() != self.name.lower():
            return False
        if self.namespace is not None and entry.namespace.lower() != self.namespace.lower():
            return False
        if self.since is not None:
            when = entry.timestamp()
            return when is not None and when >= self.since
        return True

    @staticmethod
    def since_seconds(seconds: float | None) -> datetime | None:
        return datetime.now(UTC) - timedelta(seconds=seconds) if seconds else None


async def print_logs(
    lines: AsyncIterator[str], log_filter: LogFilter, out: TextIO, style: Style
) -> int:
    """Print the entries of ``lines`` that pass ``log_filter``; how many were printed."""
    printed = 0
    async for line in lines:
        entry = LogEntry.parse(line)
        if entry is not None and log_filter.matches(entry):
            print(entry.text(style), file=out, flush=True)
            printed += 1
    return printed


# --- files


async def file_lines(
    path: Path | None, *, follow: bool = False, tail: int | None = None
) -> AsyncIterator[str]:
    """The lines of ``path`` (None: stdin); with ``follow``, then those appended to it."""
    if path is None:
        stream: IO[str] = sys.stdin
    else:
        try:
            stream = await asyncio.to_thread(path.open, encoding="utf-8", errors="replace")
        except OSError as err:
            raise CliError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        if tail is not None:
            lines = await asyncio.to_thread(stream.readlines)
            for line in lines[-tail:] if tail else []:
                yield line
        pending = ""
        while True:
            chunk = await asyncio.to_thread(stream.readline)
            if chunk:
                pending += chunk
                if pending.endswith("\n"):
                    yield pending
                    pending = ""
                continue
            # stdin ends at EOF; a file, when followed, may still grow.
            if not follow or path is None:
                if pending:
                    yield pending
                return
            await asyncio.sleep(_POLL)
    finally:
        if path is not None:
            await asyncio.to_thread(stream.close)


# --- pods


async def pod_lines(
    cluster: Cluster,
    namespace: str,
    *,
    follow: bool = False,
    tail: int | None = None,
    since: float | None = None,
) -> AsyncIterator[str]:
    """The log lines of one pod per gotk Deployment in ``namespace``; with ``follow``,
    every pod's new lines as they come."""
    pods = await _service_pods(cluster, namespace)
    params = {"follow": "true" if follow else "false"}
    if tail is not None:
        params["tailLines"] = str(tail)
    if since:
        params["sinceSeconds"] = str(max(1, round(since)))
    streams = [_pod_log(cluster.client.config, namespace, pod, params) for pod in pods]
    if not follow:
        for stream in streams:
            async for line in stream:
                yield line
        return
    async for line in _merge(streams):
        yield line


async def _service_pods(cluster: Cluster, namespace: str) -> list[str]:
    client = cluster.client
    try:
        deployments = await client.discovery.resource_for("apps/v1", "Deployment")
        pods = await client.discovery.resource_for("v1", "Pod")
        found, _ = await cluster.list_resource(deployments, namespace, label_selector=PART_OF)
        chosen = []
        for deployment in sorted(found, key=lambda d: d["metadata"]["name"]):
            labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            candidates, _ = await cluster.list_resource(pods, namespace, label_selector=selector)
            if candidates:
                chosen.append(_for_logging(candidates)["metadata"]["name"])
    except KubeError as err:
        raise CliError(f"cannot list the gotk pods in '{namespace}': {err.message}") from None
    if not chosen:
        raise CliError(
            f"no gotk pods found in '{namespace}' namespace (--flux-namespace); "
            "to read a service's log file, use --file PATH (or --file - for stdin)"
        )
    return chosen


def _for_logging(pods: Sequence[Obj]) -> Obj:
    """kubectl's ByLogging order, in short: running before pending, then the newest."""

    newest = sorted(
        pods,
        key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp", "")),
        reverse=True,
    )
    return sorted(newest, key=lambda p: (p.get("status") or {}).get("phase") != "Running")[0]


async def _pod_log(
    config: ClusterConfig, namespace: str, pod: str, params: dict[str, str]
) -> AsyncIterator[str]:
    """One pod's log as text lines (the API's log endpoint answers plain text, which
    KubeClient, a JSON client, does not read)."""
    headers = {"Accept": "*/*", "User-Agent": "gotk-cli"}
    authorization = await config.authorization()
    if authorization:
        headers["Authorization"] = authorization
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
    connector = aiohttp.TCPConnector(ssl=config.ssl if config.ssl is not None else False)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
            session.get(
                config.host + path,
                params=params,
                headers=headers,
                proxy=config.proxy,
                server_hostname=config.tls_server_name,
            ) as response,
        ):
            if response.status >= 400:
                raise CliError(
                    f"cannot read the log of pod {namespace}/{pod}: "
                    f"{_status_message(await response.read()) or response.reason}"
                )
            async for raw in response.content:
                yield raw.decode("utf-8", errors="replace")
    except aiohttp.ClientError as err:
        raise CliError(f"cannot read the log of pod {namespace}/{pod}: {err}") from None


def _status_message(body: bytes) -> str:
    with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
        return str(orjson.loads(body).get("message") or "")
    return body.decode("utf-8", errors="replace").strip()[:300]


async def _merge(streams: Sequence[AsyncIterator[str]]) -> AsyncIterator[str]:
    """Lines of every stream as each arrives; the first failure ends them all."""
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()

    async def pump(stream: AsyncIterator[str]) -> None:
        try:
            async for line in stream:
                await queue.put(line)
        except Exception as err:
            await queue.put(err)
        finally:
            await queue.put(None)

    tasks = [asyncio.create_task(pump(stream)) for stream in streams]
    try:
        remaining = len(tasks)
        while remaining:
            item = await queue.get()
            if item is None:
                remaining -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
