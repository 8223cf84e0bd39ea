"""`gotk why KIND NAME`: what keeps an object from Ready, down to the root causes.

The walk is gotk_inspect's (the web UI shows the same tree); this module reads the object,
walks its references through the API server and prints the tree, each node with its state,
reason and since-when, the messages underneath, and the root causes at the end.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gotk_api.meta import format_duration
from gotk_inspect import WhyNode, kube_reader, root_causes, why

from gotk_cli.cluster import Cluster
from gotk_cli.kinds import CliKind
from gotk_cli.style import Style

__all__ = ["explain", "render", "to_document"]

_COLOURS = {
    "ready": "green",
    "reconciling": "yellow",
    "unknown": "yellow",
}


async def explain(cluster: Cluster, kind: CliKind, name: str, namespace: str) -> WhyNode:
    """The why-tree of ``kind`` ``namespace/name`` (CliError when it does not exist)."""
    obj = await cluster.get(kind, name, namespace)
    return await why(obj, kube_reader(cluster.client))


def render(tree: WhyNode, style: Style, now: datetime | None = None) -> str:
    """The tree, then one block per root cause; a Ready object with nothing wrong below
    it is one line."""
    lines: list[str] = []
    _node(tree, lines, "", "", style)
    causes = root_causes(tree)
    if tree.ready and not causes:
        return f"{tree.ref} is Ready: {_one_line(tree.message)}\n"
    current = now or datetime.now(UTC)
    for cause in causes:
        lines += ["", style.paint(f"Root cause: {cause.ref}", "bold")]
        lines.append(f"  {'Reason:':<9}{cause.reason or cause.state}")
        lines.append(f"  {'Message:':<9}{_one_line(cause.message)}")
        if cause.since:
            lines.append(f"  {'Since:':<9}{cause.since}{_age(cause.since, current)}")
    return "\n".join(lines) + "\n"


def _node(node: WhyNode, lines: list[str], first: str, rest: str, style: Style) -> None:
    lines.append(first + _head(node, style))
    details = rest + ("│   " if node.children else "    ")
    for line in node.message.splitlines() or [""]:
        if line.strip():
            lines.append(details + line.rstrip())
    for index, child in enumerate(node.children):
        last = index == len(node.children) - 1
        branch, indent = ("└── ", "    ") if last else ("├── ", "│   ")
        _node(child, lines, rest + branch, rest + indent, style)


def _head(node: WhyNode, style: Style) -> str:
    via = f"{node.relation} → " if node.relation else ""
    state = style.paint(node.state, _COLOURS.get(node.state, "red"))
    facts = [fact for fact in (node.reason, f"since {node.since}" if node.since else "") if fact]
    text = f"{via}{node.ref}: {state}"
    if facts:
        text += f" ({', '.join(facts)})"
    if node.suspended:
        text += " [suspended]"
    if node.is_root_cause:
        text += style.paint("  ← root cause", "bold")
    return text


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _age(since: str, now: datetime) -> str:
    try:
        then = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    return f" ({format_duration(seconds)} ago)"


def to_document(tree: WhyNode) -> dict[str, Any]:
    """`-o json`: the tree, and the root causes as `Kind/namespace/name`."""
    return {
        "object": _node_document(tree),
        "rootCauses": [str(cause.ref) for cause in root_causes(tree)],
    }


def _node_document(node: WhyNode) -> dict[str, Any]:
    document: dict[str, Any] = {
        "kind": node.ref.kind,
        "namespace": node.ref.namespace,
        "name": node.ref.name,
        "state": node.state,
        "reason": node.reason,
        "message": node.message,
        "since": node.since,
        "suspended": node.suspended,
        "rootCause": node.is_root_cause,
    }
    if node.relation is not None:
        document["relation"] = node.relation
        document["field"] = node.field
    document["children"] = [_node_document(child) for child in node.children]
    return document
