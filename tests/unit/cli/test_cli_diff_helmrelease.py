"""`gotk diff helmrelease` against the real source- and helm-controllers and a real chart
repository: nothing to do right after a release, then the change a values edit would make."""

from __future__ import annotations

from fixtures.cli import Gotk, assert_snapshot
from fixtures.helm_controller import HrEnv, ready_with


async def test_diff_helmrelease_shows_what_the_next_upgrade_changes(
    gotk: Gotk, hr_env: HrEnv
) -> None:
    ns = hr_env.namespace
    await hr_env.repo.add_chart(
        "demo",
        "1.0.0",
        extra_files={
            "templates/hook.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-hook\n"
                "  annotations:\n    helm.sh/hook: pre-upgrade\n"
            ),
            "templates/extra.yaml": (
                "{{ if .Values.extra }}apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                "  name: {{ .Release.Name }}-extra\n{{ end }}"
            ),
        },
    )
    await hr_env.helm_repository()
    await hr_env.configmap("app-values", {"values.yaml": "replicas: 2\nextra: true\n"})
    await hr_env.helm_release(
        "app",
        valuesFrom=[{"kind": "ConfigMap", "name": "app-values"}],
        commonMetadata={"labels": {"team": "a"}},
    )
    await hr_env.until("app", ready_with("InstallSucceeded"))

    same = await gotk("diff", "helmrelease", "app", "-n", ns)
    assert (same.code, same.err) == (0, ""), same.out
    assert same.out.splitlines() == [
        f"► ConfigMap/{ns}/app unchanged",
        f"► ConfigMap/{ns}/app-extra unchanged",
    ]

    # A values change the controller has not acted on yet (the interval is an hour).
    await hr_env.call(
        "PUT",
        hr_env.core_path("configmaps/app-values"),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "app-values"},
            "data": {"values.yaml": "replicas: 3\nextra: false\n"},
        },
    )
    changed = await gotk("diff", "hr", "app", "-n", ns)
    assert changed.code == 1
    assert changed.err == "✗ identified at least one change, exiting with non-zero exit code\n"
    assert_snapshot("diff_hr", changed.out, ns=ns)


async def test_diff_helmrelease_names_a_chart_that_is_not_ready(gotk: Gotk, hr_env: HrEnv) -> None:
    await hr_env.helm_release("orphan", chart="missing")
    result = await gotk("diff", "hr", "orphan", "-n", hr_env.namespace)
    assert result.code == 1
    assert result.err.startswith(
        f"✗ cannot get the chart of HelmRelease {hr_env.namespace}/orphan: "
    ), result.err
