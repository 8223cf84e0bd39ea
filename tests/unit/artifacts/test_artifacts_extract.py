"""Safe extraction: hostile archives are refused with a typed error and leave nothing behind."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gotk_artifacts.errors import (
    ArtifactError,
    ArtifactTooLarge,
    CorruptArchive,
    TooManyEntries,
    UnsafeArchiveEntry,
)
from gotk_artifacts.extract import (
    ExtractLimits,
    SymlinkPolicy,
    extract_archive,
    extract_archive_async,
)


@dataclass
class Entry:
    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    mode: int = 0o644
    pax: dict[str, str] = field(default_factory=dict)
    size: int | None = None


def tar_bytes(entries: list[Entry], *, compress: bool = True) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.type = e.type
            info.linkname = e.linkname
            info.mode = e.mode
            info.size = len(e.data) if e.type == tarfile.REGTYPE else 0
            info.pax_headers = e.pax
            tar.addfile(info, io.BytesIO(e.data) if e.type == tarfile.REGTYPE else None)
    return gzip.compress(raw.getvalue(), mtime=0) if compress else raw.getvalue()


def zeros_tar_gz(size: int) -> bytes:
    """A tar.gz of one file of `size` zero bytes, built without holding it in memory twice."""
    out = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w|") as tar,
    ):
        info = tarfile.TarInfo("bomb.bin")
        info.size = size

        class Zeros(io.RawIOBase):
            left = size

            def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
                n = min(len(buf), self.left)
                buf[:n] = bytes(n)
                self.left -= n
                return n

            def readable(self) -> bool:
                return True

        tar.addfile(info, io.BufferedReader(Zeros()))
    return out.getvalue()


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(archive file, target dir, the target's parent) — the parent must stay empty on failure."""
    work = tmp_path / "work"
    work.mkdir()
    return tmp_path / "in.tar.gz", work / "out", work


HOSTILE: list[tuple[str, bytes, SymlinkPolicy, ExtractLimits, type[ArtifactError]]] = [
    ("dotdot", tar_bytes([Entry("../x", b"pwn")]), "reject", ExtractLimits(), UnsafeArchiveEntry),
    (
        "nested-dotdot",
        tar_bytes([Entry("a/../../x", b"pwn")]),
        "reject",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "absolute",
        tar_bytes([Entry("/etc/x", b"pwn")]),
        "reject",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "backslash",
        tar_bytes([Entry("a\\..\\x", b"pwn")]),
        "reject",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "symlink-to-root",
        tar_bytes([Entry("root", type=tarfile.SYMTYPE, linkname="/")]),
        "reject",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "symlink-to-root-confined",
        tar_bytes([Entry("root", type=tarfile.SYMTYPE, linkname="/")]),
        "confine",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "symlink-dotdot-confined",
        tar_bytes([Entry("up", type=tarfile.SYMTYPE, linkname="../..")]),
        "confine",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        # A later link below an escaping one must not create its directories outside.
        "symlink-below-escaping-symlink-confined",
        tar_bytes(
            [
                Entry("up", type=tarfile.SYMTYPE, linkname="../.."),
                Entry("up/made/link", type=tarfile.SYMTYPE, linkname="x"),
            ]
        ),
        "confine",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        # Each link looks inside on its own; together they climb out (b -> d1, so b/../.. is ..).
        "symlink-chain-confined",
        tar_bytes(
            [
                Entry("d1", type=tarfile.DIRTYPE, mode=0o755),
                Entry("d1/b", type=tarfile.SYMTYPE, linkname="."),
                Entry("d1/c", type=tarfile.SYMTYPE, linkname="b/../.."),
            ]
        ),
        "confine",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "write-through-symlink-confined",
        tar_bytes(
            [
                Entry("sub", type=tarfile.DIRTYPE, mode=0o755),
                Entry("link", type=tarfile.SYMTYPE, linkname="sub"),
                Entry("link/x", b"through"),
            ]
        ),
        "confine",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "hardlink-escape",
        tar_bytes([Entry("h", type=tarfile.LNKTYPE, linkname="../../etc/passwd")]),
        "reject",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "hardlink-absolute",
        tar_bytes([Entry("h", type=tarfile.LNKTYPE, linkname="/etc/passwd")]),
        "reject",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "hardlink-to-unknown",
        tar_bytes([Entry("h", type=tarfile.LNKTYPE, linkname="not-there")]),
        "reject",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "char-device",
        tar_bytes([Entry("tty", type=tarfile.CHRTYPE)]),
        "reject",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "block-device",
        tar_bytes([Entry("sda", type=tarfile.BLKTYPE)]),
        "reject",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "fifo",
        tar_bytes([Entry("pipe", type=tarfile.FIFOTYPE)]),
        "skip",
        ExtractLimits(),
        UnsafeArchiveEntry,
    ),
    (
        "gzip-bomb",
        zeros_tar_gz(8 << 20),
        "reject",
        ExtractLimits(max_total_bytes=1 << 20),
        ArtifactTooLarge,
    ),
    (
        "file-above-per-file-limit",
        tar_bytes([Entry("small", b"x" * 100), Entry("big", b"x" * 5000)]),
        "reject",
        ExtractLimits(max_file_bytes=4096),
        ArtifactTooLarge,
    ),
    (
        "total-above-limit-across-files",
        tar_bytes([Entry(f"f{i}", b"x" * 400) for i in range(5)]),
        "reject",
        ExtractLimits(max_total_bytes=1000),
        ArtifactTooLarge,
    ),
    (
        "too-many-files",
        tar_bytes([Entry(f"f{i}", b"x") for i in range(11)]),
        "reject",
        ExtractLimits(max_entries=10),
        TooManyEntries,
    ),
    (
        "pax-header-bomb",
        tar_bytes([Entry("a", b"x", pax={"comment": "A" * (3 << 20)})]),
        "reject",
        ExtractLimits(max_total_bytes=None, max_entries=10),
        UnsafeArchiveEntry,
    ),
    (
        "not-an-archive",
        b"this is not a tarball at all" * 40,
        "reject",
        ExtractLimits(),
        CorruptArchive,
    ),
    (
        "truncated-gzip",
        tar_bytes([Entry("a", os.urandom(20000))])[:5000],
        "reject",
        ExtractLimits(),
        CorruptArchive,
    ),
]


