"""`make demo` end to end: `tools/demo.sh` run as a user runs it, in its own state directory
(so it never meets a demo someone else is running in .gotk/demo)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "tools" / "demo.sh"
DEMO_TIMEOUT = 240.0


def _processes_naming(directory: Path) -> list[str]:
    """Every process whose command line names `directory`: what the demo started there."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(directory) in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def _sections(output: str) -> dict[str, str]:
    """The demo's output by step, keyed by the first word of each `==> [ 12s] ...` header."""
    parts = re.split(r"^==> \[\s*\d+s\] ", output, flags=re.MULTILINE)
    return {part.split()[0]: part for part in parts[1:]}


@pytest.mark.timeout(DEMO_TIMEOUT + 120)
def test_demo_rolls_out_applies_a_commit_reverts_drift_and_leaves_no_process(
    tmp_path: Path,
) -> None:
    demo_dir = tmp_path / "demo"
    env = {**os.environ, "GOTK_DEMO_DIR": str(demo_dir)}
    env.pop("KEEP", None)
    try:
        done = subprocess.run(
            [str(DEMO)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=DEMO_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        subprocess.run([str(DEMO), "down"], cwd=REPO_ROOT, env=env, timeout=120, check=False)
        pytest.fail(f"the demo took over {DEMO_TIMEOUT:.0f}s; its output:\n{err.stdout!r}")
    left_behind = _processes_naming(demo_dir)
    if left_behind:
        subprocess.run([str(DEMO), "down"], cwd=REPO_ROOT, env=env, timeout=120, check=False)

    transcript = f"{done.stdout}\n--- stderr\n{done.stderr[-3000:]}"
    assert done.returncode == 0, transcript
    assert left_behind == [], transcript
    steps = _sections(done.stdout)

    applied = steps["applying"]
    ready = r"kustomization/podinfo\s+True\s+Applied revision: master@sha1:"
    assert re.search(ready, applied), transcript
    assert re.search(r"deployment/podinfo\s+2/2\s+rolled out", applied), transcript
    running = r"pod/podinfo-\S+\s+1/1\s+Running on kwok-node-0"
    assert len(re.findall(running, applied)) == 2, transcript

    released = steps["HelmRelease/hello:"]
    assert re.search(r"helmrelease/hello\s+True", released), transcript
    assert re.search(r"configmap/demo-hello\s+-\s+greeting=hello from a HelmRelease", released)
    # `helm list` itself reads the release gotk stored in Helm's own Secret.
    assert re.search(r"demo-hello\s+demo\s+1\s+.*deployed\s+hello-0\.1\.0", released), transcript

    change = steps["committing"]
    revision = re.search(r"pushed ([0-9a-f]{12})", change)
    assert revision is not None, transcript
    assert f"Applied revision: master@sha1:{revision.group(1)}" in change, transcript
    assert re.search(r"deployment/podinfo\s+3/3\s+rolled out", change), transcript
    assert len(re.findall(running, change)) == 3, transcript
    # The new greeting is a new ConfigMap; the old one was pruned.
    config_maps = re.findall(r"configmap/podinfo-config-\S+\s+-\s+(.*)", change)
    assert config_maps == ["PODINFO_UI_MESSAGE=hello again, from commit 2"], transcript

    drift = steps["drift:"]
    hand_edit, _, reverted = drift.partition("asking kustomize-controller to reconcile now")
    assert re.search(r"deployment/podinfo\s+1/1\s+rolled out", hand_edit), transcript
    assert re.search(r"deployment/podinfo\s+3/3\s+rolled out", reverted), transcript
    assert "OK: the drift is reverted" in reverted, transcript

    assert "no process left behind" in steps["cleaning"], transcript
