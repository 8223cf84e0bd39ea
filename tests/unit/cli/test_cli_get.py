"""`gotk get` against the real API server.

Status is written by hand through the /status subresource; every object is suspended so a
controller running elsewhere in the session leaves it alone.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys

import pytest
import yaml
from fixtures.cli import SOURCE, Gotk, assert_snapshot, git_repository, ready
from gotk_api.source import GitRepository
from gotk_cli.cluster import Cluster
from gotk_cli.errors import CrdNotInstalled
from gotk_cli.get import GetOptions, get
from gotk_cli.kinds import CliKind
from gotk_envtest import ControlPlane
from gotk_runtime import KubeClient, load_config


async def test_get_sources_git_prints_flux_table(gotk: Gotk, populated: str) -> None:
    result = await gotk("get", "sources", "git", "-n", populated)
    assert (result.code, result.err) == (0, "")
    assert_snapshot("get_sources_git", result.out)


async def test_get_ks_shows_last_applied_revision(gotk: Gotk, populated: str) -> None:
    result = await gotk("get", "ks", "-n", populated)
    assert result.code == 0
    assert_snapshot("get_ks", result.out)


async def test_get_hr_shows_the_chart_version_of_the_latest_release(
    gotk: Gotk, populated: str
) -> None:
    result = await gotk("get", "hr", "-n", populated, "--show-source")
    assert result.code == 0
    assert_snapshot("get_hr_show_source", result.out, ns=populated)


async def test_get_all_namespaces_adds_namespace_column(gotk: Gotk, populated: str) -> None:
    result = await gotk("get", "sources", "git", "-A")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    mine = [line.split()[:2] for line in lines[1:] if line.startswith(populated + " ")]
    assert mine == [[populated, "app"], [populated, "broken"]]


async def test_get_all_lists_each_kind_with_kind_prefixed_names(gotk: Gotk, populated: str) -> None:
    result = await gotk("get", "all", "-n", populated)
    assert result.code == 0
    assert_snapshot("get_all", result.out)


@pytest.mark.parametrize(
    ("selector", "names"),
    [("ready=false", ["broken"]), ("Ready!=False", ["app"]), ("ready=true", ["app"])],
)
async def test_status_selector_filters_on_a_condition(
    gotk: Gotk, populated: str, selector: str, names: list[str]
) -> None:
    result = await gotk("get", "sources", "git", "-n", populated, "--status-selector", selector)
    assert result.code == 0
    assert [line.split()[0] for line in result.out.splitlines()[1:]] == names


async def test_a_malformed_status_selector_is_one_line(gotk: Gotk, populated: str) -> None:
    result = await gotk("get", "ks", "-n", populated, "--status-selector", "ready")
    assert result.code == 1
    assert result.err == (
        "✗ expected status selector in type=status or type!=status format, but found: ready\n"
    )


async def test_get_one_by_name_and_a_missing_name(gotk: Gotk, populated: str) -> None:
    result = await gotk("get", "sources", "git", "broken", "-n", populated, "--no-header")
    assert [line.split()[0] for line in result.out.splitlines()] == ["broken"]
    missing = await gotk("get", "sources", "git", "nope", "-n", populated)
    assert missing.code == 1
    assert missing.err == f"✗ GitRepository object 'nope' not found in \"{populated}\" namespace\n"


async def test_output_json_is_a_list_of_the_objects(gotk: Gotk, populated: str) -> None:
    result = await gotk("get", "sources", "git", "-n", populated, "-o", "json")
    assert result.code == 0
    listing = json.loads(result.out)
    assert listing["kind"] == "List"
    assert [item["metadata"]["name"] for item in listing["items"]] == ["app", "broken"]
    assert all("managedFields" not in item["metadata"] for item in listing["items"])
    assert listing["items"][0]["status"]["artifact"]["revision"].startswith("main@sha1:1111")


async def test_output_yaml_parses_back(gotk: Gotk, populated: str) -> None:
    result = await gotk("get", "all", "-n", populated, "-o", "yaml")
    assert result.code == 0
    kinds = [item["kind"] for item in yaml.safe_load(result.out)["items"]]
    assert kinds == ["GitRepository", "GitRepository", "HelmRelease", "Kustomization"]


async def test_output_wide_adds_source_and_url_and_keeps_whole_messages(
    gotk: Gotk, populated: str
) -> None:
    result = await gotk("get", "all", "-n", populated, "-o", "wide")
    assert result.code == 0
    assert_snapshot("get_all_wide", result.out, ns=populated)


async def test_get_with_no_objects_is_an_error_as_in_flux(gotk: Gotk, namespace: str) -> None:
    result = await gotk("get", "sources", "oci", "-n", namespace)
    assert (result.code, result.out) == (1, "")
    assert result.err == f'✗ no OCIRepository objects found in "{namespace}" namespace\n'


async def test_get_all_with_no_objects_prints_nothing_and_succeeds(
    gotk: Gotk, namespace: str
) -> None:
    assert (await gotk("get", "all", "-n", namespace)).code == 0


async def test_get_of_a_kind_without_crd_is_a_clear_error(cluster: ControlPlane) -> None:
    class Missing(GitRepository):
        GROUP = "nothing.gotk.example.com"

    async with KubeClient(await load_config(cluster.kubeconfig)) as client:
        with pytest.raises(CrdNotInstalled, match=r"GitRepository CRD .* is not installed"):
            await get(
                Cluster(client),
                [CliKind(Missing, "source git")],
                GetOptions(namespace="default"),
                sys.stdout,
            )


async def test_watch_prints_the_table_then_a_row_per_change(
    gotk: Gotk, cluster: ControlPlane, populated: str
) -> None:
    async def change() -> None:
        await asyncio.sleep(1.5)
        await cluster.request(
            "PATCH",
            f"{SOURCE}/namespaces/{populated}/gitrepositories/broken/status",
            {"status": {"conditions": [ready("True", "recovered")]}},
            content_type="application/merge-patch+json",
        )
        await git_repository(cluster, populated, "late", None)

    changer = asyncio.create_task(change())
    result = await gotk("get", "sources", "git", "-n", populated, "-w", "--timeout=4s")
    await changer
    assert result.code == 0
    assert_snapshot("get_watch", result.out)


async def test_watch_needs_one_kind(gotk: Gotk, populated: str) -> None:
    result = await gotk("get", "all", "-n", populated, "-w")
    assert result.code == 1
    assert result.err == "✗ expected a single resource type, but found all\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_colours_on_a_terminal_unless_no_color(
    cluster: ControlPlane, populated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "shutil.get_terminal_size", lambda: __import__("os").terminal_size((60, 24))
    )
    async with KubeClient(await load_config(cluster.kubeconfig)) as client:
        from gotk_cli.kinds import SOURCES

        outputs = []
        for no_color in (False, True):
            out = _Terminal()
            await get(
                Cluster(client),
                [SOURCES["git"]],
                GetOptions(namespace=populated, no_color=no_color),
                out,
            )
            outputs.append(out.getvalue())
        monkeypatch.setenv("NO_COLOR", "1")
        out = _Terminal()
        await get(Cluster(client), [SOURCES["git"]], GetOptions(namespace=populated), out)
        outputs.append(out.getvalue())
    coloured, plain, no_color_env = outputs
    assert "\x1b[32mTrue \x1b[0m" in coloured
    assert "\x1b[31mFalse\x1b[0m" in coloured
    assert plain == no_color_env
    assert "\x1b" not in plain
    # Fitted to the 60 columns of the terminal: the message is cut with an ellipsis.
    assert all(len(line) <= 60 for line in plain.splitlines())
    assert plain.splitlines()[1].endswith("…")