@pytest.mark.parametrize(
    ("data", "symlinks", "limits", "error"),
    [pytest.param(d, s, lim, e, id=name) for name, d, s, lim, e in HOSTILE],
)
def test_hostile_archive_is_rejected_and_leaves_nothing(
    layout: tuple[Path, Path, Path],
    data: bytes,
    symlinks: SymlinkPolicy,
    limits: ExtractLimits,
    error: type[ArtifactError],
) -> None:
    archive, target, parent = layout
    archive.write_bytes(data)
    before = set(archive.parent.rglob("*"))
    with pytest.raises(error):
        extract_archive(archive, target, limits=limits, symlinks=symlinks)
    assert list(parent.iterdir()) == [], "no staging dir, no target, nothing beside it"
    assert set(archive.parent.rglob("*")) == before


def test_errors_are_artifact_errors_with_the_artifact_failed_reason(
    layout: tuple[Path, Path, Path],
) -> None:
    archive, target, _ = layout
    archive.write_bytes(tar_bytes([Entry("../x", b"pwn")]))
    with pytest.raises(UnsafeArchiveEntry) as info:
        extract_archive(archive, target)
    assert info.value.reason == "ArtifactFailed"
    assert info.value.entry == "../x"
    assert "'../x'" in str(info.value)


def test_escaping_hardlink_error_names_the_link_entry(layout: tuple[Path, Path, Path]) -> None:
    archive, target, _ = layout
    archive.write_bytes(tar_bytes([Entry("h", type=tarfile.LNKTYPE, linkname="../../etc/passwd")]))
    with pytest.raises(UnsafeArchiveEntry) as info:
        extract_archive(archive, target)
    assert info.value.entry == "h"
    assert "'../../etc/passwd'" in info.value.cause


def test_good_archive_extracts_with_safe_modes(layout: tuple[Path, Path, Path]) -> None:
    archive, target, _ = layout
    archive.write_bytes(
        tar_bytes(
            [
                Entry(".", type=tarfile.DIRTYPE, mode=0o755),
                Entry("./apps", type=tarfile.DIRTYPE, mode=0o500),
                Entry("./apps/a.yaml", b"kind: A\n", mode=0o4755),
                Entry("deep/er/b.yaml", b"kind: B\n", mode=0o400),
            ]
        )
    )
    result = extract_archive(archive, target)
    assert (target / "apps" / "a.yaml").read_bytes() == b"kind: A\n"
    assert (target / "deep" / "er" / "b.yaml").read_bytes() == b"kind: B\n"
    assert (target / "apps" / "a.yaml").stat().st_mode & 0o7777 == 0o755, "setuid dropped"
    assert (target / "deep" / "er" / "b.yaml").stat().st_mode & 0o777 == 0o600
    assert (target / "apps").stat().st_mode & 0o777 == 0o700, "owner can always write"
    assert result.entries == 4
    assert result.bytes_written == 16


