"""GitRepository `spec.verify` end to end: the real source-controller and API server, commits
and tags signed by real gpg, served by the real git HTTP backend."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fixtures.controllers import RunningSourceController, condition, eventually
from fixtures.git_servers import GitHTTPServer, GitRepo
from fixtures.sops_keys import PgpKey
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane

GROUP = "/apis/source.toolkit.fluxcd.io/v1"
_ALGO = ("future-default", "default", "never")


@dataclass
class VerifyEnv:
    cluster: ControlPlane
    namespace: str
    controller: RunningSourceController
    server: GitHTTPServer
    make_repo: Callable[..., GitRepo]
    key: PgpKey

    @property
    def path(self) -> str:
        return f"{GROUP}/namespaces/{self.namespace}/gitrepositories"

    @property
    def key_id(self) -> str:
        return self.key.fingerprint[-16:]

    def public_key(self) -> bytes:
        return subprocess.run(
            ["gpg", "--batch", "--homedir", str(self.key.gnupg_home), "--armor", "--export"],
            check=True,
            capture_output=True,
            timeout=30,
        ).stdout

    async def secret(self, name: str, data: dict[str, bytes]) -> None:
        encoded = {k: base64.b64encode(v).decode() for k, v in data.items()}
        status, body = await self.cluster.request(
            "POST",
            f"/api/v1/namespaces/{self.namespace}/secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded},
        )
        assert status == 201, body

    async def trust(self) -> None:
        await self.secret("pgp", {"author.asc": self.public_key()})

    async def create(self, name: str, repo: GitRepo, **spec: Any) -> None:
        obj = {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name},
            "spec": {"url": self.server.url(repo), "interval": "1m", **spec},
        }
        status, body = await self.cluster.request("POST", self.path, obj)
        assert status == 201, body

    async def patch(self, name: str, patch: Obj) -> None:
        status, body = await self.cluster.request(
            "PATCH", f"{self.path}/{name}", patch, content_type="application/merge-patch+json"
        )
        assert status == 200, body

    async def get(self, name: str) -> Obj:
        status, body = await self.cluster.request("GET", f"{self.path}/{name}")
        assert status == 200, body
        result: Obj = body
        return result

    async def settled(self, name: str, ready: str, revision: str = "") -> Obj:
        """The object once Ready has `ready` status for the current generation (and revision)."""

        async def check() -> Obj | None:
            obj = await self.get(name)
            status = obj.get("status") or {}
            ready_condition = condition(obj, "Ready")
            # A failed reconcile leaves status.observedGeneration alone, as in Flux.
            current = ready_condition.get("observedGeneration") == obj["metadata"]["generation"]
            seen = revision in (status.get("lastHandledReconcileAt") or "") if revision else True
            matches = ready_condition.get("status") == ready
            return obj if current and matches and seen else None

        result: Obj = await eventually(check)
        return result


@pytest.fixture
def env(
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
    pgp_key: PgpKey,
) -> VerifyEnv:
    return VerifyEnv(cluster, namespace, source_controller, git_http_server, make_git_repo, pgp_key)


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgpKey]:
    """A key the GitRepository's secret does not hold."""
    home = tmp_path_factory.mktemp("gnupg-stranger")
    home.chmod(0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(home)]
    try:
        subprocess.run(
            [*gpg, "--passphrase", "", "--quick-gen-key", "stranger <s@gotk.invalid>", *_ALGO],
            check=True,
            capture_output=True,
            timeout=60,
        )
        listing = subprocess.run(
            [*gpg, "--list-secret-keys", "--with-colons"],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        yield PgpKey(fpr, b"", home)
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=30
        )


def _artifact_files(env: VerifyEnv, name: str) -> list[str]:
    storage = env.controller.storage_path / "gitrepository" / env.namespace / name
    return sorted(p.name for p in storage.glob("*.tar.gz")) if storage.exists() else []


async def test_signed_commit_is_verified_and_stored(env: VerifyEnv) -> None:
    repo = env.make_repo()
    sha = repo.commit({"app.yaml": "kind: ConfigMap\n"}, sign=env.key)
    await env.trust()
    await env.create("app", repo, verify={"mode": "HEAD", "secretRef": {"name": "pgp"}})

    obj = await env.settled("app", "True")
    assert obj["status"]["artifact"]["revision"] == f"master@sha1:{sha}"
    verified = condition(obj, "SourceVerified")
    assert verified["status"] == "True"
    assert verified["reason"] == "Succeeded"
    assert verified["message"] == (
        f"verified signature of\n\t- commit '{sha}' with key '{env.key_id}'"
    )
    assert obj["status"]["sourceVerificationMode"] == "HEAD"


