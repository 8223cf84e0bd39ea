"""gotk_runtime.process.run bounds every child: address space, CPU time and kept output.

The YAML alias bomb is real input to the real `kustomize` binary: without the limit it grows
to tens of GiB; with it, it dies in about a second below the cap.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import pytest
from gotk_runtime.process import (
    ProcessFailed,
    ProcessLimits,
    ProcessOutputTooLarge,
    run,
)
from gotk_runtime.tools import find_tool


def _limits_of_child(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines()[1:]:
        name = line[:26].strip()
        rows[name] = line[26:47].strip()
    return rows


async def test_children_run_with_address_space_and_cpu_limits() -> None:
    # `cat` starts after the limits are set on its parent shell, and inherits them.
    result = await run(["sh", "-c", "sleep 0.2; cat /proc/self/limits"], timeout=10)
    limits = _limits_of_child(result.stdout.decode())
    assert limits["Max address space"] == str(2 << 30)
    assert int(limits["Max cpu time"]) <= 10 * 64 + 1


async def test_a_child_that_wants_more_memory_than_its_cap_fails() -> None:
    code = "import time; time.sleep(0.3); b = bytearray(3 << 30); print(len(b))"
    with pytest.raises(ProcessFailed) as failed:
        await run([sys.executable, "-c", code], timeout=30)
    assert "MemoryError" in failed.value.stderr_tail


async def test_yaml_alias_bomb_kills_kustomize_not_the_machine(tmp_path: Path) -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "data:"]
    lines.append('  a0: &a0 "lollollollollollollollollollol"')
    for i in range(1, 12):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    (tmp_path / "cm.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with pytest.raises(ProcessFailed) as failed:
        await run([str(find_tool("kustomize")), "build", str(tmp_path)], timeout=60)
    assert "after reaching its memory limit (2 GiB)" in str(failed.value)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib < 2 * 1024 * 1024 or peak_kib == before


async def test_too_much_output_stops_the_child_with_a_typed_error() -> None:
    limits = ProcessLimits(max_output=1 << 20)
    with pytest.raises(ProcessOutputTooLarge, match="more than 1048576 bytes"):
        await run(["sh", "-c", "yes"], timeout=30, limits=limits)


async def test_only_the_tail_of_a_flood_of_stderr_is_kept() -> None:
    limits = ProcessLimits(stderr_kept=4096)
    script = "yes 'noise' | head -c 5000000 >&2; echo last-line >&2"
    result = await run(["sh", "-c", script], timeout=30, limits=limits)
    assert len(result.stderr) == 4096
    assert result.stderr.endswith(b"last-line\n")
