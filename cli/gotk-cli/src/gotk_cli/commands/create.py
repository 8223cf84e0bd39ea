"""`gotk create source git|oci|helm|bucket`, `kustomization`, `helmrelease`, `secret ...`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from gotk_cli.cli import DURATION, CommandResult, Settings, command, group, settings
from gotk_cli.commands.root import root

__all__ = ["create_group"]


def _create_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--label",
        "labels",
        multiple=True,
        help="set labels on the resource (key=value, repeatable)",
    )(f)
    f = click.option("--export", is_flag=True, help="export in YAML format to stdout")(f)
    return click.option(
        "--interval", type=DURATION, default="1m", show_default=True, help="reconcile interval"
    )(f)


def _comma(values: tuple[str, ...]) -> list[str]:
    return [part for value in values for part in value.split(",") if part]


async def _create(
    current: Settings, build: str, name: str, label: str, flags: dict[str, Any]
) -> None:
    from gotk_cli import manifests, secrets
    from gotk_cli.cluster import connect
    from gotk_cli.create import apply_and_wait, export
    from gotk_cli.log import Log

    meta = manifests.Meta(
        name,
        current.namespace,
        labels=tuple(flags.pop("labels", ())),
        interval=flags.pop("interval", 60.0),
    )
    to_stdout = flags.pop("export", False)
    builder = getattr(manifests, build, None) or getattr(secrets, build)
    obj = builder(meta, **flags)
    if to_stdout:
        export([obj], sys.stdout)
        return
    log = Log()
    async with connect(current) as cluster:
        if obj["kind"] == "Secret":
            await cluster.apply(obj)
            log.action(f"{label} secret '{name}' created in '{current.namespace}' namespace")
            return
        done = await apply_and_wait(cluster, obj, label=label, log=log, timeout=current.timeout)
        status = done.get("status") or {}
        if obj["kind"] == "Kustomization":
            log.success(f"applied revision {status.get('lastAppliedRevision', '')}")
        elif obj["kind"] == "HelmRelease":
            history = status.get("history") or [{}]
            log.success(f"applied revision {history[0].get('chartVersion', '')}")
        elif status.get("artifact"):
            log.success(f"fetched revision: {status['artifact']['revision']}")


def _run(build: str, name: str, label: str, flags: dict[str, Any]) -> CommandResult:
    return _create(settings(), build, name, label, flags)


@group(
    root,
    "create",
    "Create or update sources and resources.",
    examples="""
  # Create a Git source and a Kustomization that applies it
  gotk create source git podinfo --url=https://github.com/stefanprodan/podinfo --branch=master
  gotk create kustomization podinfo --source=GitRepository/podinfo --path=./kustomize --prune
""",
)
def create_group() -> None:
    """The create sub-commands generate sources and resources."""


@group(
    create_group,
    "source",
    "Create or update sources.",
    examples="""
  gotk create source oci podinfo --url=oci://ghcr.io/stefanprodan/manifests/podinfo --tag=latest
""",
)
def create_source() -> None:
    """The create source sub-commands generate sources."""


@group(
    create_group,
    "secret",
    "Create or update Kubernetes secrets.",
    examples="""
  gotk create secret git podinfo-auth --url=https://github.com/stefanprodan/podinfo -u=git -p=token
""",
)
def create_secret() -> None:
    """The create secret sub-commands generate Kubernetes secrets used by the sources."""


@command(
    create_source,
    "git",
    "Create or update a GitRepository source.",
    examples="""
  # Create a source for a public repository's branch
  gotk create source git podinfo --url=https://github.com/stefanprodan/podinfo --branch=master

  # Print the GitRepository of a semver tag range instead of applying it
  gotk create source git podinfo --url=https://github.com/stefanprodan/podinfo \\
    --tag-semver=">=6.0.0 <7.0.0" --export
""",
)
@click.argument("name")
@click.option("--url", default="", help="git address, e.g. https://host/org/repository")
@click.option("--branch", default="", help="git branch")
@click.option("--tag", default="", help="git tag")
@click.option("--tag-semver", default="", help="git tag semver range")
@click.option("--commit", default="", help="git commit")
@click.option("--ref-name", default="", help="git reference name")
@click.option("--secret-ref", default="", help="the name of an existing secret with credentials")
@click.option("--provider", default="generic", help="the Git provider (generic, azure, github)")
@click.option(
    "--ignore-paths", multiple=True, help="paths to ignore (repeatable or comma-separated)"
)
@click.option("--recurse-submodules", is_flag=True, help="include Git submodules")
@_create_options
def create_source_git(name: str, ignore_paths: tuple[str, ...], **flags: Any) -> CommandResult:
    flags["ignore_paths"] = _comma(ignore_paths)
    return _run("git_repository", name, "GitRepository source", flags)


@command(
    create_source,
    "oci",
    "Create or update an OCIRepository source.",
    examples="""
  # Create a source for what `gotk push artifact` pushed
  gotk create source oci podinfo --url=oci://ghcr.io/org/manifests/podinfo --tag=latest
