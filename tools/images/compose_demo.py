"""`make compose-demo`: docker-compose.yml's containers reconciling a GitRepository, a
Kustomization and a HelmRelease on gotk's own local control plane, then taken down.

Starts the `full` local cluster (a kwok fake node runs the app's Pods), serves a Git
repository holding the demo app and its chart (tools/demo/app, charts/hello in it),
brings the four services up with podman-compose (host networking, free loopback ports),
applies tools/images/demo/flux.yaml and waits for each object to be Ready at the commit, then
shows who did the work: the artifact URL of the source-controller container, the field
manager on the applied Deployment, the Helm release Secret. Everything lives under --dir
(default .gotk/compose-demo); --keep leaves it running (`--down` stops it).

podman-compose's exit code is not trusted: the containers are checked with podman itself.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "tools" / "images"
sys.path.insert(0, str(ROOT / "tools"))
import demo_kube  # noqa: E402  (tools/ is not a package)

PODMAN = HERE / "podman.sh"
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = ("source-controller", "kustomize-controller", "helm-controller", "web-ui")
READY_TIMEOUT = 180.0
HEALTH_TIMEOUT = 90.0

demo_kube.KINDS.update(
    helmrelease=demo_kube.Kind("/apis/helm.toolkit.fluxcd.io/v2", "helmreleases"),
    helmchart=demo_kube.Kind("/apis/source.toolkit.fluxcd.io/v1", "helmcharts"),
    secret=demo_kube.Kind("/api/v1", "secrets"),
)
_START = time.monotonic()


def step(text: str) -> None:
    print(f"\n==> [{time.monotonic() - _START:3.0f}s] {text}", flush=True)


def say(text: str) -> None:
    print(f"    {text}", flush=True)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def podman(*args: str, check: bool = True, timeout: float = 120) -> str:
    done = subprocess.run(
        [str(PODMAN), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise demo_kube.DemoError(f"podman {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def healthy(container: str) -> bool:
    """The image's HEALTHCHECK, run on demand (no systemd here to schedule it)."""
    done = subprocess.run(
        [str(PODMAN), "healthcheck", "run", container], capture_output=True, timeout=60
    )
    return done.returncode == 0


