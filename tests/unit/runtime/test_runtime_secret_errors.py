"""The values a real API server quotes when it refuses a Secret never leave the kube layer.

Server-side apply of `stringData: {pin: 73519046}` (a number) is refused with
`.stringData.pin: expected string, got &value.valueUnstructured{Value:73519046}`; that text
went unchanged into the Kustomization's Ready condition. Every error from a Secret path is
now masked where it is translated, keeping the field and the reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from gotk_runtime import KubeClient, KubeError
from gotk_runtime.kube import CONFIG_MAPS, SECRETS
from gotk_runtime.kube.redact import is_secret_path, mask_secret_values

PIN = "73519046"


def _secret(namespace: str, **fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": namespace},
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "kept"),
    [
        ({"stringData": {"pin": int(PIN)}}, ".stringData.pin: expected string"),
        ({"stringData": {"pin": {"nested": PIN}}}, ".stringData.pin: expected string"),
        ({"data": {"pin": True, "other": "c2VjcmV0"}}, ".data.pin: expected string"),
        (
            {"type": "kubernetes.io/dockerconfigjson", "stringData": {".dockerconfigjson": PIN}},
            "data[.dockerconfigjson]",
        ),
    ],
    ids=["number", "mapping", "bool", "dockerconfigjson"],
)
async def test_a_refused_secret_apply_names_the_field_not_the_value(
    kube: KubeClient, namespace: str, fields: dict[str, Any], kept: str
) -> None:
    with pytest.raises(KubeError) as caught:
        await kube.apply(SECRETS, _secret(namespace, **fields), field_manager="test", dry_run=True)
    text = f"{caught.value} {caught.value.message} {caught.value.details}"
    assert PIN not in text
    assert kept in caught.value.message
    assert caught.value.details == {}


async def test_a_configmap_error_is_left_as_the_api_server_wrote_it(
    kube: KubeClient, namespace: str
) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": namespace},
        "data": {"n": int(PIN)},
    }
    with pytest.raises(KubeError, match=PIN):
        await kube.apply(CONFIG_MAPS, cm, field_manager="test", dry_run=True)


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        (
            'Secret "s" is invalid: data[bad key]: Invalid value: "bad key": a valid config key',
            'Secret "s" is invalid: data[bad key]: Invalid value: "***": a valid config key',
        ),
        (
            "failed to create typed patch object (ns/s; /v1, Kind=Secret): .stringData.a: "
            'expected string, got &value.valueUnstructured{Value:map[string]interface {}{"k":"v"}}',
            "failed to create typed patch object (ns/s; /v1, Kind=Secret): .stringData.a: "
            "expected string, got *** (value masked)",
        ),
        (
            'Secret in version "v1" cannot be handled as a Secret: v1.Secret.StringData: '
            'ReadString: expects " or n, but found 0, error found in #10 byte of '
            '...|"secret":0}}|..., bigger context ...|{"stringData":{"secret":0}}|...',
            'Secret in version "v1" cannot be handled as a Secret: v1.Secret.StringData: '
            'ReadString: expects " or n, but found 0, error found in #10 byte of '
            "...|***|..., bigger context ...|***|...",
        ),
        ('secrets "s" is forbidden: User cannot get', 'secrets "s" is forbidden: User cannot get'),
    ],
)
def test_masking_keeps_fields_and_reasons(message: str, masked: str) -> None:
    assert mask_secret_values(message) == masked


@pytest.mark.parametrize(
    ("path", "secret"),
    [
        ("/api/v1/namespaces/ns/secrets/creds", True),
        ("/api/v1/namespaces/ns/secrets", True),
        ("/api/v1/secrets", True),
        ("/api/v1/namespaces/ns/configmaps/secrets", False),
        ("/apis/example.com/v1/namespaces/ns/secrets/x", False),
    ],
)
def test_secret_paths(path: str, secret: bool) -> None:
    assert is_secret_path(path) is secret
