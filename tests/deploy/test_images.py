"""The four images as a user runs them: each starts its service as an unprivileged user under
tini, carries exactly the tools its service runs, answers its health check, and stops at
once on `podman stop` (SIGTERM reaches the service, which releases its lease and exits)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fixtures.images import Containers, container_kubeconfig, podman, wait_until
from gotk_envtest import ControlPlane, free_port

TOOLS = ("git", "ssh", "gpg", "gpgconf", "helm", "kustomize", "sops")
EXPECTED_TOOLS = {
    "source-controller": {"git", "ssh", "gpg", "gpgconf", "helm"},
    "kustomize-controller": {"gpg", "gpgconf", "kustomize", "sops"},
    "helm-controller": {"helm", "kustomize"},
    "web-ui": set(),
}
MODULES = {
    "source-controller": "source_controller",
    "kustomize-controller": "kustomize_controller",
    "helm-controller": "helm_controller",
    "web-ui": "gotk_ui",
}
STOP_SECONDS = 5.0


def _config(image: str) -> dict[str, object]:
    out = podman("image", "inspect", "--format", "{{json .Config}}", image).stdout
    config: dict[str, object] = json.loads(out)
    return config


@pytest.mark.parametrize("service", sorted(EXPECTED_TOOLS))
def test_image_runs_its_service_as_an_unprivileged_user_under_tini(
    gotk_images: dict[str, str], service: str
) -> None:
    config = _config(gotk_images[service])
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["/usr/bin/tini", "--", "python", "-m", MODULES[service]]
    done = podman("run", "--rm", gotk_images[service], "--help", timeout=60)
    assert f"python -m {MODULES[service]}" in done.stdout


@pytest.mark.parametrize("service", sorted(EXPECTED_TOOLS))
def test_image_carries_only_the_tools_its_service_runs(
    gotk_images: dict[str, str], service: str
) -> None:
    script = "for t in " + " ".join(TOOLS) + '; do command -v "$t" >/dev/null && echo "$t"; done'
    done = podman(
        "run", "--rm", "--entrypoint", "sh", gotk_images[service], "-c", script + "; true"
    )
    assert set(done.stdout.split()) == EXPECTED_TOOLS[service]


def _service_args(service: str, health: int, storage: int) -> list[str]:
    if service == "web-ui":
        return [f"--addr=127.0.0.1:{health}", "--runtime-namespace=default"]
    args = [
        f"--metrics-addr=127.0.0.1:{free_port()}",
        f"--health-addr=127.0.0.1:{health}",
        "--enable-leader-election",
        "--runtime-namespace=default",
        # Nothing in the session's cluster is this test's to reconcile.
        "--watch-label-selector=gotk.test/image-stop=yes",
    ]
    if service == "source-controller":
        addr = f"127.0.0.1:{storage}"
        args += ["--storage-path=/data", f"--storage-addr={addr}", f"--storage-adv-addr={addr}"]
    return args


@pytest.mark.parametrize("service", sorted(EXPECTED_TOOLS))
def test_container_is_healthy_and_stops_at_once_on_sigterm(
    gotk_images: dict[str, str],
    cluster: ControlPlane,
    containers: Containers,
    tmp_path: Path,
    service: str,
) -> None:
    kubeconfig = container_kubeconfig(cluster, tmp_path / "kube")
    name = containers.run(
        gotk_images[service],
        *_service_args(service, free_port(), free_port()),
        options=(
            "--volume",
            f"{kubeconfig}:/kubeconfig:ro",
            "--env",
            "KUBECONFIG=/kubeconfig",
            "--env",
            f"POD_NAME={service}-image-test",
            "--read-only",
            "--tmpfs",
            "/tmp",
            *(("--tmpfs", "/data:mode=1777") if service == "source-controller" else ()),
        ),
    )

    # The image's own HEALTHCHECK, run on demand (no systemd here to schedule it); then the
    # same script on /readyz: started, caches synced, leader.
    wait_until(lambda: podman("healthcheck", "run", name, check=False).returncode == 0)
    ready = ("exec", name, "python3", "/usr/local/lib/gotk/healthcheck.py", "/readyz")
    wait_until(lambda: podman(*ready, check=False).returncode == 0)
    started = time.monotonic()
    podman("stop", "--time", "30", name)
    took = time.monotonic() - started
    state = json.loads(podman("inspect", "--format", "{{json .State}}", name).stdout)
    logs = podman("logs", name).stderr + podman("logs", name).stdout
    assert took < STOP_SECONDS, f"podman stop took {took:.1f}s; logs:\n{logs[-2000:]}"
    if service == "web-ui":
        # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught (exit 128+15).
        assert state["ExitCode"] in (0, 143), logs[-2000:]
    else:
        assert state["ExitCode"] == 0, logs[-2000:]
        assert "released lease" in logs
