"""The Helm release name and namespaces a HelmRelease maps to."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from gotk_api.helm import HelmRelease, shorten_release_name
from helm_controller.errors import InvalidReleaseSpec
from helm_controller.helmrelease import release_target


def _hr(**spec: Any) -> HelmRelease:
    return HelmRelease.model_validate(
        {
            "metadata": {"name": "podinfo", "namespace": "apps"},
            "spec": {"interval": "1h", "chartRef": {"kind": "HelmChart", "name": "c"}, **spec},
        }
    )


def test_release_name_defaults_to_target_namespace_dash_name() -> None:
    assert release_target(_hr()) == ("podinfo", "apps")
    assert release_target(_hr(targetNamespace="prod")) == ("prod-podinfo", "prod")
    assert release_target(_hr(releaseName="web", targetNamespace="prod")) == ("web", "prod")


def test_a_long_release_name_is_shortened_with_a_hash() -> None:
    long_namespace = "n" * 40
    hr = HelmRelease.model_validate(
        {
            "metadata": {"name": "a-very-long-helmrelease-name", "namespace": "apps"},
            "spec": {
                "interval": "1h",
                "targetNamespace": long_namespace,
                "chartRef": {"kind": "HelmChart", "name": "c"},
            },
        }
    )
    full = f"{long_namespace}-a-very-long-helmrelease-name"
    name, namespace = release_target(hr)
    assert namespace == long_namespace
    assert len(name) == 53
    assert name == f"{full[:40]}-{hashlib.sha256(full.encode()).hexdigest()[:12]}"
    assert shorten_release_name("x" * 53) == "x" * 53


def test_a_storage_namespace_other_than_the_target_is_refused_as_stalled() -> None:
    assert release_target(_hr(storageNamespace="apps")) == ("podinfo", "apps")
    with pytest.raises(InvalidReleaseSpec, match=r"spec\.storageNamespace 'other'") as info:
        release_target(_hr(storageNamespace="other"))
    assert info.value.stalling