""",
)
@click.argument("name")
@click.option("--url", default="", help="the OCI repository URL")
@click.option("--tag", default="", help="the OCI artifact tag")
@click.option("--tag-semver", default="", help="the OCI artifact tag semver range")
@click.option("--digest", default="", help="the OCI artifact digest")
@click.option("--secret-ref", default="", help="the name of an image pull secret")
@click.option("--provider", default="generic", help="the OCI provider (generic, aws, azure, gcp)")
@click.option(
    "--ignore-paths", multiple=True, help="paths to ignore (repeatable or comma-separated)"
)
@click.option("--insecure", is_flag=True, help="plain HTTP to the registry")
@_create_options
def create_source_oci(name: str, ignore_paths: tuple[str, ...], **flags: Any) -> CommandResult:
    flags["ignore_paths"] = _comma(ignore_paths)
    return _run("oci_repository", name, "OCIRepository", flags)


@command(
    create_source,
    "helm",
    "Create or update a HelmRepository source.",
    examples="""
  # Create a source for an HTTPS Helm repository
  gotk create source helm podinfo --url=https://stefanprodan.github.io/podinfo

  # Create a source for an OCI Helm repository
  gotk create source helm podinfo --url=oci://ghcr.io/stefanprodan/charts/podinfo
""",
)
@click.argument("name")
@click.option("--url", default="", help="Helm repository address")
@click.option("--secret-ref", default="", help="the name of a secret with credentials")
@click.option("--oci-provider", default="generic", help="the provider for an OCI repository")
@click.option("--insecure", is_flag=True, help="plain HTTP to an OCI registry")
@_create_options
def create_source_helm(name: str, **flags: Any) -> CommandResult:
    return _run("helm_repository", name, "HelmRepository source", flags)


@command(
    create_source,
    "bucket",
    "Create or update a Bucket source.",
    examples="""
  # Create a source for an S3-compatible bucket
  gotk create source bucket podinfo --bucket-name=podinfo --endpoint=minio.minio.svc:9000 \\
    --insecure --secret-ref=minio-credentials
""",
)
@click.argument("name")
@click.option("--bucket-name", default="", help="the bucket name")
@click.option("--endpoint", default="", help="the bucket endpoint address")
@click.option("--provider", default="generic", help="the S3 compatible storage provider")
@click.option("--region", default="", help="the bucket region")
@click.option("--insecure", is_flag=True, help="plain HTTP to the endpoint")
@click.option("--secret-ref", default="", help="the name of a secret with credentials")
@click.option(
    "--ignore-paths", multiple=True, help="paths to ignore (repeatable or comma-separated)"
)
@_create_options
def create_source_bucket(name: str, ignore_paths: tuple[str, ...], **flags: Any) -> CommandResult:
    flags["ignore_paths"] = _comma(ignore_paths)
    return _run("bucket", name, "Bucket source", flags)


@command(
    create_group,
    "kustomization",
    "Create or update a Kustomization resource.",
    aliases=["ks"],
    examples="""
  # Apply ./kustomize of a Git source every 5 minutes, pruning what leaves it
  gotk create kustomization podinfo --source=GitRepository/podinfo --path=./kustomize \\
    --prune --interval=5m

  # Wait for every applied resource to be healthy
  gotk create ks podinfo --source=OCIRepository/podinfo --wait --health-check-timeout=3m
""",
)
@click.argument("name")
@click.option("--source", default="", help="[<kind>/]<name>[.<namespace>] of the source")
@click.option("--path", default="./", show_default=True, help="path in the source")
@click.option("--prune", is_flag=True, help="enable garbage collection")
@click.option("--wait", is_flag=True, help="enable health checking of all the applied resources")
@click.option("--health-check", "health_checks", multiple=True, help="<kind>/<name>.<namespace>")
@click.option("--health-check-timeout", type=DURATION, default="2m", help="health check timeout")
@click.option("--depends-on", multiple=True, help="[<namespace>/]<name> that must be ready first")
@click.option("--service-account", default="", help="the service account to impersonate")
@click.option("--target-namespace", default="", help="namespace of all the applied objects")
@click.option("--decryption-provider", default="", help="sops")
@click.option("--decryption-secret", default="", help="the secret with the decryption keys")
@click.option("--retry-interval", type=DURATION, default="0", help="retry interval after a failure")
@_create_options
def create_kustomization(name: str, depends_on: tuple[str, ...], **flags: Any) -> CommandResult:
    flags["depends_on"] = _comma(depends_on)
    return _run("kustomization", name, "Kustomization", flags)


@command(
    create_group,
    "helmrelease",
    "Create or update a HelmRelease resource.",
    aliases=["hr"],
    examples="""
  # Install the podinfo chart of a HelmRepository
  gotk create hr podinfo --source=HelmRepository/podinfo --chart=podinfo --chart-version=">4.0.0"

  # Install a chart from an OCIRepository, with values from a file
  gotk create hr podinfo --chart-ref=OCIRepository/podinfo --values=./values.yaml
