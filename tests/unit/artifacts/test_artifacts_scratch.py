"""scratch_dir: a private directory that is gone however the block exits."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest
from gotk_artifacts import scratch_dir


async def test_scratch_dir_is_private_and_removed_with_its_contents(tmp_path: Path) -> None:
    async with scratch_dir("work-", parent=tmp_path) as path:
        assert path.parent == tmp_path
        assert path.name.startswith("work-")
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        (path / "nested").mkdir()
        (path / "nested" / "file").write_text("x")
    assert not path.exists()


async def test_scratch_dir_is_removed_when_the_block_raises(tmp_path: Path) -> None:
    async def fail() -> None:
        async with scratch_dir("work-", parent=tmp_path) as path:
            (path / "file").write_text("x")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail()
    assert os.listdir(tmp_path) == []


async def test_scratch_dir_is_removed_when_the_task_is_cancelled(tmp_path: Path) -> None:
    entered = asyncio.Event()

    async def work() -> None:
        async with scratch_dir("work-", parent=tmp_path) as path:
            (path / "file").write_text("x")
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(work())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert os.listdir(tmp_path) == []