@pytest.mark.parametrize("signer", ["none", "stranger"])
async def test_unverifiable_commit_is_refused_without_an_artifact(
    env: VerifyEnv, stranger: PgpKey, signer: str
) -> None:
    repo = env.make_repo()
    sha = repo.commit(sign=stranger if signer == "stranger" else None)
    await env.trust()
    await env.create("app", repo, verify={"mode": "head", "secretRef": {"name": "pgp"}})

    obj = await env.settled("app", "False")
    verified = condition(obj, "SourceVerified")
    assert verified["status"] == "False"
    assert verified["reason"] == "InvalidCommitSignature"
    assert f"signature verification of commit '{sha}' failed" in verified["message"]
    ready = condition(obj, "Ready")
    assert ready["reason"] == "InvalidCommitSignature"
    assert sha in ready["message"]
    assert "artifact" not in obj["status"]
    assert _artifact_files(env, "app") == []


async def test_missing_key_secret_is_a_verification_error(env: VerifyEnv) -> None:
    repo = env.make_repo()
    repo.commit(sign=env.key)
    await env.create("app", repo, verify={"secretRef": {"name": "absent"}})

    obj = await env.settled("app", "False")
    verified = condition(obj, "SourceVerified")
    assert verified["reason"] == "VerificationError"
    assert verified["message"].startswith("PGP public keys secret error:")
    assert condition(obj, "Ready")["reason"] == "VerificationError"


async def test_signed_annotated_tag_is_verified_in_tag_mode(env: VerifyEnv) -> None:
    repo = env.make_repo()
    sha = repo.commit()
    repo.tag("v1.0.0", message="release", sign=env.key)
    tag_oid = repo.git("rev-parse", "refs/tags/v1.0.0")
    await env.trust()
    await env.create(
        "app", repo, ref={"tag": "v1.0.0"}, verify={"mode": "Tag", "secretRef": {"name": "pgp"}}
    )

    obj = await env.settled("app", "True")
    assert obj["status"]["artifact"]["revision"] == f"v1.0.0@sha1:{sha}"
    verified = condition(obj, "SourceVerified")
    assert verified["message"] == (
        f"verified signature of\n\t- tag 'v1.0.0@{tag_oid}' with key '{env.key_id}'"
    )
    assert obj["status"]["sourceVerificationMode"] == "Tag"


async def test_tag_mode_on_a_branch_stalls(env: VerifyEnv) -> None:
    repo = env.make_repo()
    repo.commit(sign=env.key)
    await env.trust()
    await env.create("app", repo, verify={"mode": "TagAndHEAD", "secretRef": {"name": "pgp"}})

    obj = await env.settled("app", "False")
    assert condition(obj, "SourceVerified")["reason"] == "InvalidVerificationMode"
    assert condition(obj, "Stalled").get("status") == "True"


async def test_unsigned_new_commit_keeps_last_good_artifact_until_verify_is_removed(
    env: VerifyEnv,
) -> None:
    repo = env.make_repo()
    good = repo.commit({"v": "1"}, sign=env.key)
    await env.trust()
    await env.create("app", repo, verify={"secretRef": {"name": "pgp"}})
    await env.settled("app", "True")

    bad = repo.commit({"v": "2"}, "unsigned change")
    await env.patch("app", {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "1"}}})
    obj = await env.settled("app", "False", revision="1")
    assert condition(obj, "SourceVerified")["reason"] == "InvalidCommitSignature"
    assert bad in condition(obj, "Ready")["message"]
    assert obj["status"]["artifact"]["revision"] == f"master@sha1:{good}"
    files = _artifact_files(env, "app")
    assert f"{good}.tar.gz" in files
    assert f"{bad}.tar.gz" not in files

    await env.patch("app", {"spec": {"verify": None}})
    obj = await env.settled("app", "True")
    assert obj["status"]["artifact"]["revision"] == f"master@sha1:{bad}"
    assert condition(obj, "SourceVerified") == {}
    assert "sourceVerificationMode" not in obj["status"]


async def test_adding_verify_to_an_unchanged_revision_verifies_it(env: VerifyEnv) -> None:
    """The ls-remote fast path must not skip a verification the stored artifact never had."""
    repo = env.make_repo()
    sha = repo.commit(sign=env.key)
    await env.trust()
    await env.create("app", repo)
    await env.settled("app", "True")

    await env.patch("app", {"spec": {"verify": {"mode": "HEAD", "secretRef": {"name": "pgp"}}}})
    obj = await env.settled("app", "True")
    assert condition(obj, "SourceVerified")["status"] == "True"
    assert sha in condition(obj, "SourceVerified")["message"]
    assert obj["status"]["sourceVerificationMode"] == "HEAD"
