"""`make real-pods`: a gotk image running as a real Pod, from charts/gotk's own pod template,
on a real kubelet with containerd, reconciling a GitRepository; then everything stopped.

Kwok's Pods run nothing; this node runs them. What it takes on this machine:
- kubelet from the pinned Kubernetes version (tools/images/kubelet.sh), containerd and the
  CNI `loopback` plugin from Debian (installed here when missing);
- containerd's CRI with `restrict_oom_score_adj` (this sandbox may not lower an OOM score,
  which runc then fails as "can't get final child's PID from pipe"), cgroupfs, and a
  loopback-only CNI network, so the node is Ready without a pod network;
- kubelet with `failCgroupV1: false` (the host's cgroups are a v1/v2 hybrid) and
  `cgroupsPerQOS: false`;
- the Pod is the chart's source-controller pod template, bound to the node
  (`nodeName`: the minimal control plane has no scheduler) with `hostNetwork` (no pod
  network may exist here: a CNI bridge would put the pods on a private range this workplace
  forbids as a target). Kubelet never lets a node address be loopback, so the httpGet probes
  would go to the machine's interface address: they become exec probes running the image's
  own health check (loopback only). The API server is reached at 127.0.0.1 (no Service
  proxy), the images are imported from podman (no registry), and the ServiceAccount token
  is mounted as the ServiceAccount admission plugin would (it is off in that profile).
Everything else (args, env, security context, ServiceAccount and its RBAC) is the chart's.

usage: python tools/images/real_pods.py [--dir DIR]      (default .gotk/real-pods)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "tools" / "images"
sys.path.insert(0, str(ROOT / "tools"))
import demo_kube  # noqa: E402  (tools/ is not a package)

PODMAN = HERE / "podman.sh"
NODE = "gotk-node-0"
NAMESPACE = "gotk-system"
PAUSE_IMAGE = "registry.k8s.io/pause:3.6"
SOURCE_IMAGE = "localhost/gotk/source-controller:dev"
LEASE_WAIT = 90.0
demo_kube.KINDS["pod"] = demo_kube.Kind("/api/v1", "pods")

CONTAINERD_CONFIG = """version = 2
root = "{dir}/containerd/root"
state = "{dir}/containerd/state"
[grpc]
  address = "{dir}/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{dir}/cni"
"""
KUBELET_CONFIG = {
    "apiVersion": "kubelet.config.k8s.io/v1beta1",
    "kind": "KubeletConfiguration",
    "cgroupDriver": "cgroupfs",
    "failCgroupV1": False,
    "cgroupsPerQOS": False,
    "enforceNodeAllocatable": [],
    "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False}},
    "authorization": {"mode": "AlwaysAllow"},
    "failSwapOn": False,
    "address": "127.0.0.1",
    "healthzBindAddress": "127.0.0.1",
    "readOnlyPort": 0,
    "evictionHard": {
        "memory.available": "100Mi",
        "nodefs.available": "1%",
        "imagefs.available": "1%",
        "nodefs.inodesFree": "1%",
    },
    "localStorageCapacityIsolation": False,
    "resolvConf": "/etc/resolv.conf",
}


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def say(text: str) -> None:
    print(f"    {text}", flush=True)


def wait_for(what: str, probe: Callable[[], tuple[bool, str]], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = "nothing yet"
    while time.monotonic() < deadline:
        done, seen = probe()
        if done:
            return seen
        time.sleep(1)
    raise demo_kube.DemoError(f"timed out after {timeout:.0f}s waiting for {what}; last: {seen}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Node:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.sock = directory / "containerd" / "containerd.sock"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.kubeconfig = directory / "envtest" / "cluster" / "kubeconfig"

    def start(self, name: str, argv: list[str]) -> None:
        with (self.dir / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def ctr(self, *args: str, stdin: bytes | None = None) -> str:
        done = subprocess.run(
            ["ctr", "-a", str(self.sock), "-n", "k8s.io", *args],
            input=stdin,
            capture_output=True,
            timeout=300,
            check=True,
        )
        return done.stdout.decode()

    def stop(self) -> None:
        for name in ("kubelet", "git-server", "containerd"):
            process = self.processes.get(name)
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=30)
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if name == "kubelet":
                self._remove_containers()
        subprocess.run(
            [sys.executable, "-m", "gotk_envtest", "down", "--dir", str(self.dir / "envtest")],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )
        # kubelet bind-mounts its root dir and the pods' volumes.
        mounts = Path("/proc/mounts").read_text().split("\n")
        for point in sorted({m.split()[1] for m in mounts if str(self.dir) in m}, reverse=True):
            subprocess.run(["umount", "--lazy", point], check=False)

    def _remove_containers(self) -> None:
        if not self.sock.exists():
            return
        with contextlib.suppress(subprocess.SubprocessError):
            for task in self.ctr("tasks", "ls", "-q").split():
                subprocess.run(
                    [
                        "ctr",
                        "-a",
                        str(self.sock),
                        "-n",
                        "k8s.io",
                        "tasks",
                        "kill",
                        "-s",
                        "KILL",
                        task,
                    ],
                    capture_output=True,
                    timeout=30,
                    check=False,
                )
            time.sleep(1)
            for container in self.ctr("containers", "ls", "-q").split():
                subprocess.run(
                    ["ctr", "-a", str(self.sock), "-n", "k8s.io", "containers", "rm", container],
                    capture_output=True,
                    timeout=30,
                    check=False,
                )


def pod_from_chart(
    deployment: dict[str, Any], server: str, ports: dict[str, str]
) -> dict[str, Any]:
    """The Deployment's pod template as a Pod on the node; see the module docstring."""
    template = copy.deepcopy(deployment["spec"]["template"])
    spec = template["spec"]
    spec.update(nodeName=NODE, hostNetwork=True)
    container = spec["containers"][0]
    container["image"] = SOURCE_IMAGE
    container["imagePullPolicy"] = "Never"
    args = []
    for arg in container["args"]:
        flag = arg.split("=", 1)[0]
        args.append(f"{flag}={ports[flag]}" if flag in ports else arg)
    container["args"] = args
    flag_of = {"http-prom": "--metrics-addr", "healthz": "--health-addr", "http": "--storage-addr"}
    for port in container["ports"]:
        port["containerPort"] = int(ports[flag_of[port["name"]]].rsplit(":", 1)[1])
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        container[probe].pop("httpGet")
        container[probe]["exec"] = {
            "command": ["python3", "/usr/local/lib/gotk/healthcheck.py", path]
        }
    host, _, port = server.removeprefix("https://").rpartition(":")
    container["env"] += [
        {"name": "KUBERNETES_SERVICE_HOST", "value": host},
        {"name": "KUBERNETES_SERVICE_PORT", "value": port},
    ]
    spec["volumes"].append(
        {
            "name": "kube-api-access",
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                    {
                        "downwardAPI": {
                            "items": [
                                {
                                    "path": "namespace",
                                    "fieldRef": {"fieldPath": "metadata.namespace"},
                                }
                            ]
                        }
                    },
                ]
            },
        }
    )
    container["volumeMounts"].append(
        {
            "name": "kube-api-access",
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "readOnly": True,
        }
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "source-controller-0",
            "namespace": NAMESPACE,
            "labels": template["metadata"]["labels"],
        },
        "spec": spec,
    }


