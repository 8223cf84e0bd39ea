"""The web UI end to end: with the real source- and kustomize-controllers, and as a person
sees it in headless Chromium (what is on screen, clicks, a live change without a reload)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fixtures.controllers import RunningKustomizeController, RunningSourceController
from fixtures.git_servers import GitHTTPServer, GitRepo
from fixtures.web_ui import RunningUI, create_flux, ready_condition
from gotk_inspect import resource_of
from playwright.async_api import Browser, expect

KS_SPEC = {"interval": "5m", "prune": True, "path": "./", "retryInterval": "2s"}


async def test_kustomization_of_a_missing_branch_shows_reason_and_root_cause(
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    git_http_server: GitHTTPServer,
    make_git_repo: Callable[..., GitRepo],
    cluster_web_ui: RunningUI,
    browser: Browser,
    namespace: str,
) -> None:
    web_ui = cluster_web_ui
    repo = make_git_repo()
    repo.commit({"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"})
    await create_flux(
        web_ui.client, "GitRepository", namespace, "app",
        {"url": git_http_server.url(repo), "interval": "1m", "ref": {"branch": "no-such-branch"}},
    )  # fmt: skip
    await create_flux(
        web_ui.client, "Kustomization", namespace, "app",
        {**KS_SPEC, "sourceRef": {"kind": "GitRepository", "name": "app"}},
    )  # fmt: skip
    page = await browser.new_page()
    try:
        await page.goto(f"{web_ui.url}/kustomizations/{namespace}/app")
        why = page.locator("section.why")
        # The page is live: the controllers' verdicts arrive without a reload.
        await expect(why).to_contain_text("root cause", timeout=60_000)
        cause = why.locator("li.cause").filter(has_text="GitRepository")
        await expect(cause).to_contain_text("GitOperationFailed", timeout=30_000)
        await expect(cause).to_contain_text("no-such-branch")
        await expect(page.locator(".status-line")).to_contain_text("ArtifactFailed")
        await cause.locator("a.obj").click()
        await expect(page).to_have_url(f"{web_ui.url}/gitrepositories/{namespace}/app")
        await expect(page.locator(".status-line")).to_contain_text("GitOperationFailed")
    finally:
        await page.close()


async def _failing_pair(ui: RunningUI, namespace: str) -> None:
    await create_flux(
        ui.client, "GitRepository", namespace, "repo",
        {"url": "https://git.example.com/a.git", "interval": "1m"},
        conditions=[ready_condition("False", "GitOperationFailed", "authentication required")],
    )  # fmt: skip
    for name, deps in (("infra", []), ("apps", [{"name": "infra"}])):
        await create_flux(
            ui.client, "Kustomization", namespace, name,
            {**KS_SPEC, "sourceRef": {"kind": "GitRepository", "name": "repo"},
             **({"dependsOn": deps} if deps else {})},
            conditions=[ready_condition("False", "ArtifactFailed", "Source artifact not found")],
        )  # fmt: skip


async def test_graph_shows_the_namespace_and_clicks_through(
    web_ui: RunningUI, browser: Browser, ui_namespace: str
) -> None:
    namespace = ui_namespace
    await _failing_pair(web_ui, namespace)
    page = await browser.new_page()
    try:
        await page.goto(f"{web_ui.url}/graph?namespace={namespace}")
        nodes = page.locator("svg.graph a.node")
        await expect(nodes).to_have_count(3)
        refs = sorted([await n.get_attribute("data-ref") or "" for n in await nodes.all()])
        assert refs == [
            f"GitRepository/{namespace}/repo",
            f"Kustomization/{namespace}/apps",
            f"Kustomization/{namespace}/infra",
        ]
        await expect(page.locator("svg.graph a.node.st-failing")).to_have_count(3)
        await expect(page.locator("svg.graph a.node .flag")).to_have_count(3)
        await page.locator(f'svg.graph a.node[data-ref="Kustomization/{namespace}/apps"]').click()
        await expect(page).to_have_url(f"{web_ui.url}/kustomizations/{namespace}/apps")
        await expect(page.locator("h1")).to_contain_text("apps")
    finally:
        await page.close()


async def test_a_live_change_appears_without_a_reload(
    web_ui: RunningUI, browser: Browser, ui_namespace: str
) -> None:
    namespace = ui_namespace
    ks = await create_flux(
        web_ui.client, "Kustomization", namespace, "app",
        {**KS_SPEC, "sourceRef": {"kind": "GitRepository", "name": "repo"}},
        conditions=[ready_condition("True", "ReconciliationSucceeded", "Applied revision v1")],
    )  # fmt: skip
    page = await browser.new_page()
    try:
        await page.goto(f"{web_ui.url}/kustomizations/{namespace}/app")
        await expect(page.locator(".status-line")).to_contain_text("Applied revision v1")
        await expect(page.locator("#live-status")).to_have_class("live")
        await page.evaluate("window.__sameDocument = true")
        ks["status"]["conditions"] = [
            ready_condition("False", "HealthCheckFailed", "timeout waiting for Deployment/web")
        ]
        await web_ui.client.replace(resource_of("Kustomization"), ks, subresource="status")
        await expect(page.locator(".status-line")).to_contain_text("HealthCheckFailed")
        await expect(page.locator(".status-line")).to_contain_text("Deployment/web")
        assert await page.evaluate("window.__sameDocument") is True
    finally:
        await page.close()


async def test_overview_fits_a_phone_and_lists_what_needs_attention(
    web_ui: RunningUI, browser: Browser, ui_namespace: str
) -> None:
    namespace = ui_namespace
    await _failing_pair(web_ui, namespace)
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    try:
        await page.goto(f"{web_ui.url}/")
        attention = page.get_by_role("region", name="Needs attention")
        await expect(attention).to_contain_text(f"{namespace}/apps")
        await expect(attention).to_contain_text("GitOperationFailed")
        overflow: Any = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1
    finally:
        await context.close()
