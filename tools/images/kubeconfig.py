"""Write a kubeconfig the gotk containers can read: one context, every file it references
(certificate-authority, client-certificate, client-key, tokenFile) inlined as data, so
mounting this one file is enough; mode 0644 inside a 0700 directory, because the services
run as an unprivileged user that cannot read the usual 0600 root-owned kubeconfig, while
nobody else on the host can reach the file.

usage: python tools/images/kubeconfig.py [--context NAME] SOURCE DEST
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path
from typing import Any

import yaml

_FILE_FIELDS = {
    "certificate-authority": "certificate-authority-data",
    "client-certificate": "client-certificate-data",
    "client-key": "client-key-data",
}


def _named(items: list[dict[str, Any]], name: str, what: str) -> dict[str, Any]:
    for item in items:
        if item.get("name") == name:
            return dict(item[what])
    raise SystemExit(f"kubeconfig has no {what} named {name!r}")


def _inline(section: dict[str, Any], base: Path) -> dict[str, Any]:
    out = dict(section)
    for field, data_field in _FILE_FIELDS.items():
        if path := out.pop(field, None):
            content = (base / os.path.expanduser(path)).read_bytes()
            out[data_field] = base64.b64encode(content).decode()
    if token_file := out.pop("tokenFile", None):
        out["token"] = (base / os.path.expanduser(token_file)).read_text().strip()
    return out


def flatten(source: Path, context_name: str | None) -> dict[str, Any]:
    config = yaml.safe_load(source.read_text()) or {}
    name = context_name or config.get("current-context")
    if not name:
        raise SystemExit(f"{source}: no current-context; pass --context")
    context = _named(config.get("contexts") or [], name, "context")
    cluster = _named(config.get("clusters") or [], context["cluster"], "cluster")
    user = _named(config.get("users") or [], context["user"], "user")
    if "exec" in user or "auth-provider" in user:
        print(
            f"warning: user {context['user']!r} runs a credential plugin, which the "
            "containers do not have",
            file=sys.stderr,
        )
    base = source.resolve().parent
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context["cluster"], "cluster": _inline(cluster, base)}],
        "users": [{"name": context["user"], "user": _inline(user, base)}],
        "contexts": [{"name": name, "context": context}],
        "current-context": name,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--context", default=None)
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    flat = flatten(args.source, args.context)
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    args.dest.parent.chmod(0o700)
    tmp = args.dest.with_name(args.dest.name + ".tmp")
    tmp.write_text(yaml.safe_dump(flat, sort_keys=False))
    tmp.chmod(0o644)
    tmp.replace(args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