def run(node: Node) -> None:
    step("prerequisites: images, kubelet, containerd")
    if shutil.which("containerd") is None or not Path("/usr/lib/cni/loopback").exists():
        subprocess.run(
            [
                "apt-get",
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "containerd",
                "containernetworking-plugins",
            ],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    subprocess.run([str(HERE / "build.sh"), "source-controller"], check=True, timeout=1800)
    kubelet = subprocess.run(
        [str(HERE / "kubelet.sh")], check=True, capture_output=True, text=True, timeout=1800
    ).stdout.strip()
    (node.dir / "containerd").mkdir(parents=True)
    (node.dir / "cni").mkdir()
    (node.dir / "cni" / "10-loopback.conflist").write_text(
        '{"cniVersion": "1.0.0", "name": "loopback-only", "plugins": [{"type": "loopback"}]}\n'
    )
    config = node.dir / "containerd.toml"
    config.write_text(CONTAINERD_CONFIG.format(dir=node.dir, pause=PAUSE_IMAGE))
    node.start("containerd", ["containerd", "--config", str(config)])
    wait_for("containerd", lambda: (node.sock.exists(), ""), 30)
    pause = node.dir / "Pausefile"
    pause.write_text(
        'FROM docker.io/library/debian:bookworm-slim\nENTRYPOINT ["/bin/sleep", "infinity"]\n'
    )
    subprocess.run(
        [
            str(PODMAN),
            "build",
            "-q",
            "--network",
            "host",
            "-f",
            str(pause),
            "-t",
            PAUSE_IMAGE,
            str(node.dir),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    for image in (PAUSE_IMAGE, SOURCE_IMAGE):
        archive = subprocess.run(
            [str(PODMAN), "save", "--format", "docker-archive", image],
            check=True,
            capture_output=True,
            timeout=300,
        ).stdout
        node.ctr("images", "import", "-", stdin=archive)
        say(f"imported {image} into containerd")

    step("control plane (minimal) and kubelet")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gotk_envtest",
            "up",
            "--profile",
            "minimal",
            "--dir",
            str(node.dir / "envtest"),
            "--crds",
            str(ROOT / "config" / "crds"),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=240,
    )
    cluster = demo_kube.Cluster(node.kubeconfig)
    kubelet_config = dict(KUBELET_CONFIG, port=free_port(), healthzPort=free_port())
    kubelet_config["containerRuntimeEndpoint"] = f"unix://{node.sock}"
    (node.dir / "kubelet.yaml").write_text(yaml.safe_dump(kubelet_config))
    node.start(
        "kubelet",
        [
            kubelet,
            f"--config={node.dir / 'kubelet.yaml'}",
            f"--kubeconfig={node.kubeconfig}",
            f"--hostname-override={NODE}",
            f"--root-dir={node.dir / 'kubelet'}",
            "--v=1",
        ],
    )

    def node_ready() -> tuple[bool, str]:
        obj = cluster.get(demo_kube.KINDS["node"], None, NODE)
        ready = demo_kube.condition(obj or {}, "Ready")
        return ready.get("status") == "True", ready.get("message", "not registered")

    say(f"node/{NODE}: {wait_for('the node', node_ready, 120)}")

    step("helm install charts/gotk, and the chart's source-controller pod on the node")
    helm = str(Path.home() / ".cache" / "gotk" / "tools" / "bin" / "helm")
    env = {**os.environ, "KUBECONFIG": str(node.kubeconfig)}
    subprocess.run(
        [
            helm,
            "install",
            "gotk",
            str(ROOT / "charts" / "gotk"),
            "-n",
            NAMESPACE,
            "--create-namespace",
            "--set",
            "kustomizeController.enabled=false",
            "--set",
            "helmController.enabled=false",
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    manifest = subprocess.run(
        [helm, "get", "manifest", "gotk", "-n", NAMESPACE],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    ).stdout
    (deployment,) = [
        d
        for d in yaml.safe_load_all(manifest)
        if d and d["kind"] == "Deployment" and d["metadata"]["name"] == "source-controller"
    ]
    kubeconfig = yaml.safe_load(node.kubeconfig.read_text())
    ca = base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kube-root-ca.crt", "namespace": NAMESPACE},
            "data": {"ca.crt": ca.decode()},
        }
    )
    storage = f"127.0.0.1:{free_port()}"
    ports = {
        "--metrics-addr": f"127.0.0.1:{free_port()}",
        "--health-addr": f"127.0.0.1:{free_port()}",
        "--storage-addr": storage,
        "--storage-adv-addr": storage,
    }
    cluster.apply(pod_from_chart(deployment, cluster.server, ports))

    def pod_ready() -> tuple[bool, str]:
        pod = cluster.get(demo_kube.KINDS["pod"], NAMESPACE, "source-controller-0") or {}
        ready = demo_kube.condition(pod, "Ready")
        phase = (pod.get("status") or {}).get("phase", "Pending")
        return ready.get("status") == "True", f"{phase}, Ready={ready.get('status', '?')}"

    say(f"pod/source-controller-0: {wait_for('the pod to be Ready', pod_ready, LEASE_WAIT)}")
    for line in node.ctr("containers", "ls").splitlines():
        say(line)

    step("a GitRepository reconciled by the pod")
    git_root = node.dir / "git"
    work = node.dir / "work"
    git = ["git", "-c", "user.name=gotk", "-c", "user.email=gotk@gotk.invalid"]
    subprocess.run([*git, "init", "-q", "--bare", str(git_root / "app.git")], check=True)
    subprocess.run(
        [*git, "-C", str(git_root / "app.git"), "symbolic-ref", "HEAD", "refs/heads/master"],
        check=True,
    )
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "symbolic-ref", "HEAD", "refs/heads/master"], check=True)
    (work / "configmap.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "app"], check=True)
    subprocess.run(
        [*git, "-C", str(work), "push", "-q", str(git_root / "app.git"), "master"], check=True
    )
    url_file = node.dir / "git-url"
    node.start(
        "git-server",
        [sys.executable, str(ROOT / "tools" / "demo_git_server.py"), str(git_root), str(url_file)],
    )
    wait_for("the Git server", lambda: (url_file.exists() and url_file.stat().st_size > 0, ""), 30)
    cluster.apply(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": NAMESPACE},
            "spec": {
                "url": f"{url_file.read_text().strip()}/app.git",
                "interval": "1m",
                "ref": {"branch": "master"},
            },
        }
    )

    def repo_ready() -> tuple[bool, str]:
        obj = cluster.get(demo_kube.KINDS["gitrepository"], NAMESPACE, "app") or {}
        artifact = (obj.get("status") or {}).get("artifact") or {}
        return demo_kube.flux_ready(obj) and bool(artifact), artifact.get("url", "")

    artifact_url = wait_for("GitRepository/app", repo_ready, 90)
    with urllib.request.urlopen(artifact_url, timeout=10) as response:
        size = len(response.read())
    say(f"gitrepository/app: Ready; artifact {artifact_url} ({size} bytes, served by the pod)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / ".gotk" / "real-pods")
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    node = Node(directory)
    try:
        run(node)
        ok = True
    except (demo_kube.DemoError, subprocess.SubprocessError, OSError) as err:
        print(f"REAL PODS FAILED: {err}", file=sys.stderr)
        print(f"logs: {directory}/*.log", file=sys.stderr)
        ok = False
    finally:
        step("stopping kubelet, the pod, containerd, the Git server and the control plane")
        node.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
