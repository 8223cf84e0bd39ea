"""The UI's pages over the real API server: what a person reads in each, as served HTML."""

from __future__ import annotations

import asyncio
import re

from fixtures.web_ui import RunningUI, create_flux, ready_condition

GIT_SPEC = {"url": "https://git.example.com/app.git", "interval": "1m", "ref": {"branch": "main"}}


def ks_spec(source: str = "repo", *deps: str) -> dict[str, object]:
    spec: dict[str, object] = {
        "interval": "5m",
        "prune": True,
        "path": "./deploy",
        "sourceRef": {"kind": "GitRepository", "name": source},
    }
    if deps:
        spec["dependsOn"] = [{"name": d} for d in deps]
    return spec


def text(html: str) -> str:
    """The page as a person reads it: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" ,", ",")


async def eventually_page(ui: RunningUI, path: str, *needles: str, timeout: float = 10) -> str:
    """GET ``path`` until every needle is in its text (the informers are asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status, body, _ = await ui.get(path)
        assert status == 200, body
        if all(n in text(body) for n in needles):
            return body
        if asyncio.get_running_loop().time() > deadline:
            missing = [n for n in needles if n not in text(body)]
            raise AssertionError(f"{path} never showed {missing}:\n{text(body)[:3000]}")
        await asyncio.sleep(0.1)


async def test_failing_kustomization_page_shows_reason_and_root_cause(
    web_ui: RunningUI, ui_namespace: str
) -> None:
    namespace = ui_namespace
    client = web_ui.client
    await create_flux(
        client,
        "GitRepository",
        namespace,
        "repo",
        GIT_SPEC,
        conditions=[
            ready_condition(
                "False", "GitOperationFailed", "couldn't find remote ref 'refs/heads/main'"
            )
        ],
    )
    await create_flux(
        client,
        "Kustomization",
        namespace,
        "infra",
        ks_spec(),
        conditions=[ready_condition("False", "ArtifactFailed", "Source artifact not found")],
    )
    await create_flux(
        client,
        "Kustomization",
        namespace,
        "apps",
        ks_spec("repo", "infra"),
        conditions=[
            ready_condition(
                "False", "DependencyNotReady", f"dependency '{namespace}/infra' is not ready"
            )
        ],
    )
    body = await eventually_page(
        web_ui,
        f"/kustomizations/{namespace}/apps",
        "Why not Ready",
        "DependencyNotReady",
        "root cause GitRepository repo Failing GitOperationFailed",
        "couldn't find remote ref 'refs/heads/main'",
    )
    page = text(body)
    assert "Source chain" in page
    assert "Depends on" in page
    assert f'href="/gitrepositories/{namespace}/repo"' in body
    assert f'href="/kustomizations/{namespace}/infra"' in body


async def test_overview_counts_and_needs_attention_order(
    web_ui: RunningUI, ui_namespace: str
) -> None:
    namespace = ui_namespace
    client = web_ui.client
    await create_flux(
        client,
        "GitRepository",
        namespace,
        "ok",
        GIT_SPEC,
        conditions=[ready_condition("True", "Succeeded", "stored artifact")],
    )
    await create_flux(
        client,
        "Kustomization",
        namespace,
        "a-suspended",
        {**ks_spec("ok"), "suspend": True},
        conditions=[ready_condition("True", "ReconciliationSucceeded", "Applied")],
    )
    await create_flux(
        client,
        "Kustomization",
        namespace,
        "b-stalled",
        ks_spec("ok"),
        conditions=[
            ready_condition("False", "InvalidCELExpression", "bad expr"),
            {**ready_condition("True", "InvalidCELExpression", "bad expr"), "type": "Stalled"},
        ],
    )
    await create_flux(
        client,
        "Kustomization",
        namespace,
        "c-failing",
        ks_spec("ok"),
        conditions=[ready_condition("False", "BuildFailed", "kustomize build failed")],
    )
    body = await eventually_page(
        web_ui, "/", f"{namespace}/c-failing", f"{namespace}/b-stalled", f"{namespace}/a-suspended"
    )
    attention = text(body.split('id="attention"', 1)[1])
    order = [attention.index(f"{namespace}/{n}") for n in ("c-failing", "b-stalled", "a-suspended")]
    assert order == sorted(order), attention[:2000]
    assert "BuildFailed : kustomize build failed" in attention
    assert "Services" in text(body)
    assert "kustomize-controller" in text(body)


async def test_search_filters_by_kind_status_and_name(web_ui: RunningUI, ui_namespace: str) -> None:
    namespace = ui_namespace
    client = web_ui.client
    await create_flux(
        client,
        "GitRepository",
        namespace,
        "web-src",
        GIT_SPEC,
        conditions=[ready_condition("True", "Succeeded", "ok")],
    )
    await create_flux(
        client,
        "Kustomization",
        namespace,
        "web-app",
        ks_spec("web-src"),
        conditions=[ready_condition("False", "HealthCheckFailed", "timeout")],
    )
    await create_flux(
        client,
        "Kustomization",
        namespace,
        "db-app",
        ks_spec("web-src"),
        conditions=[ready_condition("True", "ReconciliationSucceeded", "ok")],
    )
    path = f"/search?q=web&namespace={namespace}&status=failing"
    body = await eventually_page(web_ui, path, f"{namespace}/web-app")
    page = text(body)
    assert "1 objects" in page
    assert "db-app" not in page
    assert f"{namespace}/web-src" not in page
    assert "HealthCheckFailed" in page
    body = await eventually_page(
        web_ui, f"/search?kind=GitRepository&namespace={namespace}", f"{namespace}/web-src"
    )
    assert "web-app" not in text(body)


async def test_graph_draws_sources_appliers_and_dependencies(
    web_ui: RunningUI, ui_namespace: str
) -> None:
    namespace = ui_namespace
    client = web_ui.client
    await create_flux(
        client,
        "GitRepository",
        namespace,
        "repo",
        GIT_SPEC,
        conditions=[ready_condition("False", "GitOperationFailed", "no branch")],
    )
    await create_flux(client, "Kustomization", namespace, "infra", ks_spec())
    await create_flux(client, "Kustomization", namespace, "apps", ks_spec("repo", "infra"))
    body = await eventually_page(web_ui, f"/graph?namespace={namespace}", "Graph")
    await eventually_page(web_ui, f"/graph?namespace={namespace}", "apps")
    _status, body, _ = await web_ui.get(f"/graph?namespace={namespace}")
    nodes = set(re.findall(r'data-ref="([^"]+)"', body))
    assert nodes == {
        f"GitRepository/{namespace}/repo",
        f"Kustomization/{namespace}/infra",
        f"Kustomization/{namespace}/apps",
    }
    assert re.search(rf'href="/gitrepositories/{namespace}/repo"[^>]*data-state="failing"', body)
    assert body.count('class="edge rel-sourceRef"') == 2
    assert body.count('class="edge rel-dependsOn"') == 1


async def test_unknown_paths_are_404_and_missing_objects_say_so(
    web_ui: RunningUI, ui_namespace: str
) -> None:
    namespace = ui_namespace
    status, _, _ = await web_ui.get("/nothing/here")
    assert status == 404
    status, body, _ = await web_ui.get(f"/kustomizations/{namespace}/absent")
    assert status == 200
    assert "not yet created, or deleted" in text(body)


async def test_every_response_carries_a_strict_content_security_policy(web_ui: RunningUI) -> None:
    for path in ("/", "/graph", "/search", "/assets/style.css", "/assets/app.js"):
        status, body, headers = await web_ui.get(path)
        assert status == 200, path
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "http://" not in body.replace("http://www.w3.org/2000/svg", "") or path.startswith(
            "/assets"
        )
        assert "<script>" not in body
        assert "style=" not in body
