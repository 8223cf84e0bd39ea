"""The objects `gotk create` makes, field for field as `flux create` makes them.

Each builder returns a plain manifest; ``validated`` parses it with the kind's gotk_api
model first, so a bad flag fails here with the model's message instead of at the API server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_api.registry import find_api_version
from pydantic import ValidationError

from gotk_cli.errors import CliError

__all__ = [
    "Meta",
    "ObjectRef",
    "bucket",
    "git_repository",
    "helm_release",
    "helm_repository",
    "kustomization",
    "oci_repository",
    "validated",
]

SOURCE_API = "source.toolkit.fluxcd.io/v1"
_REF = re.compile(
    r"^(?:(?P<kind>[A-Za-z]+)/)?(?P<name>[a-z0-9]([-a-z0-9]*[a-z0-9])?)(?:\.(?P<ns>[a-z0-9-]+))?$"
)


@dataclass(frozen=True)
class Meta:
    """Name, namespace, labels (`--label k=v`) and the `--interval` every create takes."""

    name: str
    namespace: str
    labels: tuple[str, ...] = ()
    interval: float = 60.0

    def metadata(self) -> Obj:
        metadata: Obj = {"name": self.name, "namespace": self.namespace}
        labels = {}
        for label in self.labels:
            key, sep, value = label.partition("=")
            if not sep or not key:
                raise CliError(f"invalid label {label!r}: expected key=value")
            labels[key] = value
        if labels:
            metadata["labels"] = labels
        return metadata

    def interval_string(self) -> str:
        return format_duration(self.interval)


@dataclass(frozen=True)
class ObjectRef:
    """`[<kind>/]<name>[.<namespace>]`, Flux's syntax for --source, --chart-ref, --depends-on."""

    kind: str
    name: str
    namespace: str | None

    @classmethod
    def parse(cls, text: str, flag: str, kinds: Sequence[str], default_kind: str = "") -> ObjectRef:
        match = _REF.match(text)
        kind = (match.group("kind") if match else None) or default_kind
        if match is None or kind not in kinds:
            wanted = "|".join(kinds)
            raise CliError(f"invalid {flag} {text!r}: expected <{wanted}>/<name>[.<namespace>]")
        return cls(kind, match.group("name"), match.group("ns"))

    def as_source_ref(self) -> Obj:
        ref: Obj = {"kind": self.kind, "name": self.name}
        if self.namespace:
            ref["namespace"] = self.namespace
        return ref


def validated(obj: Obj) -> Obj:
    """``obj`` unchanged, after its kind's model accepted it."""
    model = find_api_version(obj["apiVersion"], obj["kind"])
    try:
        model.model_validate(obj)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CliError(
            f"invalid {obj['kind']} {obj['metadata']['name']}: {where}: {first['msg']}"
        ) from None
    return obj


def _object(api_version: str, kind: str, meta: Meta, spec: Obj) -> Obj:
    return validated(
        {"apiVersion": api_version, "kind": kind, "metadata": meta.metadata(), "spec": spec}
    )


def _ignore(paths: Sequence[str]) -> str | None:
    return "\n".join(paths) if paths else None


def _compact(spec: Obj) -> Obj:
    return {key: value for key, value in spec.items() if value not in (None, "", [], {})}


def git_repository(
    meta: Meta,
    *,
    url: str,
    branch: str = "",
    tag: str = "",
    tag_semver: str = "",
    commit: str = "",
    ref_name: str = "",
    secret_ref: str = "",
    provider: str = "",
    ignore_paths: Sequence[str] = (),
    recurse_submodules: bool = False,
) -> Obj:
    if not url:
        raise CliError("url is required")
    ref = _compact(
        {"branch": branch, "tag": tag, "semver": tag_semver, "commit": commit, "name": ref_name}
    )
    if not ref:
        raise CliError(
            "a Git ref is required, use one of the following:"
            " --branch, --tag, --commit or --tag-semver"
        )
    spec = _compact(
        {
            "url": url,
            "interval": meta.interval_string(),
            "ref": ref,
            "secretRef": {"name": secret_ref} if secret_ref else None,
            "provider": provider if provider and provider != "generic" else None,
            "ignore": _ignore(ignore_paths),
            "recurseSubmodules": recurse_submodules or None,
        }
    )
    return _object(SOURCE_API, "GitRepository", meta, spec)


def oci_repository(
    meta: Meta,
    *,
    url: str,
    tag: str = "",
    tag_semver: str = "",
    digest: str = "",
    secret_ref: str = "",
    provider: str = "",
    ignore_paths: Sequence[str] = (),
    insecure: bool = False,
) -> Obj:
    if not url:
        raise CliError("url is required")
    ref = _compact({"tag": tag, "semver": tag_semver, "digest": digest})
    if not ref:
        raise CliError("one of --tag, --tag-semver or --digest is required")
    spec = _compact(
        {
            "url": url,
            "interval": meta.interval_string(),
            "ref": ref,
            "secretRef": {"name": secret_ref} if secret_ref else None,
            "provider": provider if provider and provider != "generic" else None,
            "ignore": _ignore(ignore_paths),
            "insecure": insecure or None,
        }
    )
    return _object(SOURCE_API, "OCIRepository", meta, spec)


def helm_repository(
    meta: Meta, *, url: str, secret_ref: str = "", oci_provider: str = "", insecure: bool = False
) -> Obj:
    if not url:
        raise CliError("url is required")
    oci = url.startswith("oci://")
    spec = _compact(
        {
            "url": url,
            "interval": meta.interval_string(),
            "type": "oci" if oci else None,
            "provider": oci_provider
            if oci and oci_provider and oci_provider != "generic"
            else None,
            "secretRef": {"name": secret_ref} if secret_ref else None,
            "insecure": insecure or None,
        }
    )
    return _object(SOURCE_API, "HelmRepository", meta, spec)


