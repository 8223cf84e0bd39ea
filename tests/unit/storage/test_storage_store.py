"""ArtifactStorage: Flux's layout and URLs, atomic writes, confinement, latest link, removal."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from gotk_api.meta import Artifact
from gotk_artifacts.digest import compute_file
from gotk_artifacts.errors import ArchiveBuildError, DigestMismatch
from source_controller.storage import ArtifactStorage, StorageError


@pytest.fixture
def storage(tmp_path: Path) -> ArtifactStorage:
    root = tmp_path / "data"
    root.mkdir()
    return ArtifactStorage(root, "source-controller.flux-system.svc.cluster.local.")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "checkout"
    (path / "deploy").mkdir(parents=True)
    (path / "deploy" / "app.yaml").write_text("kind: Deployment\n")
    return path


def object_dir(storage: ArtifactStorage, *parts: str) -> Path:
    return storage.root.joinpath(*parts)


async def test_archive_uses_fluxs_layout_url_and_digest_name(
    storage: ArtifactStorage, src: Path
) -> None:
    stored = await storage.archive(src, "GitRepository", "flux-system", "podinfo")
    local = storage.local_path(stored.path)
    digest = compute_file(local)
    assert stored.path == f"gitrepository/flux-system/podinfo/{digest.hex}.tar.gz"
    assert stored.url == (f"http://source-controller.flux-system.svc.cluster.local./{stored.path}")
    assert stored.digest == str(digest)
    assert stored.size == local.stat().st_size
    assert local.stat().st_mode & 0o777 == 0o600
    assert stored.last_update_time.tzinfo is not None


async def test_archive_with_a_commit_file_name(storage: ArtifactStorage, src: Path) -> None:
    stored = await storage.archive(src, "GitRepository", "ns", "app", filename="abc123.tar.gz")
    assert stored.path == "gitrepository/ns/app/abc123.tar.gz"


async def test_stored_artifact_converts_to_the_api_model(
    storage: ArtifactStorage, src: Path
) -> None:
    stored = await storage.archive(src, "GitRepository", "ns", "app", filename="abc.tar.gz")
    api = stored.to_api("main@sha1:abc")
    assert isinstance(api, Artifact)
    dumped = api.model_dump(mode="json", exclude_none=True)
    assert dumped["revision"] == "main@sha1:abc"
    assert dumped["digest"] == stored.digest
    assert dumped["lastUpdateTime"].endswith("Z")


@pytest.mark.parametrize(
    ("hostname", "url"),
    [
        ("localhost:9090", "http://localhost:9090/a/b/c/d.tar.gz"),
        ("https://artifacts.example.com/", "https://artifacts.example.com/a/b/c/d.tar.gz"),
        ("http://10.0.0.1:80", "http://10.0.0.1:80/a/b/c/d.tar.gz"),
    ],
)
def test_artifact_url(tmp_path: Path, hostname: str, url: str) -> None:
    assert ArtifactStorage(tmp_path, hostname).artifact_url("a/b/c/d.tar.gz") == url


@pytest.mark.parametrize(
    ("kind", "namespace", "name", "filename"),
    [
        ("GitRepository", "..", "x", "a.tar.gz"),
        ("GitRepository", "ns", "a/b", "a.tar.gz"),
        ("GitRepository", "", "x", "a.tar.gz"),
        ("GitRepository", "ns", "x", "../a.tar.gz"),
        ("GitRepository", "ns", "x", ".hidden"),
        ("GitRepository", "ns", "x", "a.tar.gz.lock"),
        ("GitRepository", "ns", "x", "a\\b"),
    ],
)
def test_invalid_path_parts_are_refused_with_invalid_path(
    storage: ArtifactStorage, kind: str, namespace: str, name: str, filename: str
) -> None:
    with pytest.raises(StorageError) as info:
        storage.artifact_path(kind, namespace, name, filename)
    assert info.value.reason == "InvalidPath"


def test_local_path_refuses_escapes(storage: ArtifactStorage, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (storage.root / "gitrepository").mkdir()
    (storage.root / "gitrepository" / "evil").symlink_to(tmp_path / "outside")
    for bad in ("../x", "gitrepository/../../x", "gitrepository/evil/app/a.tar.gz"):
        with pytest.raises(StorageError, match=r"invalid artifact path|outside the storage root"):
            storage.local_path(bad)


async def test_archive_through_a_symlinked_namespace_dir_is_refused(
    storage: ArtifactStorage, src: Path, tmp_path: Path
) -> None:
    (tmp_path / "outside").mkdir()
    (storage.root / "gitrepository").mkdir()
    (storage.root / "gitrepository" / "evil").symlink_to(tmp_path / "outside")
    with pytest.raises(StorageError) as info:
        await storage.archive(src, "GitRepository", "evil", "app")
    assert info.value.reason == "InvalidPath"
    assert list((tmp_path / "outside").iterdir()) == []


async def test_failed_archive_leaves_no_file_and_keeps_the_previous_one(
    storage: ArtifactStorage, src: Path
) -> None:
    good = await storage.archive(src, "GitRepository", "ns", "app", filename="a.tar.gz")

    def explode(rel: str, is_dir: bool) -> bool:
        raise OSError("disk full")

    with pytest.raises(ArchiveBuildError):
        await storage.archive(
            src, "GitRepository", "ns", "app", filename="a.tar.gz", ignore=explode
        )
    with pytest.raises(ArchiveBuildError):
        await storage.archive(src, "GitRepository", "ns", "app", ignore=explode)
    directory = object_dir(storage, "gitrepository", "ns", "app")
    assert [p.name for p in directory.iterdir()] == ["a.tar.gz"]
    await storage.verify(good.path, good.digest)


async def test_copy_file_names_by_digest_with_prefix_and_suffix(
    storage: ArtifactStorage, tmp_path: Path
) -> None:
    index = tmp_path / "index.yaml"
    index.write_text("apiVersion: v1\nentries: {}\n")
    stored = await storage.copy_file(
        index, "HelmRepository", "ns", "bitnami", prefix="index-", suffix=".yaml"
    )
    hexdigest = compute_file(index).hex
    assert stored.path == f"helmrepository/ns/bitnami/index-{hexdigest}.yaml"
    assert storage.local_path(stored.path).read_bytes() == index.read_bytes()
    chart = await storage.copy_file(index, "HelmChart", "ns", "x", filename="podinfo-6.0.3.tgz")
    assert chart.path == "helmchart/ns/x/podinfo-6.0.3.tgz"


async def test_failed_copy_leaves_nothing(storage: ArtifactStorage, tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        await storage.copy_file(tmp_path / "missing", "HelmChart", "ns", "x", filename="c.tgz")
    assert list(object_dir(storage, "helmchart", "ns", "x").iterdir()) == []


async def test_set_latest_points_at_the_artifact_and_is_replaced(
    storage: ArtifactStorage, src: Path
) -> None:
    first = await storage.archive(src, "GitRepository", "ns", "app", filename="one.tar.gz")
    link = await storage.set_latest(first.path)
    assert link == "gitrepository/ns/app/latest.tar.gz"
    assert os.readlink(storage.local_path(link)) == "one.tar.gz"
    second = await storage.archive(src, "GitRepository", "ns", "app", filename="two.tar.gz")
    await storage.set_latest(second.path)
    assert os.readlink(storage.local_path(link)) == "two.tar.gz"
    assert not await storage.exists(link), "a symlink is not a stored artifact"
    assert await storage.exists(second.path)


async def test_set_latest_to_a_missing_artifact_fails(storage: ArtifactStorage, src: Path) -> None:
    await storage.archive(src, "GitRepository", "ns", "app", filename="one.tar.gz")
    with pytest.raises(StorageError) as info:
        await storage.set_latest("gitrepository/ns/app/nope.tar.gz")
    assert info.value.reason == "SymlinkUpdateFailed"


async def test_verify_detects_a_corrupted_artifact(storage: ArtifactStorage, src: Path) -> None:
    stored = await storage.archive(src, "GitRepository", "ns", "app")
    storage.local_path(stored.path).write_bytes(b"tampered")
    with pytest.raises(DigestMismatch):
        await storage.verify(stored.path, stored.digest)


async def test_verify_of_a_missing_artifact_is_a_stat_failure(storage: ArtifactStorage) -> None:
    with pytest.raises(StorageError) as info:
        await storage.verify("gitrepository/ns/app/x.tar.gz", "sha256:" + "0" * 64)
    assert info.value.reason == "StatOperationFailed"


async def test_remove_all_deletes_the_object_dir_and_tolerates_absence(
    storage: ArtifactStorage, src: Path
) -> None:
    await storage.archive(src, "GitRepository", "ns", "app")
    await storage.archive(src, "GitRepository", "ns", "other")
    await storage.remove_all("GitRepository", "ns", "app")
    assert not object_dir(storage, "gitrepository", "ns", "app").exists()
    assert object_dir(storage, "gitrepository", "ns", "other").exists()
    await storage.remove_all("GitRepository", "ns", "app")


async def test_concurrent_writes_to_one_object_are_serialized(
    storage: ArtifactStorage, src: Path
) -> None:
    for i in range(50):
        (src / f"f{i}.yaml").write_text("x" * 10_000 * i)
    results = await asyncio.gather(
        *(
            storage.archive(src, "GitRepository", "ns", "app", filename="same.tar.gz")
            for _ in range(4)
        ),
        storage.remove_all("GitRepository", "ns", "app"),
    )
    # Whatever the order, the directory holds nothing half-written and no temp files.
    directory = object_dir(storage, "gitrepository", "ns", "app")
    names = sorted(p.name for p in directory.iterdir()) if directory.exists() else []
    assert names in ([], ["same.tar.gz"])
    if names:
        await storage.verify(results[0].path, results[0].digest)  # type: ignore[union-attr]
    assert storage._locks == {}, "lock table is emptied when unused"


def test_storage_root_must_exist(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        ArtifactStorage(tmp_path / "missing", "host")
