"""`gotk ui` serves the web UI against the kubeconfig the CLI was given (run as a user runs
it, in its own process, stopped with SIGTERM)."""

from __future__ import annotations

import asyncio
import contextlib
import sys

import aiohttp
from gotk_envtest import ControlPlane, free_port


async def test_gotk_ui_serves_the_dashboard_on_the_given_address(cluster: ControlPlane) -> None:
    addr = f"127.0.0.1:{free_port()}"
    argv = [sys.executable, "-m", "gotk_cli", "ui", "--addr", addr]
    process = await asyncio.create_subprocess_exec(
        *argv,
        f"--kubeconfig={cluster.kubeconfig}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(150):
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://{addr}/readyz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"gotk ui did not become ready on {addr}")
            async with session.get(f"http://{addr}/") as response:
                assert response.status == 200
                assert "gotk" in (await response.text()).lower()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
