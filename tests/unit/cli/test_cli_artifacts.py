"""`gotk push|pull|tag artifact` and `gotk list artifacts` against the real `registry`
binary, and the real source-controller consuming what `gotk push` pushed."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import aiohttp
import pytest
from fixtures.cli import SOURCE, Gotk
from fixtures.controllers import RunningSourceController, condition, eventually
from fixtures.oci_registry import FLUX_CONFIG, FLUX_LAYER, OCI_MANIFEST, Registry, unique_repo
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane

REVISION = "main@sha1:" + "a" * 40
SOURCE_URL = "https://github.com/org/app"
FILES = {
    "deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    "deploy/nested/more.yaml": "kind: Nothing\n",
    "deploy/logo.png": "an image, left out by default",
    "deploy/.git/HEAD": "ref: refs/heads/main\n",
}
_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


@pytest.fixture(autouse=True)
def no_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials only from --creds: the machine's Docker config stays out of the tests."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))


def _tree(root: Path) -> Path:
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root / "deploy"


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


async def _manifest(registry: Registry, repo: str, ref: str) -> Obj:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{registry.base_url}/v2/{repo}/manifests/{ref}", headers={"Accept": OCI_MANIFEST}
        ) as response,
    ):
        assert response.status == 200
        document: Obj = json.loads(await response.read())
        return document


async def test_pushed_artifact_is_made_ready_by_an_oci_repository(
    gotk: Gotk,
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    oci_registry: Registry,
    tmp_path: Path,
) -> None:
    repo = unique_repo()
    path = _tree(tmp_path)
    url = f"{oci_registry.url(repo)}:v1"
    push = ["push", "artifact", url, f"--path={path}", f"--source={SOURCE_URL}"]

    result = await gotk(*push, f"--revision={REVISION}")
    assert result.code == 0, result.err
    pushing, pushed = result.err.splitlines()
    assert pushing == f"► pushing artifact to {oci_registry.host}/{repo}:v1"
    match = _DIGEST.search(pushed)
    assert match is not None, pushed
    digest = match.group(1)
    assert pushed == f"✔ artifact successfully pushed to {oci_registry.host}/{repo}@{digest}"

    manifest = await _manifest(oci_registry, repo, "v1")
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"]["mediaType"] == FLUX_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [FLUX_LAYER]
    annotations = manifest["annotations"]
    assert annotations["org.opencontainers.image.source"] == SOURCE_URL
    assert annotations["org.opencontainers.image.revision"] == REVISION
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", annotations["org.opencontainers.image.created"]
    )

    code, body = await cluster.request(
        "POST",
        f"{SOURCE}/namespaces/{namespace}/ocirepositories",
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "OCIRepository",
            "metadata": {"name": "app"},
            "spec": {
                "url": oci_registry.url(repo),
                "ref": {"tag": "v1"},
                "insecure": True,
                "interval": "1h",
            },
        },
    )
    assert code == 201, body

    async def ready() -> Obj | None:
        _, obj = await cluster.request(
            "GET", f"{SOURCE}/namespaces/{namespace}/ocirepositories/app"
        )
        return obj if condition(obj, "Ready").get("status") == "True" else None

    obj = await eventually(ready, timeout=60)
    artifact = obj["status"]["artifact"]
    assert artifact["revision"] == f"v1@{digest}"
    assert artifact["metadata"]["org.opencontainers.image.revision"] == REVISION

    # What the controller stored is what was pushed: the files, without .git and images.
    pulled = tmp_path / "pulled"
    pulled.mkdir()
    result = await gotk("pull", "artifact", url, f"--output={pulled}")
    assert result.code == 0, result.err
    assert result.err.splitlines() == [
        f"► pulling artifact from {oci_registry.host}/{repo}:v1",
        f"✔ source {SOURCE_URL}",
        f"✔ revision {REVISION}",
        f"✔ digest {digest}",
        f"✔ artifact content extracted to {pulled}",
    ]
    assert _files(pulled) == {
        "cm.yaml": FILES["deploy/cm.yaml"],
        "nested/more.yaml": FILES["deploy/nested/more.yaml"],
    }


async def test_reproducible_pushes_of_the_same_files_have_one_digest(
    gotk: Gotk, oci_registry: Registry, tmp_path: Path
) -> None:
    repo = unique_repo()
    path = _tree(tmp_path)
    digests = []
    for tag in ("a", "b"):
        result = await gotk(
            "push", "artifact", f"{oci_registry.url(repo)}:{tag}", "-p", str(path),
            "--source", SOURCE_URL, "--revision", REVISION, "--reproducible", "-o", "json",
        )  # fmt: skip
        assert result.code == 0, result.err
        document = json.loads(result.out)
        assert document["tag"] == tag
        assert document["repository"] == f"{oci_registry.host}/{repo}"
        assert document["url"] == f"oci://{oci_registry.host}/{repo}@{document['digest']}"
        digests.append(document["digest"])
    assert digests[0] == digests[1]


async def test_tag_and_list_artifacts(gotk: Gotk, oci_registry: Registry, tmp_path: Path) -> None:
    repo = unique_repo()
    path = _tree(tmp_path)
    base = oci_registry.url(repo)
    pushed = await gotk(
        "push", "artifact", f"{base}:v1", "-p", str(path / "cm.yaml"),
        "--source", SOURCE_URL, "--revision", REVISION, "-o", "json",
    )  # fmt: skip
    digest = json.loads(pushed.out)["digest"]

    tagged = await gotk("tag", "artifact", f"{base}:v1", "--tag", "latest", "--tag", "v1.0.0")
    assert tagged.code == 0, tagged.err
    assert tagged.err.splitlines() == [
        "► tagging artifact",
        f"✔ artifact tagged as {oci_registry.host}/{repo}:latest",
        f"✔ artifact tagged as {oci_registry.host}/{repo}:v1.0.0",
    ]

    listed = await gotk("list", "artifacts", base)
    assert listed.code == 0, listed.err
    rows = [line.split() for line in listed.out.splitlines()]
    assert rows[0] == ["ARTIFACT", "DIGEST", "SOURCE", "REVISION"]
    assert rows[1:] == [
        [f"{oci_registry.host}/{repo}:{tag}", digest, SOURCE_URL, REVISION]
        for tag in ("v1.0.0", "v1", "latest")
    ]
    in_range = await gotk("list", "artifacts", base, "--filter-semver", ">=1.0.0", "-o", "json")
    assert [a["url"] for a in json.loads(in_range.out)] == [f"{oci_registry.host}/{repo}:v1.0.0"]


async def test_credentials_are_used_and_never_printed(
    gotk: Gotk,
    oci_auth_registry: Registry,
    oci_credentials: tuple[str, str],
    tmp_path: Path,
) -> None:
    user, password = oci_credentials
    path = _tree(tmp_path)
    url = f"{oci_auth_registry.url(unique_repo())}:v1"
    push = ["push", "artifact", url, "-p", str(path), "--source", SOURCE_URL, "--revision", "v1"]

    anonymous = await gotk(*push)
    assert anonymous.code == 1
    assert "requires authentication" in anonymous.err
    wrong = await gotk(*push, "--creds", f"{user}:not-{password}")
    assert wrong.code == 1
    assert "rejected the credentials" in wrong.err
    right = await gotk(*push, "--creds", f"{user}:{password}")
    assert right.code == 0, right.err
    listed = await gotk(
        "list", "artifacts", url.rpartition(":")[0], "--creds", f"{user}:{password}"
    )
    assert listed.code == 0, listed.err
    for result in (anonymous, wrong, right, listed):
        assert password not in result.out + result.err


async def test_a_bad_url_or_a_missing_flag_is_one_line(gotk: Gotk, tmp_path: Path) -> None:
    no_scheme = await gotk("push", "artifact", "ghcr.io/org/app:v1", "-p", str(tmp_path),
                           "--source", "s", "--revision", "r")  # fmt: skip
    assert no_scheme.err == (
        "✗ URL must be in format 'oci://<domain>/<org>/<repo>': 'ghcr.io/org/app:v1'\n"
    )
    no_source = await gotk("push", "artifact", "oci://ghcr.io/org/app:v1", "-p", str(tmp_path))
    assert no_source.err == "✗ --source is required\n"
    no_tag = await gotk("tag", "artifact", "oci://ghcr.io/org/app:v1")
    assert no_tag.err == "✗ --tag is required\n"


async def test_push_from_stdin_holds_one_manifests_file(
    gotk: Gotk, oci_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(built.encode())))
    url = f"{oci_registry.url(unique_repo())}:v1"
    pushed = await gotk(
        "push", "artifact", url, "-p", "-", "--source", SOURCE_URL, "--revision", REVISION
    )
    assert pushed.code == 0, pushed.err
    pulled = tmp_path / "pulled"
    pulled.mkdir()
    result = await gotk("pull", "artifact", url, "-o", str(pulled))
    assert result.code == 0, result.err
    assert _files(pulled) == {"manifests.yaml": built}
