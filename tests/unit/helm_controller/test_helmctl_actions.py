"""The helm command lines built from a HelmRelease spec, and Helm's error line."""

from __future__ import annotations

from typing import Any

from gotk_api.helm import HelmRelease
from helm_controller import actions
from helm_controller.helm_cli import error_line


def _hr(**spec: Any) -> HelmRelease:
    return HelmRelease.model_validate(
        {
            "metadata": {"name": "app", "namespace": "ns"},
            "spec": {"interval": "1h", "chartRef": {"kind": "HelmChart", "name": "c"}, **spec},
        }
    )


def test_install_defaults_follow_flux_2_8_on_helm_4() -> None:
    assert actions.install_args(_hr(), "app", "ns", "/c.tgz") == [
        "install",
        "app",
        "/c.tgz",
        "--namespace=ns",
        "--values={values}",
        "--timeout=5m0s",
        "--wait=watcher",
        "--server-side=true",
        "--force-conflicts",
        "--wait-for-jobs",
        "--take-ownership",
    ]


def test_install_options_map_to_flags() -> None:
    hr = _hr(
        timeout="1m",
        waitStrategy={"name": "legacy"},
        install={
            "timeout": "30s",
            "createNamespace": True,
            "crds": "Skip",
            "disableHooks": True,
            "disableOpenAPIValidation": True,
            "disableTakeOwnership": True,
            "serverSideApply": False,
            "disableWaitForJobs": True,
        },
    )
    args = actions.install_args(hr, "app", "ns", "/c.tgz", replace=True)
    assert "--timeout=30s" in args
    assert "--wait=legacy" in args
    assert "--server-side=false" in args
    assert "--force-conflicts" not in args
    assert "--wait-for-jobs" not in args
    assert "--take-ownership" not in args
    for flag in ("--create-namespace", "--skip-crds", "--no-hooks", "--replace"):
        assert flag in args
    assert "--disable-openapi-validation" in args


def test_upgrade_options_map_to_flags() -> None:
    hr = _hr(
        maxHistory=0,
        upgrade={
            "force": True,
            "preserveValues": True,
            "cleanupOnFail": True,
            "disableWait": True,
            "serverSideApply": "disabled",
        },
    )
    args = actions.upgrade_args(hr, "app", "ns", "/c.tgz")
    assert args[:3] == ["upgrade", "app", "/c.tgz"]
    for flag in (
        "--history-max=0",
        "--reuse-values",
        "--force-replace",
        "--cleanup-on-fail",
        "--wait=hookOnly",
        "--server-side=false",
        "--skip-crds",
    ):
        assert flag in args
    assert "--wait-for-jobs" not in args
    defaults = actions.upgrade_args(_hr(), "app", "ns", "/c.tgz")
    assert "--history-max=5" in defaults
    assert "--reset-values" in defaults
    assert "--server-side=auto" in defaults


def test_test_uninstall_and_rollback_flags() -> None:
    hr = _hr(
        test={"enable": True, "filters": [{"name": "a"}, {"name": "b", "exclude": True}]},
        uninstall={"keepHistory": True, "deletionPropagation": "orphan", "disableWait": True},
    )
    assert actions.test_args(hr, "app", "ns") == [
        "test",
        "app",
        "--namespace=ns",
        "--timeout=5m0s",
        "--filter=name=a",
        "--filter=!name=b",
    ]
    uninstall = actions.uninstall_args(hr, "app", "ns")
    assert "--keep-history" in uninstall
    assert "--cascade=orphan" in uninstall
    assert "--wait=hookOnly" in uninstall
    assert actions.rollback_args(hr, "app", "ns", 3)[:3] == ["rollback", "app", "3"]


def test_error_line_is_helms_last_error_without_the_action_prefix() -> None:
    stderr = (
        "level=WARN msg=something\n"
        "Error: INSTALLATION FAILED: template: demo/templates/x.yaml:3:4: executing ...\n"
    )
    assert error_line(stderr) == "template: demo/templates/x.yaml:3:4: executing ..."
    assert error_line("plain failure\n\n") == "plain failure"
    assert error_line("") == ""


def test_error_line_masks_the_values_the_api_server_quotes_from_a_secret() -> None:
    """Helm 4 applies server-side; the API server's refusal quotes the Secret's value."""
    stderr = (
        "Error: INSTALLATION FAILED: failed to create typed patch object (ns/db; /v1, "
        "Kind=Secret): .stringData.pin: expected string, got "
        "&value.valueUnstructured{Value:73519046}\n"
    )
    line = error_line(stderr)
    assert "73519046" not in line
    assert line.endswith(".stringData.pin: expected string, got *** (value masked)")
