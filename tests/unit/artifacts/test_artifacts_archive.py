"""Deterministic tar.gz packing: same tree, same bytes; machine details never leak in."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

import pytest
from gotk_artifacts.archive import build_archive, build_archive_async, write_tar_gz
from gotk_artifacts.digest import compute_file
from gotk_artifacts.errors import ArchiveBuildError
from gotk_artifacts.ignore import IgnoreMatcher, read_patterns


def make_tree(root: Path) -> Path:
    (root / "apps" / "podinfo").mkdir(parents=True)
    (root / "apps" / "podinfo" / "deploy.yaml").write_text("kind: Deployment\n")
    (root / "apps" / "podinfo" / "svc.yaml").write_text("kind: Service\n")
    (root / "apps.txt").write_text("listing\n")
    (root / "scripts").mkdir()
    (root / "scripts" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "scripts" / "run.sh").chmod(0o755)
    (root / "empty").mkdir()
    (root / "kustomization.yaml").write_text("resources: [apps]\n")
    return root


def names(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


def test_same_tree_twice_gives_identical_bytes(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    first = build_archive(src, tmp_path / "one.tar.gz")
    second = build_archive(src, tmp_path / "two.tar.gz")
    assert first.digest == second.digest
    assert (tmp_path / "one.tar.gz").read_bytes() == (tmp_path / "two.tar.gz").read_bytes()
    assert first.digest == compute_file(tmp_path / "one.tar.gz")
    assert first.size == (tmp_path / "one.tar.gz").stat().st_size


def test_mtimes_owners_permissions_and_creation_order_do_not_change_the_digest(
    tmp_path: Path,
) -> None:
    src = make_tree(tmp_path / "src")
    other = tmp_path / "other"
    # Created in a different order, with other owners, mtimes and non-exec permissions.
    (other / "scripts").mkdir(parents=True)
    (other / "kustomization.yaml").write_text("resources: [apps]\n")
    (other / "scripts" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (other / "scripts" / "run.sh").chmod(0o711)
    (other / "empty").mkdir()
    (other / "apps.txt").write_text("listing\n")
    (other / "apps" / "podinfo").mkdir(parents=True)
    (other / "apps" / "podinfo" / "svc.yaml").write_text("kind: Service\n")
    (other / "apps" / "podinfo" / "deploy.yaml").write_text("kind: Deployment\n")
    (other / "apps" / "podinfo" / "deploy.yaml").chmod(0o664)
    for path in [other, *other.rglob("*")]:
        os.utime(path, (1_600_000_000, 1_600_000_000))
        os.chown(path, 4242, 4343)  # the tests run as root in this image

    assert (
        build_archive(src, tmp_path / "a.tar.gz").digest
        == build_archive(other, tmp_path / "b.tar.gz").digest
    )


def test_headers_are_stripped_of_owner_time_and_mode_details(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    os.chown(src / "apps.txt", 1234, 5678)
    build_archive(src, tmp_path / "a.tar.gz")
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers()}
    for member in members.values():
        assert (member.uid, member.gid, member.uname, member.gname, member.mtime) == (
            0,
            0,
            "",
            "",
            0,
        )
    assert members["apps.txt"].mode == 0o600
    assert members["scripts/run.sh"].mode == 0o700
    assert members["apps"].mode == 0o750
    assert members["empty"].isdir()


def test_gzip_header_has_no_name_and_zero_mtime(tmp_path: Path) -> None:
    build_archive(make_tree(tmp_path / "src"), tmp_path / "a.tar.gz")
    header = (tmp_path / "a.tar.gz").read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0, "no FNAME/FCOMMENT/FEXTRA flags"
    assert header[4:8] == b"\0\0\0\0"


def test_entries_follow_go_walk_order_with_directories_first(tmp_path: Path) -> None:
    build_archive(make_tree(tmp_path / "src"), tmp_path / "a.tar.gz")
    assert names(tmp_path / "a.tar.gz") == [
        "apps",
        "apps/podinfo",
        "apps/podinfo/deploy.yaml",
        "apps/podinfo/svc.yaml",
        "apps.txt",
        "empty",
        "kustomization.yaml",
        "scripts",
        "scripts/run.sh",
    ]


def test_content_and_exec_bit_changes_change_the_digest(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    base = build_archive(src, tmp_path / "0.tar.gz").digest
    (src / "apps.txt").write_text("listing!\n")
    edited = build_archive(src, tmp_path / "1.tar.gz").digest
    (src / "apps.txt").chmod(0o744)
    executable = build_archive(src, tmp_path / "2.tar.gz").digest
    assert len({base, edited, executable}) == 3


def test_symlinks_and_fifos_are_left_out(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    plain = build_archive(src, tmp_path / "plain.tar.gz").digest
    (src / "link.yaml").symlink_to("kustomization.yaml")
    (src / "outside").symlink_to("/etc")
    os.mkfifo(src / "pipe")
    with_specials = build_archive(src, tmp_path / "specials.tar.gz")
    assert with_specials.digest == plain
    assert not {"link.yaml", "outside", "pipe"} & set(names(tmp_path / "specials.tar.gz"))


@pytest.mark.parametrize(
    ("patterns", "expected_missing", "expected_present"),
    [
        ("apps/\n", {"apps", "apps/podinfo", "apps/podinfo/svc.yaml"}, {"apps.txt"}),
        ("*.yaml\n", {"kustomization.yaml", "apps/podinfo/svc.yaml"}, {"apps", "scripts/run.sh"}),
        # Flux's matcher lets a later `!` bring back a file below an excluded directory.
        ("apps/\n!svc.yaml\n", {"apps", "apps/podinfo/deploy.yaml"}, {"apps/podinfo/svc.yaml"}),
    ],
)
def test_ignore_filter_is_applied_during_the_walk(
    tmp_path: Path, patterns: str, expected_missing: set[str], expected_present: set[str]
) -> None:
    src = make_tree(tmp_path / "src")
    build_archive(src, tmp_path / "a.tar.gz", ignore=IgnoreMatcher(read_patterns(patterns)))
    got = set(names(tmp_path / "a.tar.gz"))
    assert not expected_missing & got
    assert expected_present <= got


def test_a_plain_callable_works_as_ignore_filter(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    seen: list[tuple[str, bool]] = []

    def only_yaml(rel: str, is_dir: bool) -> bool:
        seen.append((rel, is_dir))
        return not is_dir and not rel.endswith(".yaml")

    build_archive(src, tmp_path / "a.tar.gz", ignore=only_yaml)
    assert ("apps/podinfo", True) in seen
    assert "apps.txt" not in names(tmp_path / "a.tar.gz")
    assert "scripts/run.sh" not in names(tmp_path / "a.tar.gz")


def test_missing_source_dir_is_a_typed_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveBuildError, match="not a directory"):
        build_archive(tmp_path / "nope", out / "a.tar.gz")
    assert list(out.iterdir()) == []


def test_failure_mid_walk_leaves_no_partial_or_temp_file(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()

    def explode(rel: str, is_dir: bool) -> bool:
        if rel == "kustomization.yaml":
            raise OSError("disk on fire")
        return False

    with pytest.raises(ArchiveBuildError, match="disk on fire") as info:
        build_archive(src, out / "a.tar.gz", ignore=explode)
    assert info.value.reason == "ArchiveOperationFailed"
    assert list(out.iterdir()) == []


def test_failed_rebuild_keeps_the_previous_artifact_intact(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    dest = tmp_path / "a.tar.gz"
    good = build_archive(src, dest)

    def explode(rel: str, is_dir: bool) -> bool:
        raise OSError("boom")

    with pytest.raises(ArchiveBuildError):
        build_archive(src, dest, ignore=explode)
    assert compute_file(dest) == good.digest


async def test_async_wrapper_gives_the_same_archive(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    sync = build_archive(src, tmp_path / "s.tar.gz")
    result = await build_archive_async(src, tmp_path / "a.tar.gz")
    assert result.digest == sync.digest
    assert result.entries == 9


def test_archive_round_trips_through_tarfile(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    build_archive(src, tmp_path / "a.tar.gz")
    out = tmp_path / "out"
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        tar.extractall(out, filter="data")
    for path in src.rglob("*"):
        twin = out / path.relative_to(src)
        assert twin.exists(), twin
        if path.is_file():
            assert twin.read_bytes() == path.read_bytes()
    shutil.rmtree(out)


class FullDisk:
    """A sink that fails after a few writes, as a full disk would."""

    def __init__(self) -> None:
        self.calls = 0

    def write(self, data: bytes) -> int:
        self.calls += 1
        if self.calls > 2:
            raise OSError(28, "No space left on device")
        return len(data)


def test_a_write_error_in_the_compressor_thread_surfaces_without_hanging(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    for i in range(20):
        (src / f"blob{i}").write_bytes(os.urandom(1 << 20))
    with pytest.raises(OSError, match="No space left"):
        write_tar_gz(src, FullDisk(), ignore=None)  # type: ignore[arg-type]
