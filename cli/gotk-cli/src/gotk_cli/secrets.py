"""The Secrets `gotk create secret git|helm|oci` makes, with Flux's keys and types.

Values only ever reach the API server or, with --export, stdout; never a log line.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from gotk_api.objects import Obj

from gotk_cli.errors import CliError
from gotk_cli.manifests import Meta

__all__ = ["git_secret", "helm_secret", "oci_secret"]


def _read(path: str, flag: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as err:
        raise CliError(f"cannot read {flag} {path}: {err.strerror}") from None


def _secret(meta: Meta, data: dict[str, str], type_: str = "") -> Obj:
    secret: Obj = {"apiVersion": "v1", "kind": "Secret", "metadata": meta.metadata()}
    if type_:
        secret["type"] = type_
    secret["stringData"] = data
    return secret


def git_secret(
    meta: Meta,
    *,
    url: str,
    username: str = "",
    password: str = "",
    bearer_token: str = "",
    ca_crt_file: str = "",
    private_key_file: str = "",
    known_hosts_file: str = "",
) -> Obj:
    if not url:
        raise CliError("url is required")
    data: dict[str, str] = {}
    if url.startswith("ssh://"):
        if not private_key_file or not known_hosts_file:
            raise CliError(
                "an SSH URL needs --private-key-file and --known-hosts-file"
                " (gotk does not scan the server's host keys)"
            )
        data["identity"] = _read(private_key_file, "--private-key-file")
        data["known_hosts"] = _read(known_hosts_file, "--known-hosts-file")
    elif url.startswith(("http://", "https://")):
        if bearer_token and (username or password):
            raise CliError("user credentials and bearer token cannot be used together")
        if bearer_token:
            data["bearerToken"] = bearer_token
        elif username and password:
            data["username"] = username
            data["password"] = password
        elif not ca_crt_file:
            raise CliError(
                "for Git over HTTP/S, --username and --password, or --bearer-token, are needed"
            )
    else:
        raise CliError(f"git URL scheme {url.split(':', 1)[0]!r} not supported")
    if ca_crt_file:
        data["ca.crt"] = _read(ca_crt_file, "--ca-crt-file")
    return _secret(meta, data)


def helm_secret(
    meta: Meta,
    *,
    username: str = "",
    password: str = "",
    cert_file: str = "",
    key_file: str = "",
    ca_file: str = "",
) -> Obj:
    data: dict[str, str] = {}
    if username or password:
        if not (username and password):
            raise CliError("--username and --password go together")
        data.update(username=username, password=password)
    if cert_file or key_file:
        if not (cert_file and key_file):
            raise CliError("--cert-file and --key-file go together")
        data["tls.crt"] = _read(cert_file, "--cert-file")
        data["tls.key"] = _read(key_file, "--key-file")
    if ca_file:
        data["ca.crt"] = _read(ca_file, "--ca-file")
    if not data:
        raise CliError(
            "no credentials given: --username/--password, --cert-file/--key-file or --ca-file"
        )
    return _secret(meta, data)


def oci_secret(meta: Meta, *, url: str, username: str, password: str) -> Obj:
    """A `kubernetes.io/dockerconfigjson` pull secret for ``url``'s registry host."""
    if not url or not username or not password:
        raise CliError("--url, --username and --password are required")
    host = url.removeprefix("oci://").split("/", 1)[0]
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    config = {"auths": {host: {"username": username, "password": password, "auth": auth}}}
    return _secret(
        meta, {".dockerconfigjson": json.dumps(config)}, "kubernetes.io/dockerconfigjson"
    )
