"""Running the Helm 4 binary: one `helm` process per action, through gotk_runtime's
subprocess helper (own process group, killed on timeout or cancellation).

Every action gets a private temp dir (0700) holding its kubeconfig and values file (both
0600); nothing secret is ever in argv, and the dir is removed in `finally`. Helm's homes
(cache, config, data, plugins) live in one directory per controller process, so API
discovery is cached between actions. A failed action is not an exception here: the
outcome carries Helm's own error line (e.g. the template file and line of a render error),
and the release reconciler records it as Flux records a failed action.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_runtime.kube.redact import mask_secret_values
from gotk_runtime.process import run
from gotk_runtime.tools import find_tool

from helm_controller.postrender import PLUGIN_NAME, install_plugin
from helm_controller.values import go_json

__all__ = ["HelmCLI", "HelmOutcome", "error_line"]

PROCESS_GRACE: Final = 60.0
"""Helm enforces `--timeout` itself; the process timeout only catches a hung binary."""
_ACTION_PREFIX = re.compile(r"^[A-Z][A-Z ]+ FAILED: ")


@dataclass(frozen=True, slots=True)
class HelmOutcome:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def error(self) -> str:
        if line := error_line(self.stderr):
            return line
        if self.returncode < 0:
            return f"helm was killed by signal {-self.returncode}"
        return f"helm exited {self.returncode}"


def error_line(stderr: str) -> str:
    """Helm's own error: its last `Error: ` line without the `UPGRADE FAILED: ` prefix,
    with the values the API server quotes from a Secret masked."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    found = lines[-1] if lines else ""
    for line in reversed(lines):
        if line.startswith("Error: "):
            found = _ACTION_PREFIX.sub("", line.removeprefix("Error: "))
            break
    # The API server quotes a refused Secret's values; helm passes its text on.
    return mask_secret_values(found) if "Secret" in found else found


class HelmCLI:
    """Runs `helm` with one set of homes; `close()` removes them."""

    def __init__(self, home: Path | None = None, binary: str | None = None) -> None:
        self.home = home or Path(tempfile.mkdtemp(prefix="helm-controller-home-"))
        self._binary = binary
        self.plugins = self.home / "plugins"
        self._plugin_ready = False

    @property
    def binary(self) -> str:
        if self._binary is None:
            self._binary = str(find_tool("helm"))
        return self._binary

    def env(self, kubeconfig: Path) -> dict[str, str]:
        home = self.home
        return {
            "HOME": str(home),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
            "HELM_PLUGINS": str(self.plugins),
            "HELM_DRIVER": "secret",
            "KUBECONFIG": str(kubeconfig),
        }

    async def run(
        self,
        args: Sequence[str],
        *,
        kubeconfig: Obj,
        timeout: float,
        values: Mapping[str, Any] | None = None,
        postrender: Mapping[str, Any] | None = None,
    ) -> HelmOutcome:
        """Run `helm <args>`; `{values}` in an arg is replaced by the values file's path;
        `postrender` is the config of gotk's post-renderer plugin for this action."""
        workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="helm-action-"))
        try:
            config_path = workdir / "kubeconfig"
            values_path = workdir / "values.json"
            await asyncio.to_thread(
                _write_private, config_path, yaml.safe_dump(kubeconfig).encode()
            )
            if values is not None:
                await asyncio.to_thread(_write_private, values_path, go_json(dict(values)))
            argv = [self.binary, *(a.replace("{values}", str(values_path)) for a in args)]
            if postrender is not None:
                await asyncio.to_thread(self._ensure_plugin)
                render_path = workdir / "postrender.json"
                data = json.dumps(dict(postrender)).encode()
                await asyncio.to_thread(_write_private, render_path, data)
                argv += [f"--post-renderer={PLUGIN_NAME}", f"--post-renderer-args={render_path}"]
            result = await run(
                argv,
                timeout=timeout + PROCESS_GRACE,
                cwd=workdir,
                env=self.env(config_path),
                check=False,
            )
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
        return HelmOutcome(
            result.returncode,
            result.stdout.decode("utf-8", errors="replace"),
            result.stderr.decode("utf-8", errors="replace"),
        )

    def _ensure_plugin(self) -> None:
        if not self._plugin_ready:
            install_plugin(self.plugins)
            self._plugin_ready = True

    def close(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def duration_flag(seconds: float) -> str:
    return f"--timeout={format_duration(seconds)}"