def bucket(
    meta: Meta,
    *,
    bucket_name: str,
    endpoint: str,
    provider: str = "generic",
    region: str = "",
    insecure: bool = False,
    secret_ref: str = "",
    ignore_paths: Sequence[str] = (),
) -> Obj:
    if not bucket_name or not endpoint:
        raise CliError("--bucket-name and --endpoint are required")
    spec = _compact(
        {
            "bucketName": bucket_name,
            "endpoint": endpoint,
            "provider": provider,
            "region": region,
            "insecure": insecure or None,
            "interval": meta.interval_string(),
            "secretRef": {"name": secret_ref} if secret_ref else None,
            "ignore": _ignore(ignore_paths),
        }
    )
    return _object(SOURCE_API, "Bucket", meta, spec)


def _depends_on(refs: Sequence[str]) -> list[Obj] | None:
    result = []
    for ref in refs:
        namespace, sep, name = ref.rpartition("/")
        result.append({"name": name, "namespace": namespace} if sep else {"name": name})
    return result or None


def kustomization(
    meta: Meta,
    *,
    source: str,
    path: str = "./",
    prune: bool = False,
    wait: bool = False,
    health_checks: Sequence[str] = (),
    health_check_timeout: float = 120.0,
    depends_on: Sequence[str] = (),
    service_account: str = "",
    target_namespace: str = "",
    decryption_provider: str = "",
    decryption_secret: str = "",
    retry_interval: float = 0.0,
) -> Obj:
    if not source:
        raise CliError("--source is required")
    ref = ObjectRef.parse(
        source, "--source", ("GitRepository", "OCIRepository", "Bucket"), "GitRepository"
    )
    checks = []
    for check in health_checks:
        kind, _, rest = check.partition("/")
        name, _, namespace = rest.partition(".")
        if not kind or not name or not namespace:
            raise CliError(f"invalid --health-check {check!r}: expected <kind>/<name>.<namespace>")
        api_version = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1"}
        checks.append(
            {
                "apiVersion": api_version.get(kind, "v1"),
                "kind": kind,
                "name": name,
                "namespace": namespace,
            }
        )
    decryption = None
    if decryption_provider:
        decryption = _compact(
            {
                "provider": decryption_provider,
                "secretRef": {"name": decryption_secret} if decryption_secret else None,
            }
        )
    spec = _compact(
        {
            "interval": meta.interval_string(),
            "path": path,
            "sourceRef": ref.as_source_ref(),
            "wait": wait or None,
            "healthChecks": checks,
            "timeout": format_duration(health_check_timeout) if checks or wait else None,
            "dependsOn": _depends_on(depends_on),
            "serviceAccountName": service_account,
            "targetNamespace": target_namespace,
            "decryption": decryption,
            "retryInterval": format_duration(retry_interval) if retry_interval else None,
        }
    )
    spec["prune"] = prune  # Flux always writes it: the field has no omitempty
    return _object("kustomize.toolkit.fluxcd.io/v1", "Kustomization", meta, spec)


def helm_release(
    meta: Meta,
    *,
    source: str = "",
    chart: str = "",
    chart_version: str = "",
    chart_ref: str = "",
    release_name: str = "",
    target_namespace: str = "",
    storage_namespace: str = "",
    create_target_namespace: bool = False,
    depends_on: Sequence[str] = (),
    service_account: str = "",
    reconcile_strategy: str = "ChartVersion",
    chart_interval: float = 0.0,
    values: Obj | None = None,
    values_from: Sequence[str] = (),
    crds: str = "",
) -> Obj:
    if chart_ref and (source or chart):
        raise CliError("--chart-ref cannot be combined with --source or --chart")
    spec: Obj = {"interval": meta.interval_string()}
    if chart_ref:
        ref = ObjectRef.parse(chart_ref, "--chart-ref", ("OCIRepository", "HelmChart"))
        spec["chartRef"] = ref.as_source_ref()
    else:
        if not source or not chart:
            raise CliError("--source and --chart are required (or --chart-ref)")
        ref = ObjectRef.parse(source, "--source", ("HelmRepository", "GitRepository", "Bucket"))
        spec["chart"] = {
            "spec": _compact(
                {
                    "chart": chart,
                    "version": chart_version,
                    "sourceRef": ref.as_source_ref(),
                    "reconcileStrategy": reconcile_strategy,
                    "interval": format_duration(chart_interval) if chart_interval else None,
                }
            )
        }
    install: Obj = {}
    upgrade: Obj = {}
    if create_target_namespace:
        install["createNamespace"] = True
    if crds:
        install["crds"] = crds
        upgrade["crds"] = crds
    values_refs = []
    for item in values_from:
        ref = ObjectRef.parse(item, "--values-from", ("Secret", "ConfigMap"))
        values_refs.append({"kind": ref.kind, "name": ref.name})
    spec.update(
        _compact(
            {
                "releaseName": release_name,
                "targetNamespace": target_namespace,
                "storageNamespace": storage_namespace,
                "dependsOn": _depends_on(depends_on),
                "serviceAccountName": service_account,
                "install": install,
                "upgrade": upgrade,
                "values": values,
                "valuesFrom": values_refs,
            }
        )
    )
    return _object("helm.toolkit.fluxcd.io/v2", "HelmRelease", meta, spec)
