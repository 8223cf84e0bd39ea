"""The source kinds parse Flux's documented manifests and enforce Flux's rules in Python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from gotk_api import (
    Bucket,
    GitRepository,
    HelmChart,
    HelmRepository,
    OCIRepository,
    find_api_version,
)
from gotk_api.source_git import GitRepositoryRef
from gotk_api.source_oci import OCILayerSelector, OCIRepositoryRef
from pydantic import ValidationError

DOCS = Path(__file__).resolve().parents[2] / "fixtures" / "flux-docs" / "source"


def _documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(DOCS.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


DOCUMENTS = _documents()


def test_every_source_kind_has_documented_examples() -> None:
    kinds = {doc["kind"] for doc in DOCUMENTS}
    assert kinds == {"GitRepository", "OCIRepository", "HelmRepository", "HelmChart", "Bucket"}


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_documented_manifest_parses_and_round_trips(doc: dict[str, Any]) -> None:
    model = find_api_version(doc["apiVersion"], doc["kind"])
    obj = model.model_validate(doc)
    manifest = obj.to_manifest()
    for key, value in doc["spec"].items():
        assert manifest["spec"][key] == value, key
    assert model.model_validate(manifest) == obj


def _git(**spec: Any) -> dict[str, Any]:
    return {"spec": {"url": "https://example.com/repo", "interval": "1m", **spec}}


def _bucket(**spec: Any) -> dict[str, Any]:
    return {"spec": {"bucketName": "b", "endpoint": "e.example.com", "interval": "1m", **spec}}


REJECTED = [
    (GitRepository, _git(interval=5), "spec.interval"),
    (GitRepository, _git(interval="5 minutes"), "spec.interval"),
    (GitRepository, _git(timeout="1h"), "spec.timeout"),
    (GitRepository, _git(url="ftp://example.com/repo"), "spec.url"),
    (GitRepository, _git(provider="gitlab"), "spec.provider"),
    (GitRepository, {"spec": {"interval": "1m"}}, "spec.url"),
    (GitRepository, _git(verify={"mode": "HEAD"}), "spec.verify.secretRef"),
    (GitRepository, _git(serviceAccountName="sa"), "serviceAccountName can only be set"),
    (GitRepository, _git(provider="github", serviceAccountName="sa"), "provider is 'azure'"),
    (OCIRepository, {"spec": {"url": "https://x", "interval": "1m"}}, "spec.url"),
    (
        OCIRepository,
        {"spec": {"url": "oci://x", "interval": "1m", "layerSelector": {"operation": "move"}}},
        "spec.layerSelector.operation",
    ),
    (HelmRepository, {"spec": {"url": "https://x", "type": "git"}}, "spec.type"),
    (HelmChart, {"spec": {"chart": "c", "interval": "1m"}}, "spec.sourceRef"),
    (
        HelmChart,
        {
            "spec": {
                "chart": "c",
                "interval": "1m",
                "sourceRef": {"kind": "GitRepository", "name": "g"},
                "verify": {"provider": "cosign"},
            }
        },
        "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'",
    ),
    (Bucket, _bucket(provider="gcp", sts={"provider": "aws", "endpoint": "https://s"}), "STS"),
    (Bucket, _bucket(provider="aws", sts={"provider": "ldap", "endpoint": "https://s"}), "'aws'"),
    (Bucket, _bucket(sts={"provider": "aws", "endpoint": "https://s"}), "'ldap'"),
    (
        Bucket,
        _bucket(
            provider="aws",
            sts={"provider": "aws", "endpoint": "https://s", "secretRef": {"name": "x"}},
        ),
        "spec.sts.secretRef is not required",
    ),
    (Bucket, _bucket(serviceAccountName="sa"), "ServiceAccountName is not supported"),
    (
        Bucket,
        _bucket(provider="aws", serviceAccountName="sa", secretRef={"name": "s"}),
        "cannot set both",
    ),
]


def _located(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        parts.append(".".join(str(p) for p in item["loc"]) + ": " + item["msg"])
    return "\n".join(parts)


@pytest.mark.parametrize(("model", "raw", "expected"), REJECTED, ids=lambda v: str(v)[:60])
def test_model_rejects_what_flux_rejects(model: Any, raw: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(raw)
    assert expected in _located(info.value)


def test_git_repository_without_ref_checks_out_master() -> None:
    repo = GitRepository.model_validate(_git())
    assert repo.spec.ref is None
    assert repo.spec.effective_ref() == GitRepositoryRef(branch="master")
    pinned = GitRepository.model_validate(_git(ref={"tag": "v1"}))
    assert pinned.spec.effective_ref() == GitRepositoryRef(tag="v1")


def test_oci_repository_defaults_to_latest_tag_and_extract() -> None:
    repo = OCIRepository.model_validate({"spec": {"url": "oci://x", "interval": "1m"}})
    assert repo.spec.effective_ref() == OCIRepositoryRef(tag="latest")
    assert repo.spec.provider == "generic"
    assert OCILayerSelector(media_type="m").effective_operation() == "extract"
    filtered = OCIRepositoryRef(semver_filter=".*-rc")
    repo.spec.ref = filtered
    assert repo.spec.effective_ref() == OCIRepositoryRef(semver_filter=".*-rc", tag="latest")
    repo.spec.ref = OCIRepositoryRef(digest="sha256:ab")
    assert repo.spec.effective_ref().digest == "sha256:ab"


def test_helm_repository_falls_back_to_one_minute_interval_and_timeout() -> None:
    repo = HelmRepository.model_validate({"spec": {"url": "https://charts.example.com"}})
    assert repo.spec.interval_seconds() == 60.0
    assert repo.spec.timeout_seconds() == 60.0
    repo = HelmRepository.model_validate(
        {"spec": {"url": "https://x", "interval": "10m", "timeout": "1m30s"}}
    )
    assert (repo.spec.interval_seconds(), repo.spec.timeout_seconds()) == (600.0, 90.0)


def test_helm_chart_defaults_version_and_strategy_like_the_crd() -> None:
    chart = HelmChart.model_validate(
        {
            "spec": {
                "chart": "podinfo",
                "interval": "1m",
                "sourceRef": {"kind": "HelmRepository", "name": "p"},
            }
        }
    )
    assert (chart.spec.version, chart.spec.reconcile_strategy) == ("*", "ChartVersion")
