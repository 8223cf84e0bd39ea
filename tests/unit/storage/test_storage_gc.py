"""Artifact garbage collection: keep the newest N, drop older ones past the TTL, never current."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from source_controller.storage import ArtifactStorage
from source_controller.storage.gc import StoredFile, collect_garbage, select_garbage

NOW = 1_000_000.0


def files(*ages: tuple[str, float]) -> list[StoredFile]:
    return [StoredFile(name, NOW - age) for name, age in ages]


@pytest.mark.parametrize(
    ("stored", "current", "keep", "ttl", "garbage"),
    [
        # nothing beyond the newest two
        (files(("a", 300), ("b", 200)), "b", 2, 60, []),
        # c is current and counts as one of the 2 records: b is kept, a is old -> gone
        (files(("a", 300), ("b", 200), ("c", 1)), "c", 2, 60, ["a"]),
        # keep 1: only the current artifact; a and b are old -> gone
        (files(("a", 300), ("b", 200), ("c", 1)), "c", 1, 60, ["a", "b"]),
        # beyond N but still younger than the TTL: kept for readers in flight
        (files(("a", 30), ("b", 20), ("c", 10), ("d", 1)), "d", 1, 60, []),
        (files(("a", 90), ("b", 70), ("c", 10), ("d", 1)), "d", 1, 60, ["a", "b"]),
        # the current artifact survives even as the oldest file
        (files(("cur", 9999), ("n1", 500), ("n2", 400), ("n3", 300)), "cur", 2, 60, ["n1", "n2"]),
        # keep 0: everything but current once past the TTL
        (files(("a", 100), ("b", 100), ("c", 5)), None, 0, 60, ["a", "b"]),
        # crash leftovers go once past the TTL, whatever N says
        (files((".tmp-x", 100), (".tmp-y", 10), ("a", 1)), "a", 5, 60, [".tmp-x"]),
    ],
)
def test_select_garbage_table(
    stored: list[StoredFile], current: str | None, keep: int, ttl: float, garbage: list[str]
) -> None:
    assert select_garbage(stored, current=current, keep=keep, ttl=ttl, now=NOW) == garbage


def touch(path: Path, age: float, data: bytes = b"x") -> None:
    path.write_bytes(data)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))


def test_collect_garbage_deletes_files_and_their_locks_but_not_links(tmp_path: Path) -> None:
    touch(tmp_path / "old.tar.gz", 500)
    touch(tmp_path / "old.tar.gz.lock", 500)
    touch(tmp_path / "mid.tar.gz", 400)
    touch(tmp_path / "new.tar.gz", 300)
    touch(tmp_path / "cur.tar.gz", 1)
    (tmp_path / "latest.tar.gz").symlink_to("cur.tar.gz")
    deleted = collect_garbage(
        tmp_path, current="cur.tar.gz", keep=2, ttl=60, deadline=time.monotonic() + 5
    )
    assert deleted == ["old.tar.gz", "mid.tar.gz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cur.tar.gz",
        "latest.tar.gz",
        "new.tar.gz",
    ]


def test_collect_garbage_on_a_missing_dir_is_a_no_op(tmp_path: Path) -> None:
    assert collect_garbage(tmp_path / "x", current=None, keep=2, ttl=60, deadline=1e18) == []


def test_collect_garbage_stops_at_the_deadline(tmp_path: Path) -> None:
    for i in range(5):
        touch(tmp_path / f"{i}.tar.gz", 500 + i)
    assert collect_garbage(tmp_path, current=None, keep=0, ttl=1, deadline=0) == []
    assert len(list(tmp_path.iterdir())) == 5


async def test_storage_gc_honours_records_and_ttl(tmp_path: Path) -> None:
    storage = ArtifactStorage(tmp_path, "host", retention_ttl=60, retention_records=2)
    src = tmp_path / "src"
    src.mkdir()
    paths = []
    for i in range(5):
        (src / "f").write_text(str(i))
        stored = await storage.archive(src, "GitRepository", "ns", "app", filename=f"r{i}.tar.gz")
        local = storage.local_path(stored.path)
        stamp = time.time() - (1000 - i * 100) if i < 4 else time.time()
        os.utime(local, (stamp, stamp))
        paths.append(stored.path)
    deleted = await storage.garbage_collect("GitRepository", "ns", "app", current=paths[-1])
    assert deleted == [paths[0], paths[1], paths[2]]
    assert [await storage.exists(p) for p in paths] == [False, False, False, True, True]
