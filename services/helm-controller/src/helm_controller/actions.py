"""The `helm` command line of each action, from the HelmRelease spec (pure functions).

Flux 2.8's defaults on Helm 4: server-side apply for installs (upgrades and rollbacks
follow the previous release, `auto`), waiting with kstatus (`--wait=watcher`, or
`legacy` with `spec.waitStrategy.name: legacy`, `hookOnly` when waiting is disabled), jobs
waited for unless `disableWaitForJobs`, taking ownership of existing objects unless
`disableTakeOwnership`. CRDs are left to gotk (see `crds.py`) except for a plain install
with the Create policy, which Helm handles itself.
"""

from __future__ import annotations

from gotk_api.helm import HelmRelease

from helm_controller.helm_cli import duration_flag

__all__ = [
    "VALUES",
    "install_args",
    "rollback_args",
    "test_args",
    "uninstall_args",
    "upgrade_args",
]

VALUES = "{values}"
"""Placeholder the CLI runner replaces with the path of the values file."""


def _wait(hr: HelmRelease, disabled: bool) -> str:
    if disabled:
        return "--wait=hookOnly"
    return "--wait=legacy" if hr.get_wait_strategy() == "legacy" else "--wait=watcher"


def install_args(
    hr: HelmRelease, name: str, namespace: str, chart: str, *, replace: bool = False
) -> list[str]:
    spec = hr.get_install()
    args = [
        "install",
        name,
        chart,
        f"--namespace={namespace}",
        f"--values={VALUES}",
        duration_flag(spec.get_timeout(hr.get_timeout())),
        _wait(hr, spec.disable_wait),
        f"--server-side={'true' if spec.get_server_side_apply() else 'false'}",
    ]
    if spec.get_server_side_apply():
        args.append("--force-conflicts")
    if not spec.disable_wait and not spec.disable_wait_for_jobs:
        args.append("--wait-for-jobs")
    if spec.get_crds_policy() != "Create":
        args.append("--skip-crds")
    for flag, on in (
        ("--create-namespace", spec.create_namespace),
        ("--no-hooks", spec.disable_hooks),
        ("--disable-openapi-validation", spec.disable_open_api_validation),
        ("--skip-schema-validation", spec.disable_schema_validation),
        ("--replace", spec.replace or replace),
        ("--take-ownership", not spec.disable_take_ownership),
    ):
        if on:
            args.append(flag)
    return args


def upgrade_args(hr: HelmRelease, name: str, namespace: str, chart: str) -> list[str]:
    spec = hr.get_upgrade()
    server_side = spec.get_server_side_apply()
    args = [
        "upgrade",
        name,
        chart,
        f"--namespace={namespace}",
        f"--values={VALUES}",
        duration_flag(spec.get_timeout(hr.get_timeout())),
        _wait(hr, spec.disable_wait),
        f"--server-side={_ssa(server_side)}",
        f"--history-max={hr.get_max_history()}",
        "--reuse-values" if spec.preserve_values else "--reset-values",
        "--skip-crds",
    ]
    if server_side != "disabled":
        args.append("--force-conflicts")
    if not spec.disable_wait and not spec.disable_wait_for_jobs:
        args.append("--wait-for-jobs")
    for flag, on in (
        ("--force-replace", spec.force),
        ("--cleanup-on-fail", spec.cleanup_on_fail),
        ("--no-hooks", spec.disable_hooks),
        ("--disable-openapi-validation", spec.disable_open_api_validation),
        ("--skip-schema-validation", spec.disable_schema_validation),
        ("--take-ownership", not spec.disable_take_ownership),
    ):
        if on:
            args.append(flag)
    return args


def _ssa(mode: str) -> str:
    return {"enabled": "true", "disabled": "false"}.get(mode, "auto")


def test_args(hr: HelmRelease, name: str, namespace: str) -> list[str]:
    spec = hr.get_test()
    args = [
        "test",
        name,
        f"--namespace={namespace}",
        duration_flag(spec.get_timeout(hr.get_timeout())),
    ]
    for item in spec.get_filters():
        args.append(f"--filter={'!' if item.exclude else ''}name={item.name}")
    return args


def rollback_args(hr: HelmRelease, name: str, namespace: str, version: int) -> list[str]:
    spec = hr.get_rollback()
    server_side = spec.get_server_side_apply()
    args = [
        "rollback",
        name,
        str(version),
        f"--namespace={namespace}",
        duration_flag(spec.get_timeout(hr.get_timeout())),
        _wait(hr, spec.disable_wait),
        f"--server-side={_ssa(server_side)}",
        f"--history-max={hr.get_max_history()}",
    ]
    if server_side != "disabled":
        args.append("--force-conflicts")
    if not spec.disable_wait and not spec.disable_wait_for_jobs:
        args.append("--wait-for-jobs")
    for flag, on in (
        ("--force-replace", spec.force),
        ("--cleanup-on-fail", spec.cleanup_on_fail),
        ("--no-hooks", spec.disable_hooks),
    ):
        if on:
            args.append(flag)
    return args


def uninstall_args(hr: HelmRelease, name: str, namespace: str) -> list[str]:
    spec = hr.get_uninstall()
    args = [
        "uninstall",
        name,
        f"--namespace={namespace}",
        duration_flag(spec.get_timeout(hr.get_timeout())),
        "--wait=hookOnly" if spec.disable_wait else "--wait=watcher",
        f"--cascade={spec.get_deletion_propagation()}",
        "--ignore-not-found",
    ]
    if spec.keep_history:
        args.append("--keep-history")
    if spec.disable_hooks:
        args.append("--no-hooks")
    return args
