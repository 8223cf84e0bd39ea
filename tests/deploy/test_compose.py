"""docker-compose.yml end to end, as `make compose-demo` runs it: the four containers come
up healthy under podman-compose against gotk's local control plane, reconcile a
GitRepository, a Kustomization and a HelmRelease, and `down` leaves no container behind."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from fixtures.envtest import REPO_ROOT
from fixtures.images import podman

DEMO = REPO_ROOT / "tools" / "images" / "compose_demo.py"
DEMO_TIMEOUT = 600.0


def test_compose_file_declares_every_service_with_health_restart_and_scale() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "web-ui",
    }
    for name, service in services.items():
        assert service["network_mode"] == "host", name
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][-1] == "/usr/local/lib/gotk/healthcheck.py"
        assert "scale" in service, name
        assert any(v.endswith(":/kubeconfig:ro") for v in service["volumes"]), name
    assert any(v.startswith("artifacts:") for v in services["source-controller"]["volumes"])
    assert "GOTK_UI_AUTH_TOKEN" in services["web-ui"]["environment"]


@pytest.mark.timeout(DEMO_TIMEOUT + 120)
def test_compose_demo_reconciles_through_the_containers_and_leaves_none(
    gotk_images: dict[str, str], tmp_path: Path
) -> None:
    project = f"gotk-test-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, str(DEMO), "--dir", str(tmp_path / "demo"), "--project", project],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    label = f"label=io.podman.compose.project={project}"
    left = podman("ps", "--all", "--filter", label, "--format", "{{.Names}}").stdout.split()
    for name in left:
        podman("rm", "--force", "--time", "0", name, check=False)
    assert done.returncode == 0, output[-6000:]
    assert not left
    for service in ("source-controller", "kustomize-controller", "helm-controller", "web-ui"):
        assert re.search(rf"{project}_{service}_1 .*\(healthy\)", output), service
    assert "gitrepository/gotk-demo: Ready at master@sha1:" in output
    assert "kustomization/podinfo: Ready at master@sha1:" in output
    assert "helmrelease/hello: Ready" in output
    assert "field managers kube-controller-manager, kustomize-controller" in output
    assert "helm release secrets: sh.helm.release.v1.hello.v1" in output
    assert "containers left: none" in output
