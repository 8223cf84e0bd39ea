"""HelmRelease drift detection end to end: objects of a release changed or deleted behind
Helm's back are reported in `warn` mode and put back in `enabled` mode, without a new Helm
revision; ignored paths and excluded objects are left alone."""

from __future__ import annotations

from fixtures.controllers import condition, eventually
from fixtures.helm_controller import HrEnv, ready_with

_OBJECTS = {
    "templates/extra.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\n"
        "data:\n  a: '1'\n  b: '2'\n"
        "---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-keep\n"
        "  annotations:\n    helm.toolkit.fluxcd.io/driftDetection: disabled\n"
        "data:\n  k: original\n"
        "---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-secret\n"
        "stringData:\n  token: s3cr3t\n"
        "---\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  ports:\n  - port: 80\n    targetPort: 8080\n  selector:\n    app: demo\n"
    ),
}


async def _set_data(env: HrEnv, name: str, data: dict[str, str]) -> None:
    await env.call("PATCH", env.core_path(f"configmaps/{name}"), {"data": data})


async def _reconcile(env: HrEnv, name: str) -> None:
    handled = await env.request_reconcile(name)
    await env.until(name, lambda o: o["status"].get("lastHandledReconcileAt") == handled)


async def test_warn_mode_reports_the_changed_field_and_leaves_it(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0", extra_files=_OBJECTS)
    await hr_env.helm_repository()
    ns = hr_env.namespace
    await hr_env.helm_release("app", driftDetection={"mode": "warn"})
    await hr_env.until("app", ready_with("InstallSucceeded"))

    await _reconcile(hr_env, "app")
    assert "DriftDetected" not in await hr_env.event_messages(), "a fresh release has no drift"

    await _set_data(hr_env, "app", {"replicas": "7"})
    await _reconcile(hr_env, "app")

    async def reported() -> str | None:
        events = await hr_env.event_messages()
        return events if "DriftDetected" in events else None

    events = await eventually(reported)
    assert (
        f"DriftDetected: Cluster state of release {ns}/app.v1 has drifted from the desired "
        f"state:\nConfigMap/{ns}/app changed (0 additions, 1 changes, 0 removals): "
        "/data/replicas\n"
    ) in events + "\n"
    _, cm = await hr_env.get_cm("app")
    assert cm["data"] == {"replicas": "7"}, "warn mode changes nothing"
    obj = await hr_env.get("app")
    assert condition(obj, "Ready")["reason"] == "InstallSucceeded"
    assert condition(obj, "Ready")["status"] == "True"
    assert [s["version"] for s in obj["status"]["history"]] == [1]


async def test_enabled_mode_recreates_deleted_and_reverts_changed_objects_but_not_ignored_paths(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0", extra_files=_OBJECTS)
    await hr_env.helm_repository()
    ns = hr_env.namespace
    drift = {
        "mode": "enabled",
        "ignore": [{"paths": ["/data/b"], "target": {"kind": "ConfigMap", "name": ".*-extra"}}],
    }
    await hr_env.helm_release("app", driftDetection=drift)
    await hr_env.until("app", ready_with("InstallSucceeded"))

    await hr_env.call("DELETE", hr_env.core_path("configmaps/app"))
    await _set_data(hr_env, "app-extra", {"a": "changed", "b": "ignored"})
    await _set_data(hr_env, "app-keep", {"k": "mine"})
    await _reconcile(hr_env, "app")

    async def corrected() -> str | None:
        events = await hr_env.event_messages()
        return events if "DriftCorrected" in events else None

    events = await eventually(corrected)
    assert (
        f"DriftDetected: Cluster state of release {ns}/app.v1 has drifted from the desired "
        f"state:\nConfigMap/{ns}/app removed\n"
        f"ConfigMap/{ns}/app-extra changed (0 additions, 1 changes, 0 removals): /data/a\n"
        f"ConfigMap/{ns}/app-keep excluded\n"
    ) in events + "\n"
    assert (
        f"DriftCorrected: Cluster state of release {ns}/app.v1 has been corrected:\n"
        f"ConfigMap/{ns}/app created\nConfigMap/{ns}/app-extra configured\n"
    ) in events + "\n"
    assert "/data/b" not in events

    status, cm = await hr_env.get_cm("app")
    assert (status, cm["data"]) == (200, {"replicas": "1"})
    assert cm["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert cm["metadata"]["annotations"]["meta.helm.sh/release-name"] == "app"
    _, extra = await hr_env.get_cm("app-extra")
    assert extra["data"] == {"a": "1", "b": "ignored"}
    _, keep = await hr_env.get_cm("app-keep")
    assert keep["data"] == {"k": "mine"}

    obj = await hr_env.get("app")
    assert condition(obj, "Ready")["status"] == "True"
    assert condition(obj, "Released")["reason"] == "InstallSucceeded"
    assert [s["version"] for s in obj["status"]["history"]] == [1]
    assert len(await hr_env.release_secrets("app")) == 1, "no Helm revision for a correction"

    # Corrected: the next reconcile finds nothing to report.
    before = (await hr_env.event_messages()).count("DriftDetected")
    await _reconcile(hr_env, "app")
    assert (await hr_env.event_messages()).count("DriftDetected") == before


async def test_an_unparsable_ignore_rule_stalls_the_release(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    drift = {"mode": "warn", "ignore": [{"paths": ["/data"], "target": {"name": "app("}}]}
    await hr_env.helm_release("app", driftDetection=drift)

    obj = await hr_env.until("app", lambda o: condition(o, "Stalled").get("status") == "True")
    assert condition(obj, "Ready")["message"].startswith(
        "spec.driftDetection.ignore[0]: target.name: invalid regular expression 'app(': "
    )
