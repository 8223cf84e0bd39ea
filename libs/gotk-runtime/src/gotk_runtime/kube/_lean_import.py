"""Import kubernetes_asyncio's config loaders without its 700 generated model classes.

``import kubernetes_asyncio.<anything>`` runs the package ``__init__``, which imports
``kubernetes_asyncio.client`` and with it every generated API and model class: ~60 MiB of
RSS and ~2 s of start-up for code gotk never calls (it speaks raw JSON). The loaders only
need ``client.configuration.Configuration``. So, when nothing has imported the package yet,
we register the two package modules with their real ``__path__`` but without running their
``__init__``; the first attribute the stubs lack runs the real ``__init__`` into them, so a
later full ``import kubernetes_asyncio.client`` user still gets the complete package.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

_PACKAGES = ("kubernetes_asyncio", "kubernetes_asyncio.client")


def _deferred_package(name: str) -> types.ModuleType:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"cannot locate package {name}")
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        del module.__dict__["__getattr__"]
        loader.exec_module(module)
        return getattr(module, attr)

    module.__dict__["__getattr__"] = __getattr__
    return module


def _api_client_factory(*args: Any, **kwargs: Any) -> Any:
    """Stands in for ``ApiClient`` while the loaders import; builds the real one if called."""
    from kubernetes_asyncio.client.api_client import ApiClient

    return ApiClient(*args, **kwargs)


def import_config_loaders() -> types.ModuleType:
    """Return ``kubernetes_asyncio.config``, importing as little of the package as possible."""
    if _PACKAGES[0] not in sys.modules:
        # Register the root first: find_spec of a submodule imports its parent otherwise.
        root = sys.modules[_PACKAGES[0]] = _deferred_package(_PACKAGES[0])
        client = sys.modules[_PACKAGES[1]] = _deferred_package(_PACKAGES[1])
        root.__dict__["client"] = client
        from kubernetes_asyncio.client.configuration import Configuration

        client.__dict__["Configuration"] = Configuration
        # kube_config does `from kubernetes_asyncio.client import ApiClient` at import time
        # and only calls it in new_client_from_config, which gotk never uses.
        client.__dict__["ApiClient"] = _api_client_factory
        try:
            import kubernetes_asyncio.config as config
        finally:
            del client.__dict__["ApiClient"]
        return config
    import kubernetes_asyncio.config as config

    return config
