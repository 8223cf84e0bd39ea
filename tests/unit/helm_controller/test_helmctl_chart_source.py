"""The chart source a HelmRelease names: an ExternalArtifact only behind its feature gate."""

from __future__ import annotations

from typing import cast

import pytest
from gotk_api.errors import GotkError
from gotk_api.helm import HelmRelease
from gotk_runtime import KubeClient
from helm_controller.chart import get_chart_artifact


async def test_an_external_artifact_needs_the_feature_gate() -> None:
    hr = HelmRelease.model_validate(
        {
            "metadata": {"name": "app", "namespace": "ns"},
            "spec": {"interval": "1h", "chartRef": {"kind": "ExternalArtifact", "name": "gen"}},
        }
    )
    with pytest.raises(GotkError) as info:
        await get_chart_artifact(
            cast(KubeClient, None), hr, None, no_cross_namespace_refs=False, requeue_after=30
        )
    assert info.value.reason == "FeatureGateDisabled"
    assert info.value.stalling
    assert str(info.value) == (
        "spec.chartRef: ExternalArtifact 'ns/gen' cannot be used: the ExternalArtifact feature "
        "gate is disabled (enable it with --feature-gates=ExternalArtifact=true)"
    )