def wait_for(what: str, probe: Callable[[], tuple[bool, str]], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = "nothing yet"
    while time.monotonic() < deadline:
        done, seen = probe()
        if done:
            return seen
        time.sleep(1)
    raise demo_kube.DemoError(f"timed out after {timeout:.0f}s waiting for {what}; last: {seen}")


class Demo:
    def __init__(self, directory: Path, project: str) -> None:
        self.dir = directory
        self.project = project
        self.envtest = directory / "envtest"
        self.git_root = directory / "git"
        self.logs = directory / "logs"
        self.kubeconfig = directory / "kube" / "kubeconfig"
        self.git_server: subprocess.Popen[bytes] | None = None
        ports = free_ports(9)
        self.env = {
            **os.environ,
            "GOTK_KUBECONFIG": str(self.kubeconfig),
            "SOURCE_CONTROLLER_STORAGE_ADDR": f"127.0.0.1:{ports[0]}",
            "SOURCE_CONTROLLER_METRICS_ADDR": f"127.0.0.1:{ports[1]}",
            "SOURCE_CONTROLLER_HEALTH_ADDR": f"127.0.0.1:{ports[2]}",
            "KUSTOMIZE_CONTROLLER_METRICS_ADDR": f"127.0.0.1:{ports[3]}",
            "KUSTOMIZE_CONTROLLER_HEALTH_ADDR": f"127.0.0.1:{ports[4]}",
            "HELM_CONTROLLER_METRICS_ADDR": f"127.0.0.1:{ports[5]}",
            "HELM_CONTROLLER_HEALTH_ADDR": f"127.0.0.1:{ports[6]}",
            "WEB_UI_ADDR": f"127.0.0.1:{ports[7]}",
            "GOTK_RUNTIME_NAMESPACE": "flux-system",
        }

    # -- the pieces

    def compose(self, *args: str, timeout: float = 300) -> None:
        argv = [
            str(Path(sys.executable).parent / "podman-compose"),
            "--podman-path",
            str(PODMAN),
            "--project-name",
            self.project,
            "--file",
            str(COMPOSE_FILE),
            *args,
        ]
        log = self.logs / "podman-compose.log"
        with log.open("a") as out:
            out.write(f"$ {' '.join(argv)}\n")
            out.flush()
            subprocess.run(
                argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            )

    def containers(self, *, running_only: bool = False) -> dict[str, str]:
        """This project's containers: name -> state."""
        label = f"label=io.podman.compose.project={self.project}"
        out = podman(
            "ps",
            *(() if running_only else ("--all",)),
            "--filter",
            label,
            "--format",
            "{{.Names}} {{.State}}",
        )
        return dict(line.split(maxsplit=1) for line in out.splitlines() if line.strip())

    def make_repository(self) -> str:
        work = self.dir / "work"
        bare = self.git_root / "gotk-demo.git"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(ROOT / "tools" / "demo" / "app", work)
        env = {
            **os.environ,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "gotk demo",
            "GIT_AUTHOR_EMAIL": "demo@gotk.invalid",
            "GIT_COMMITTER_NAME": "gotk demo",
            "GIT_COMMITTER_EMAIL": "demo@gotk.invalid",
        }

        def git(*args: str, cwd: Path = work) -> str:
            done = subprocess.run(
                ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
            )
            return done.stdout.strip()

        self.git_root.mkdir(parents=True, exist_ok=True)
        git("init", "--quiet", "--bare", str(bare), cwd=self.git_root)
        git("symbolic-ref", "HEAD", "refs/heads/master", cwd=bare)
        git("init", "--quiet")
        git("symbolic-ref", "HEAD", "refs/heads/master")
        git("add", "--all")
        git("commit", "--quiet", "-m", "the demo app and its chart")
        git("push", "--quiet", str(bare), "master")
        return git("rev-parse", "HEAD")

    def start_git_server(self) -> str:
        url_file = self.dir / "git-url"
        url_file.unlink(missing_ok=True)
        self.git_server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tools" / "demo_git_server.py"),
                str(self.git_root),
                str(url_file),
            ],
            stdin=subprocess.DEVNULL,
            stdout=(self.logs / "git-server.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (self.dir / "git-server.pid").write_text(str(self.git_server.pid))
        wait_for(
            "the Git server", lambda: (url_file.exists() and url_file.stat().st_size > 0, ""), 30
        )
        return url_file.read_text().strip()

    def start_cluster(self) -> None:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "gotk_envtest",
                "up",
                "--profile",
                "full",
                "--dir",
                str(self.envtest),
                "--crds",
                str(ROOT / "config" / "crds"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        if done.returncode != 0:
            raise demo_kube.DemoError(f"the control plane did not start: {done.stderr[-2000:]}")
        # The containers' user cannot read the 0600 admin kubeconfig.
        subprocess.run(
            [
                sys.executable,
                str(HERE / "kubeconfig.py"),
                str(self.envtest / "cluster" / "kubeconfig"),
                str(self.kubeconfig),
            ],
            check=True,
            timeout=30,
        )

    def down(self) -> None:
        self.compose("down", "--volumes", "--timeout", "30")
        left = self.containers()
        if left:  # podman-compose may exit 0 having failed: finish the job with podman
            for name in left:
                podman("rm", "--force", "--time", "10", name, check=False)
        podman("volume", "rm", "--force", f"{self.project}_artifacts", check=False)
        podman("pod", "rm", "--force", f"pod_{self.project}", check=False)
        self._stop_git_server()
        subprocess.run(
            [sys.executable, "-m", "gotk_envtest", "down", "--dir", str(self.envtest)],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )

    def _stop_git_server(self) -> None:
        pid_file = self.dir / "git-server.pid"
        if self.git_server is not None:
            if self.git_server.poll() is None:
                os.killpg(self.git_server.pid, signal.SIGTERM)
                self.git_server.wait(timeout=30)
        elif pid_file.exists():  # one that a --keep run left behind
            pid = int(pid_file.read_text())
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if str(self.git_root).encode() in cmdline:
                    os.killpg(pid, signal.SIGTERM)
        pid_file.unlink(missing_ok=True)

    # -- the demo

    def run(self) -> None:
        step(f"preparing {self.dir}: the images, the control plane, a Git repository")
        self.logs.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(HERE / "build.sh")], cwd=ROOT, check=True, timeout=1800)
        self.start_cluster()
        cluster = demo_kube.Cluster(self.kubeconfig)
        say(f"API server {cluster.server} (gotk_envtest, profile full: one kwok fake node)")
        commit = self.make_repository()
        git_url = self.start_git_server()
        say(f"Git server {git_url}/gotk-demo.git at {commit[:12]}")
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}}
        cluster.apply(namespace)

        step("podman-compose up: " + ", ".join(SERVICES))
        self.compose("up", "--detach", "--no-build")
        states = self.containers(running_only=True)
        if len(states) != len(SERVICES):
            raise demo_kube.DemoError(
                f"expected {len(SERVICES)} running containers, podman shows {states or 'none'}"
                f" (log: {self.logs / 'podman-compose.log'})"
            )
        for name in sorted(states):
            wait_for(
                f"{name} to be healthy",
                lambda name=name: (healthy(name), ""),
                HEALTH_TIMEOUT,
            )
        for line in podman(
            "ps",
            "--filter",
            f"label=io.podman.compose.project={self.project}",
            "--format",
            "{{.Names}}  {{.Image}}  {{.Status}}",
        ).splitlines():
            say(line)

        step("applying GitRepository, Kustomization and HelmRelease gotk-demo in flux-system")
        text = string.Template((HERE / "demo" / "flux.yaml").read_text()).substitute(
            GIT_URL=git_url
        )
        for doc in yaml.safe_load_all(text):
            cluster.apply(doc)
            say(f"applied {doc['kind']}/{doc['metadata']['name']}")
        for kind, name in (
            ("gitrepository", "gotk-demo"),
            ("kustomization", "podinfo"),
            ("helmrelease", "hello"),
        ):
            seen = wait_for(
                f"{kind}/{name} to be Ready",
                self._ready_probe(cluster, kind, name, commit),
                READY_TIMEOUT,
            )
            say(f"{kind}/{name}: {seen}")

        step("who did the work: the containers")
        repo = cluster.get(demo_kube.KINDS["gitrepository"], "flux-system", "gotk-demo") or {}
        url = repo.get("status", {}).get("artifact", {}).get("url", "")
        say(f"artifact served by the source-controller container: {url}")
        deployment = cluster.get(demo_kube.KINDS["deployment"], "demo", "podinfo") or {}
        managers = sorted(
            {m.get("manager", "") for m in deployment["metadata"].get("managedFields", [])}
        )
        say(f"deployment/podinfo in demo: field managers {', '.join(managers)}")
        done, summary = demo_kube.rollout(deployment)
        say(f"deployment/podinfo: {summary}")
        secrets = cluster.list(demo_kube.KINDS["secret"], "flux-system", "owner=helm,name=hello")
        say("helm release secrets: " + ", ".join(s["metadata"]["name"] for s in secrets))
        greeting = cluster.get(demo_kube.KINDS["configmap"], "flux-system", "hello")
        say(f"configmap/hello: {(greeting or {}).get('data')}")
        ui = self.env["WEB_UI_ADDR"]
        say(f"web UI on http://{ui}/ (container {self.project}_web-ui_1)")
        if not (done and secrets and greeting and url):
            raise demo_kube.DemoError("the containers did not finish the work (see above)")

    @staticmethod
    def _ready_probe(
        cluster: demo_kube.Cluster, kind: str, name: str, commit: str
    ) -> Callable[[], tuple[bool, str]]:
        def probe() -> tuple[bool, str]:
            obj: dict[str, Any] | None = cluster.get(demo_kube.KINDS[kind], "flux-system", name)
            if obj is None:
                return False, "not found"
            status = obj.get("status") or {}
            revision = str(
                status.get("lastAppliedRevision")
                or (status.get("artifact") or {}).get("revision")
                or (status.get("history") or [{}])[0].get("chartVersion", "")
            )
            ready = demo_kube.flux_ready(obj)
            at_commit = kind == "helmrelease" or revision.endswith(commit)
            message = demo_kube.condition(obj, "Ready").get("message", "no Ready condition yet")
            return ready and at_commit, f"Ready at {revision or '?'}: {message}"

        return probe


