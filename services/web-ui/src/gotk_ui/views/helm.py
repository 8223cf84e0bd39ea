"""HelmRelease sections: the release history and the values in effect (Secrets masked)."""

from __future__ import annotations

import yaml
from gotk_api.objects import Obj
from gotk_runtime import KubeClient

from gotk_ui.html import Html, el, join
from gotk_ui.values import compose_values
from gotk_ui.views.common import ago, badge

__all__ = ["history_table", "values_section"]

_STATUS_TONES = {"deployed": "ready", "superseded": "unknown", "failed": "failing"}


def history_table(release: Obj) -> Html:
    history = (release.get("status") or {}).get("history") or []
    if not history:
        return el("p", "No release yet.", class_="muted")
    rows = []
    for snapshot in history:
        tests = snapshot.get("testHooks")
        tested = (
            "not run"
            if tests is None
            else ", ".join(
                f"{name}: {(hook or {}).get('phase', '?')}" for name, hook in tests.items()
            )
            or "no tests"
        )
        rows.append(
            el(
                "tr",
                el("td", snapshot.get("version"), class_="num"),
                el(
                    "td",
                    badge(
                        snapshot.get("status", "?"),
                        _STATUS_TONES.get(snapshot.get("status", ""), "unknown"),
                    ),
                ),
                el("td", f"{snapshot.get('chartName')}@{snapshot.get('chartVersion')}"),
                el("td", snapshot.get("appVersion") or "—"),
                el("td", snapshot.get("action") or "—"),
                el("td", ago(snapshot.get("lastDeployed"))),
                el("td", tested, class_="wrap"),
                el("td", el("code", (snapshot.get("configDigest") or "")[:19]), class_="wrap"),
            )
        )
    head = el(
        "tr",
        [
            el("th", h)
            for h in ("Rev", "Status", "Chart", "App", "Action", "Deployed", "Tests", "Values")
        ],
    )
    return el("div", el("table", el("thead", head), el("tbody", rows)), class_="scroll")


async def values_section(client: KubeClient, release: Obj) -> Html:
    merged, sources = await compose_values(client, release)
    listing = el(
        "ol",
        [
            el(
                "li",
                el("code", source.label),
                " ",
                badge("Secret", "suspended") if source.masked else None,
                " ",
                el("span", source.note, class_="muted"),
            )
            for source in sources
        ],
        class_="values-sources",
    )
    rendered = yaml.safe_dump(merged, sort_keys=False, allow_unicode=True) if merged else "{}\n"
    return join(
        el("p", "Merged in this order; values from Secrets are never shown.", class_="muted")
        if sources
        else el("p", "No values set: the chart's defaults apply.", class_="muted"),
        listing if sources else None,
        el("pre", el("code", rendered), class_="values"),
    )
