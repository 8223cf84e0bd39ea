"""HelmRelease end to end: the real helm-controller and source-controller against the real
API server, charts from a real Helm HTTP repository, releases checked with the real helm."""

from __future__ import annotations

from fixtures.controllers import condition
from fixtures.helm_controller import HrEnv, decode_release_secret, ready_with


async def test_install_then_values_change_upgrades_and_a_noop_reconcile_makes_no_revision(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0", values={"replicas": 1})
    await hr_env.helm_repository()
    await hr_env.helm_release("app", values={"replicas": 2})

    obj = await hr_env.until("app", ready_with("InstallSucceeded"))
    ns = hr_env.namespace
    status = obj["status"]
    assert condition(obj, "Ready")["message"] == (
        f"Helm install succeeded for release {ns}/app.v1 with chart demo@1.0.0"
    )
    assert condition(obj, "Released")["reason"] == "InstallSucceeded"
    assert status["helmChart"] == f"{ns}/{ns}-app"
    assert status["storageNamespace"] == ns
    assert status["lastAttemptedReleaseAction"] == "install"
    assert status["lastAttemptedRevision"] == "1.0.0"
    assert status["lastAttemptedConfigDigest"].startswith("sha256:")
    assert status["lastAttemptedGeneration"] == 1
    [snapshot] = status["history"]
    assert snapshot["name"] == "app"
    assert snapshot["version"] == 1
    assert snapshot["status"] == "deployed"
    assert snapshot["chartName"] == "demo"
    assert snapshot["chartVersion"] == "1.0.0"
    assert snapshot["appVersion"] == "1.0"
    assert snapshot["configDigest"] == status["lastAttemptedConfigDigest"]
    _, cm = await hr_env.get_cm("app")
    assert cm["data"] == {"replicas": "2"}

    listed = await hr_env.helm_json("list", "-n", ns)
    assert [(r["name"], r["revision"], r["status"]) for r in listed] == [("app", "1", "deployed")]
    values = await hr_env.helm_json("get", "values", "app", "-n", ns)
    assert values == {"replicas": 2}

    await hr_env.patch_spec("app", values={"replicas": 3})
    obj = await hr_env.until("app", ready_with("UpgradeSucceeded"))
    assert condition(obj, "Ready")["message"] == (
        f"Helm upgrade succeeded for release {ns}/app.v2 with chart demo@1.0.0"
    )
    assert [s["version"] for s in obj["status"]["history"]] == [2, 1]
    assert [s["status"] for s in obj["status"]["history"]] == ["deployed", "superseded"]
    assert obj["status"]["lastAttemptedReleaseAction"] == "upgrade"
    _, cm = await hr_env.get_cm("app")
    assert cm["data"] == {"replicas": "3"}

    handled = await hr_env.request_reconcile("app")
    await hr_env.until("app", lambda o: o["status"].get("lastHandledReconcileAt") == handled)
    secrets = await hr_env.release_secrets("app")
    assert [s["metadata"]["labels"]["version"] for s in secrets] == ["1", "2"]
    history = await hr_env.helm_json("history", "app", "-n", ns)
    assert [h["revision"] for h in history] == [1, 2]
    assert decode_release_secret(secrets[-1])["config"] == {"replicas": 3}
    events = await hr_env.event_messages()
    assert "InstallSucceeded: Helm install succeeded" in events
    assert "UpgradeSucceeded: Helm upgrade succeeded" in events
