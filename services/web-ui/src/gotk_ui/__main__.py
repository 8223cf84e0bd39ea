"""`python -m gotk_ui`: serve the read-only web UI (ASGI on uvicorn)."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

import uvicorn
from gotk_runtime import KubeClient, KubeError, configure_logging, load_config
from gotk_runtime.ratelimit import kube_api_limiter

from gotk_ui.app import create_app
from gotk_ui.cache import ClusterCache
from gotk_ui.options import UIOptions, parse_options
from gotk_ui.pages import Pages

log = logging.getLogger("gotk_ui")

GRACEFUL_SHUTDOWN_SECONDS = 3
"""Live streams never end on their own; uvicorn closes them after this on SIGTERM."""


async def serve(options: UIOptions) -> None:
    config = await load_config(options.kubeconfig)
    limiter = kube_api_limiter(options.kube_api_qps, options.kube_api_burst)
    async with KubeClient(config, user_agent="gotk-ui", rate_limiter=limiter) as client:
        cache = ClusterCache(client, options.runtime_namespace)
        app = create_app(cache, Pages(cache, client), auth_token=options.auth_token)
        host, port = options.host_port
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning" if options.log_level != "debug" else "debug",
                access_log=options.log_level == "debug",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                proxy_headers=True,
                server_header=False,
            )
        )
        log.info("serving the gotk UI on http://%s:%d", host, port)
        await server.serve()


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_options(argv)
    configure_logging(options.log_level, "json")
    try:
        asyncio.run(serve(options))
    except KubeError as err:
        print(f"gotk-ui: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