@pytest.mark.parametrize("compressed", [None, False])
def test_plain_tar_is_accepted(layout: tuple[Path, Path, Path], compressed: bool | None) -> None:
    archive, target, _ = layout
    archive.write_bytes(tar_bytes([Entry("a.yaml", b"a")], compress=False))
    extract_archive(archive, target, compressed=compressed)
    assert (target / "a.yaml").read_bytes() == b"a"


def test_gzip_required_when_asked_for(layout: tuple[Path, Path, Path]) -> None:
    archive, target, parent = layout
    archive.write_bytes(tar_bytes([Entry("a.yaml", b"a")], compress=False))
    with pytest.raises(CorruptArchive):
        extract_archive(archive, target, compressed=True)
    assert list(parent.iterdir()) == []


def test_symlinks_are_dropped_with_skip_and_kept_inside_with_confine(tmp_path: Path) -> None:
    data = tar_bytes(
        [
            Entry("real.yaml", b"r"),
            Entry("alias.yaml", type=tarfile.SYMTYPE, linkname="real.yaml"),
            Entry("escape", type=tarfile.SYMTYPE, linkname="/etc"),
        ]
    )
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(data)
    skipped = extract_archive(archive, tmp_path / "skip", symlinks="skip").path
    assert sorted(p.name for p in skipped.iterdir()) == ["real.yaml"]

    inside = tar_bytes(
        [Entry("real.yaml", b"r"), Entry("alias.yaml", type=tarfile.SYMTYPE, linkname="real.yaml")]
    )
    archive.write_bytes(inside)
    kept = extract_archive(archive, tmp_path / "confine", symlinks="confine").path
    assert (kept / "alias.yaml").is_symlink()
    assert (kept / "alias.yaml").read_bytes() == b"r"


def test_hardlink_inside_the_archive_becomes_a_copy(layout: tuple[Path, Path, Path]) -> None:
    archive, target, _ = layout
    archive.write_bytes(
        tar_bytes(
            [Entry("a.yaml", b"content"), Entry("b.yaml", type=tarfile.LNKTYPE, linkname="a.yaml")]
        )
    )
    extract_archive(archive, target)
    assert (target / "b.yaml").read_bytes() == b"content"
    assert (target / "b.yaml").stat().st_ino != (target / "a.yaml").stat().st_ino


def test_hardlink_copies_count_towards_the_size_limit(layout: tuple[Path, Path, Path]) -> None:
    archive, target, parent = layout
    links = [Entry(f"l{i}", type=tarfile.LNKTYPE, linkname="a") for i in range(10)]
    archive.write_bytes(tar_bytes([Entry("a", b"x" * 500), *links]))
    with pytest.raises(ArtifactTooLarge):
        extract_archive(archive, target, limits=ExtractLimits(max_total_bytes=2000))
    assert list(parent.iterdir()) == []


def test_existing_empty_target_is_reused_but_non_empty_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_bytes([Entry("a.yaml", b"a")]))
    (tmp_path / "empty").mkdir()
    extract_archive(archive, tmp_path / "empty")
    assert (tmp_path / "empty" / "a.yaml").exists()
    with pytest.raises(ArtifactError, match="not an empty directory"):
        extract_archive(archive, tmp_path / "empty")


def test_a_file_object_source_works(tmp_path: Path) -> None:
    data = tar_bytes([Entry("a.yaml", b"a")])
    extract_archive(io.BytesIO(data), tmp_path / "out")
    assert (tmp_path / "out" / "a.yaml").read_bytes() == b"a"


async def test_async_extraction(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_bytes([Entry("a.yaml", b"a")]))
    result = await extract_archive_async(archive, tmp_path / "out")
    assert (result.path / "a.yaml").read_bytes() == b"a"


def test_bomb_within_a_raised_limit_is_fine(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(zeros_tar_gz(2 << 20))
    result = extract_archive(
        archive, tmp_path / "out", limits=ExtractLimits(max_total_bytes=4 << 20)
    )
    assert result.bytes_written == 2 << 20