""",
)
@click.argument("name")
@click.option("--source", default="", help="<kind>/<name>[.<namespace>] of the chart's source")
@click.option("--chart", default="", help="Helm chart name or path")
@click.option("--chart-version", default="", help="Helm chart version (a semver range)")
@click.option("--chart-ref", default="", help="<OCIRepository|HelmChart>/<name>[.<namespace>]")
@click.option("--release-name", default="", help="the Helm release's name")
@click.option("--target-namespace", default="", help="namespace to install the release in")
@click.option("--storage-namespace", default="", help="namespace to store the release in")
@click.option("--create-target-namespace", is_flag=True, help="create the target namespace")
@click.option("--depends-on", multiple=True, help="[<namespace>/]<name> that must be ready first")
@click.option("--service-account", default="", help="the service account to impersonate")
@click.option("--reconcile-strategy", default="ChartVersion", show_default=True)
@click.option("--chart-interval", type=DURATION, default="0", help="the chart's check interval")
@click.option("--values", "values_files", multiple=True, help="local values.yaml files")
@click.option("--values-from", multiple=True, help="<Secret|ConfigMap>/<name> with values")
@click.option("--crds", default="", help="CRD policy: Skip, Create or CreateReplace")
@_create_options
def create_helmrelease(
    name: str, depends_on: tuple[str, ...], values_files: tuple[str, ...], **flags: Any
) -> CommandResult:
    flags["depends_on"] = _comma(depends_on)
    flags["values"] = _values(_comma(values_files))
    flags["values_from"] = _comma(flags["values_from"])
    return _run("helm_release", name, "HelmRelease", flags)


def _values(paths: list[str]) -> dict[str, Any] | None:
    """The values files merged left to right (maps deeply, like Helm's -f)."""
    if not paths:
        return None
    import yaml

    merged: dict[str, Any] = {}
    for path in paths:
        try:
            with open(path) as stream:
                data = yaml.safe_load(stream) or {}
        except (OSError, yaml.YAMLError) as err:
            raise click.BadParameter(f"cannot read values file {path}: {err}") from None
        if not isinstance(data, dict):
            raise click.BadParameter(f"values file {path} is not a YAML map")
        _merge(merged, data)
    return merged


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


@command(
    create_secret,
    "git",
    "Create or update a Kubernetes secret for Git authentication.",
    examples="""
  # Basic authentication over HTTPS
  gotk create secret git podinfo-auth --url=https://github.com/stefanprodan/podinfo \\
    --username=git --password=token

  # SSH, with a key and the server's known_hosts line
  gotk create secret git podinfo-auth --url=ssh://git@github.com/stefanprodan/podinfo \\
    --private-key-file=./id_ed25519 --known-hosts-file=./known_hosts --export
""",
)
@click.argument("name")
@click.option("--url", default="", help="git address")
@click.option("-u", "--username", default="", help="basic authentication username")
@click.option("-p", "--password", default="", help="basic authentication password")
@click.option("--bearer-token", default="", help="bearer authentication token")
@click.option("--ca-crt-file", default="", help="TLS CA certificate file")
@click.option("--private-key-file", default="", help="passwordless SSH private key file")
@click.option("--known-hosts-file", default="", help="the SSH server's known_hosts lines")
@_create_options
def create_secret_git(name: str, **flags: Any) -> CommandResult:
    flags.pop("interval")
    return _run("git_secret", name, "git", flags)


@command(
    create_secret,
    "helm",
    "Create or update a Kubernetes secret for Helm repository authentication.",
    examples="""
  gotk create secret helm repo-auth --username=user --password=secret
""",
)
@click.argument("name")
@click.option("-u", "--username", default="", help="basic authentication username")
@click.option("-p", "--password", default="", help="basic authentication password")
@click.option("--cert-file", default="", help="TLS client certificate file")
@click.option("--key-file", default="", help="TLS client key file")
@click.option("--ca-file", default="", help="TLS CA file")
@_create_options
def create_secret_helm(name: str, **flags: Any) -> CommandResult:
    flags.pop("interval")
    return _run("helm_secret", name, "helm", flags)


@command(
    create_secret,
    "oci",
    "Create or update a Kubernetes image pull secret for an OCI registry.",
    examples="""
  gotk create secret oci ghcr-auth --url=ghcr.io --username=user --password=token
""",
)
@click.argument("name")
@click.option("--url", default="", help="the registry address, e.g. ghcr.io/org")
@click.option("-u", "--username", default="", help="basic authentication username")
@click.option("-p", "--password", default="", help="basic authentication password")
@_create_options
def create_secret_oci(name: str, **flags: Any) -> CommandResult:
    flags.pop("interval")
    return _run("oci_secret", name, "oci", flags)