@contextlib.contextmanager
def _interrupts_as_exit() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / ".gotk" / "compose-demo")
    parser.add_argument("--project", default="gotk-demo", help="the compose project name")
    parser.add_argument("--keep", action="store_true", help="leave everything running")
    parser.add_argument("--down", action="store_true", help="stop what --keep left running")
    args = parser.parse_args(argv)
    demo = Demo(args.dir.resolve(), args.project)
    if args.down:
        demo.down()
        return 0
    shutil.rmtree(demo.dir, ignore_errors=True)
    ok = False
    with _interrupts_as_exit():
        try:
            demo.run()
            ok = True
        except (demo_kube.DemoError, subprocess.SubprocessError) as err:
            print(f"\nCOMPOSE DEMO FAILED: {err}", file=sys.stderr)
            for name in demo.containers():
                print(f"--- last lines of {name}", file=sys.stderr)
                print(podman("logs", "--tail", "15", name, check=False), file=sys.stderr)
        finally:
            if ok and args.keep:
                step("--keep: leaving it running")
                say(f"export KUBECONFIG={demo.envtest / 'cluster' / 'kubeconfig'}")
                say(f"stop it with: python tools/images/compose_demo.py --down --dir {demo.dir}")
            else:
                step("podman-compose down, and the control plane and Git server stopped")
                demo.down()
                left = demo.containers()
                say(f"containers left: {', '.join(left) if left else 'none'}")
                ok = ok and not left
    if ok:
        print(f"\ncompose demo finished in {time.monotonic() - _START:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
