"""`gotk create`: --export prints Flux's YAML; without it the object is applied and the command
waits for the real controllers' first reconcile."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from fixtures.cli import Gotk, assert_snapshot
from fixtures.controllers import RunningKustomizeController, RunningSourceController
from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_envtest import ControlPlane

EXPORTS = {
    "create_hr_export": [
        "create", "hr", "podinfo", "--source=HelmRepository/podinfo.charts", "--chart=podinfo",
        "--chart-version=>4.0.0", "--target-namespace=apps", "--create-target-namespace",
        "--depends-on=infra/cert-manager", "--values-from=ConfigMap/values", "--crds=CreateReplace",
        "--label=team=a", "--interval=10m",
    ],
    "create_hr_chart_ref_export": [
        "create", "hr", "podinfo", "--chart-ref=OCIRepository/podinfo", "--release-name=web",
    ],
    "create_ks_export": [
        "create", "ks", "apps", "--source=OCIRepository/manifests.flux-system", "--path=./apps",
        "--prune", "--wait", "--health-check-timeout=3m", "--target-namespace=apps",
        "--decryption-provider=sops", "--decryption-secret=sops-age", "--interval=5m",
    ],
    "create_source_git_export": [
        "create", "source", "git", "podinfo", "--url=https://github.com/stefanprodan/podinfo",
        "--branch=master", "--ignore-paths=.cosign,non-existent-dir/", "--secret-ref=auth",
    ],
    "create_source_helm_oci_export": [
        "create", "source", "helm", "charts", "--url=oci://ghcr.io/org/charts", "--interval=1h",
    ],
    "create_source_bucket_export": [
        "create", "source", "bucket", "b", "--bucket-name=manifests", "--endpoint=minio:9000",
        "--insecure", "--secret-ref=minio",
    ],
    "create_source_oci_export": [
        "create", "source", "oci", "podinfo", "--url=oci://ghcr.io/org/podinfo",
        "--tag-semver=6.x", "--ignore-paths=*.md",
    ],
    "create_secret_git_export": [
        "create", "secret", "git", "auth", "--url=https://example.com/repo",
        "-u", "git", "-p", "pw",
    ],
    "create_secret_helm_export": ["create", "secret", "helm", "auth", "-u", "u", "-p", "pw"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPORTS))
async def test_export_prints_fluxs_yaml(gotk: Gotk, name: str) -> None:
    result = await gotk(*EXPORTS[name], "--export", "-n", "flux-system")
    assert (result.code, result.err) == (0, "")
    assert_snapshot(name, result.out)


async def test_oci_secret_is_a_docker_config_for_the_registry_host(gotk: Gotk) -> None:
    result = await gotk(
        "create", "secret", "oci", "r", "--url=ghcr.io/org/app", "-u", "me", "-p", "pw", "--export"
    )
    import yaml

    secret = yaml.safe_load(result.out)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    auths = json.loads(secret["stringData"][".dockerconfigjson"])["auths"]
    assert auths == {
        "ghcr.io": {"username": "me", "password": "pw", "auth": base64.b64encode(b"me:pw").decode()}
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["create", "source", "git", "x", "--url=https://h/r"],
            "a Git ref is required, use one of the following:"
            " --branch, --tag, --commit or --tag-semver",
        ),
        (["create", "ks", "x"], "--source is required"),
        (
            ["create", "hr", "x", "--source=OCIRepository/x", "--chart=c"],
            "invalid --source 'OCIRepository/x':"
            " expected <HelmRepository|GitRepository|Bucket>/<name>[.<namespace>]",
        ),
        (
            ["create", "source", "git", "x", "--url=https://h/r", "--branch=main", "--label=oops"],
            "invalid label 'oops': expected key=value",
        ),
        (
            ["create", "source", "oci", "x", "--url=https://h/r", "--tag=v1"],
            "invalid OCIRepository x: spec.url: String should match pattern '^oci://.*$'",
        ),
    ],
)
async def test_bad_flags_are_one_line(gotk: Gotk, argv: list[str], message: str) -> None:
    result = await gotk(*argv, "--export")
    assert (result.code, result.out) == (1, "")
    assert result.err == f"✗ {message}\n"


async def test_create_secret_applies_it_without_printing_the_password(
    gotk: Gotk, cluster: ControlPlane, namespace: str
) -> None:
    argv = ["create", "secret", "git", "auth", "--url=https://h/r", "-u", "git", "-p", "s3cret"]
    result = await gotk(*argv, "-n", namespace)
    assert result.code == 0, result.err
    assert "s3cret" not in result.out + result.err
    assert result.err == f"► git secret 'auth' created in '{namespace}' namespace\n"
    _, secret = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/secrets/auth")
    assert base64.b64decode(secret["data"]["password"]) == b"s3cret"


async def test_create_source_git_and_kustomization_wait_for_the_controllers(
    gotk: Gotk,
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    git_http_server: GitHTTPServer,
    make_git_repo: Callable[..., GitRepo],
) -> None:
    repo = make_git_repo()
    config_map = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: {namespace}\n"
    )
    sha = repo.commit({"cm.yaml": config_map})
    url = git_http_server.url(repo)
    result = await gotk(
        "create", "source", "git", "app", f"--url={url}", "--branch=master", "-n", namespace
    )
    assert result.code == 0, result.err
    assert result.err.splitlines() == [
        "✚ generating GitRepository source",
        "► applying GitRepository source",
        "✔ GitRepository source created",
        "◎ waiting for GitRepository source reconciliation",
        "✔ GitRepository source reconciliation completed",
        f"✔ fetched revision: master@sha1:{sha}",
    ]
    result = await gotk(
        "create", "ks", "app", "--source=app", "--prune", "-n", namespace, "--interval=1h"
    )
    assert result.code == 0, result.err
    assert result.err.splitlines()[-1] == f"✔ applied revision master@sha1:{sha}"
    code, _ = await cluster.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/cm")
    assert code == 200

    # Run again: the same object, updated in place.
    result = await gotk(
        "create", "ks", "app", "--source=app", "--prune", "-n", namespace, "--interval=1h"
    )
    assert "✔ Kustomization updated" in result.err.splitlines()
