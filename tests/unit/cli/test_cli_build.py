"""`gotk build kustomization` and `gotk diff kustomization` against the real controllers:
the local build of a Git work tree equals what kustomize-controller applied from the same
commit, and a local edit diffs against what it applied."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from fixtures.cli import Gotk, assert_snapshot
from fixtures.kustomize_env import KsEnv, ready_at
from fixtures.sops_keys import AgeKey, SopsEncrypt
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane

SETTINGS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  greeting: "${greeting}"
  region: "${region:=eu}"
  token: "${token}"
"""
CREDS = """\
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: hunter2
"""
OTHER = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: other
data:
  tier: "${tier:=gold}"
"""
FILES: dict[str, str | None] = {
    "apps/settings.yaml": SETTINGS,
    "apps/creds.yaml": CREDS,
    "apps/nested/other.yaml": OTHER,
    "apps/logo.png": "not a manifest",
    "README.md": "a repository with more than the path in it\n",
}


def _spec(namespace: str) -> dict[str, Any]:
    return {
        "path": "./apps",
        "targetNamespace": namespace,
        "commonMetadata": {"labels": {"team": "a"}},
        "postBuild": {
            "substitute": {"greeting": "hello"},
            "substituteFrom": [
                {"kind": "ConfigMap", "name": "vars"},
                {"kind": "Secret", "name": "secret-vars"},
            ],
        },
    }


async def _applied(env: KsEnv) -> tuple[Path, Obj]:
    repo, sha = await env.source(FILES)
    await env.call(
        "POST",
        env.core_path("configmaps"),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "vars"},
            "data": {"region": "us"},
        },
    )
    await env.secret("secret-vars", {"token": b"s3cr3t"})
    await env.kustomization("apps", **_spec(env.namespace))
    ks = await env.until("apps", ready_at(sha))
    return repo.work, ks


def _is_subset(part: Any, whole: Any) -> bool:
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            key in whole and _is_subset(value, whole[key]) for key, value in part.items()
        )
    return bool(part == whole)


async def test_build_equals_what_the_controller_applied(gotk: Gotk, env: KsEnv) -> None:
    ns = env.namespace
    work, ks = await _applied(env)

    result = await gotk("build", "kustomization", "apps", "--path", str(work / "apps"), "-n", ns)
    assert result.code == 0, result.err
    built = [doc for doc in yaml.safe_load_all(result.out) if doc]

    inventory = sorted(entry["id"] for entry in ks["status"]["inventory"]["entries"])
    assert sorted(f"{ns}_{o['metadata']['name']}__{o['kind']}" for o in built) == inventory
    for obj in built:
        plural = "secrets" if obj["kind"] == "Secret" else "configmaps"
        live = await env.call("GET", env.core_path(f"{plural}/{obj['metadata']['name']}"))
        if obj["kind"] == "Secret":
            assert obj.pop("stringData") == {"password": "***"}
            assert base64.b64decode(live["data"]["password"]) == b"hunter2"
        assert _is_subset(obj, live), (obj, live)
    settings = next(o for o in built if o["metadata"]["name"] == "settings")
    assert settings["data"] == {"greeting": "hello", "region": "us", "token": "s3cr3t"}
    assert "hunter2" not in result.out
    assert_snapshot("build_ks", result.out, ns=ns)


async def test_build_from_a_kustomization_file_in_dry_run_mode(
    gotk: Gotk, tmp_path: Path, namespace: str
) -> None:
    source = tmp_path / "repo"
    _write(source, FILES)
    ks = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps"},
        "spec": {
            **_spec(namespace),
            "interval": "5m",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
        },
    }
    file = tmp_path / "apps.yaml"
    file.write_text(yaml.safe_dump_all([{"kind": "ConfigMap"}, ks]))
    argv = ["build", "ks", "apps", "--path", str(source / "apps"), "-n", namespace]

    result = await gotk(*argv, "--kustomization-file", str(file), "--dry-run")
    assert result.code == 0, result.err
    settings = next(
        d for d in yaml.safe_load_all(result.out) if d["metadata"]["name"] == "settings"
    )
    # substituteFrom is not read without a cluster: defaults apply, and an unset variable
    # leaves an empty value that YAML reads back as null (as in Flux).
    assert settings["data"] == {"greeting": "hello", "region": "eu", "token": None}

    ignoring = await gotk(
        *argv, "--kustomization-file", str(file), "--dry-run", "--ignore-paths", "nested/"
    )
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(ignoring.out)] == [
        "settings",
        "creds",
    ]

    strict = await gotk(
        *argv, "--kustomization-file", str(file), "--dry-run", "--strict-substitute"
    )
    assert strict.code == 1
    assert strict.err == (
        f"✗ post build failed for 'ConfigMap/{namespace}/settings': "
        'variable not set (strict mode): "token"\n'
    )


async def test_build_refuses_a_missing_path_and_a_dry_run_without_a_file(
    gotk: Gotk, tmp_path: Path
) -> None:
    missing = await gotk("build", "ks", "apps", "--path", str(tmp_path / "nope"))
    assert missing.err == f"✗ invalid resource path '{tmp_path / 'nope'}': not a directory\n"
    dry = await gotk("build", "ks", "apps", "--path", str(tmp_path), "--dry-run")
    assert dry.err == "✗ dry-run mode requires a kustomization file\n"


def _write(root: Path, files: Mapping[str, str | None]) -> None:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content or "")


async def test_build_decrypts_sops_only_with_the_kustomizations_keys(
    gotk: Gotk,
    cluster: ControlPlane,
    namespace: str,
    tmp_path: Path,
    sops_encrypt: SopsEncrypt,
    age_key: AgeKey,
) -> None:
    only_data = ["--encrypted-regex", "^(data|stringData)$"]
    plain = SETTINGS.replace("${greeting}", "sealed-greeting")
    files = {
        name: sops_encrypt(text.encode(), ".yaml", age=[age_key.recipient], args=only_data).decode()
        for name, text in (("apps/settings.yaml", plain), ("apps/creds.yaml", CREDS))
    }
    _write(tmp_path / "repo", files)
    identity = base64.b64encode(age_key.identity.encode()).decode()
    code, body = await cluster.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sops-age"},
         "data": {"identity.agekey": identity}},
    )  # fmt: skip
    assert code == 201, body

    async def build_with(secret: str) -> tuple[list[Obj], str]:
        ks = {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "sealed", "namespace": namespace},
            "spec": {
                "interval": "5m",
                "prune": True,
                "path": "./apps",
                "sourceRef": {"kind": "GitRepository", "name": "repo"},
                "decryption": {"provider": "sops", "secretRef": {"name": secret}},
            },
        }
        file = tmp_path / f"{secret}.yaml"
        file.write_text(yaml.safe_dump(ks))
        argv = ["build", "ks", "sealed", "--path", str(tmp_path / "repo" / "apps")]
        result = await gotk(*argv, "-n", namespace, "--kustomization-file", str(file))
        assert result.code == 0, result.err
        return [d for d in yaml.safe_load_all(result.out) if d], result.err

    decrypted, warnings = await build_with("sops-age")
    assert warnings == ""
    settings = next(o for o in decrypted if o["kind"] == "ConfigMap")
    assert settings["data"]["greeting"] == "sealed-greeting"
    creds = next(o for o in decrypted if o["kind"] == "Secret")
    assert creds["stringData"] == {"password": "***"}
    assert all("sops" not in o for o in decrypted)

    sealed, warnings = await build_with("missing")
    assert warnings == (
        "⚠️ SOPS-encrypted manifests are left encrypted: cannot get decryption Secret "
        f"'{namespace}/missing': not found\n"
    )
    settings = next(o for o in sealed if o["kind"] == "ConfigMap")
    assert settings["data"]["greeting"].startswith("ENC[AES256_GCM,")
    assert all("sops" not in o for o in sealed)


async def test_diff_is_unchanged_until_a_local_edit(gotk: Gotk, env: KsEnv) -> None:
    ns = env.namespace
    work, _ = await _applied(env)
    argv = ["diff", "kustomization", "apps", "--path", str(work / "apps"), "-n", ns]

    same = await gotk(*argv)
    assert (same.code, same.err) == (0, ""), same.err
    assert same.out.splitlines() == [
        f"► ConfigMap/{ns}/other unchanged",
        f"► ConfigMap/{ns}/settings unchanged",
        f"► Secret/{ns}/creds unchanged",
    ]

    (work / "apps/settings.yaml").write_text(SETTINGS.replace("${greeting}", "${greeting}, world"))
    (work / "apps/creds.yaml").write_text(CREDS.replace("hunter2", "correct-horse"))
    (work / "apps/nested/other.yaml").unlink()
    (work / "apps/added.yaml").write_text(OTHER.replace("name: other", "name: added"))
    changed = await gotk(*argv)
    assert changed.code == 1
    assert changed.err == "✗ identified at least one change, exiting with non-zero exit code\n"
    assert "hunter2" not in changed.out
    assert "correct-horse" not in changed.out
    assert_snapshot("diff_ks", changed.out, ns=ns)
