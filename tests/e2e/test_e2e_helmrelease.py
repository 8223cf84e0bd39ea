"""HelmRelease end to end: the real helm-controller and source-controller against the real
API server, charts from a real Helm HTTP repository, releases checked with the real helm."""

from __future__ import annotations

import base64
import gzip
import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fixtures.controllers import condition, eventually
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
    assert status["inventory"]["entries"] == [{"id": f"{ns}_app__ConfigMap", "v": "v1"}]
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
    # One event per action, as Flux: Ready changing adds none.
    assert await hr_env.event_count("InstallSucceeded") == 1
    assert await hr_env.event_count("UpgradeSucceeded") == 1


async def test_values_from_configmap_and_secret_merge_in_order_then_inline_values(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart(
        "demo",
        "1.0.0",
        extra_files={
            "templates/values.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-values\n"
                "data:\n  values.json: {{ toJson .Values | quote }}\n"
            )
        },
    )
    await hr_env.helm_repository()
    await hr_env.configmap("base", {"values.yaml": "replicas: 5\nimage:\n  tag: a\n  pull: x\n"})
    await hr_env.secret("override", {"custom.yaml": "image:\n  tag: b\n", "token": "s3cr3t"})
    values_from = [
        {"kind": "ConfigMap", "name": "base"},
        {"kind": "Secret", "name": "override", "valuesKey": "custom.yaml"},
        {"kind": "Secret", "name": "override", "valuesKey": "token", "targetPath": "auth.token"},
        {"kind": "ConfigMap", "name": "absent", "optional": True},
        {"kind": "Secret", "name": "override", "valuesKey": "nokey", "optional": True},
    ]
    await hr_env.helm_release("app", valuesFrom=values_from, values={"image": {"pull": "y"}})

    await hr_env.until("app", ready_with("InstallSucceeded"))
    values = await hr_env.helm_json("get", "values", "app", "-n", hr_env.namespace)
    assert values == {
        "replicas": 5,
        "image": {"tag": "b", "pull": "y"},
        "auth": {"token": "s3cr3t"},
    }

    await hr_env.patch_spec("app", valuesFrom=[*values_from, {"kind": "Secret", "name": "gone"}])
    obj = await hr_env.until("app", ready_with("InitFailed", "False"))
    assert condition(obj, "Ready")["message"] == (
        f"could not find Secret '{hr_env.namespace}/gone' referenced by spec.valuesFrom[5]"
    )
    secrets = await hr_env.release_secrets("app")
    assert len(secrets) == 1, "a values error makes no Helm revision"

    await hr_env.secret("gone", {"values.yaml": "replicas: 7\n"})
    await hr_env.request_reconcile("app")
    await hr_env.until("app", ready_with("UpgradeSucceeded"))
    values = await hr_env.helm_json("get", "values", "app", "-n", hr_env.namespace)
    assert values["replicas"] == 7


async def test_values_that_break_a_template_fail_the_install_naming_the_template(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart(
        "demo",
        "1.0.0",
        extra_files={
            "templates/guard.yaml": (
                '{{- if .Values.broken }}{{ fail "broken on purpose" }}{{ end }}\n'
            )
        },
    )
    await hr_env.helm_repository()
    await hr_env.helm_release("app", values={"broken": True})

    obj = await hr_env.until("app", lambda o: condition(o, "Stalled").get("status") == "True")
    ready = condition(obj, "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "InstallFailed"
    assert ready["message"].startswith(
        f"Helm install failed for release {hr_env.namespace}/app with chart demo@1.0.0: "
    )
    assert "demo/templates/guard.yaml:1:" in ready["message"]
    assert "broken on purpose" in ready["message"]
    assert "\n" not in ready["message"]
    assert condition(obj, "Released")["reason"] == "InstallFailed"
    assert condition(obj, "Stalled")["reason"] == "RetriesExceeded"
    assert condition(obj, "Stalled")["message"] == "Failed to install after 1 attempt(s)"
    assert obj["status"]["installFailures"] == 1
    assert obj["status"]["failures"] == 1
    assert await hr_env.release_secrets("app") == []

    await hr_env.patch_spec("app", values={"broken": False})
    obj = await hr_env.until("app", ready_with("InstallSucceeded"))
    assert "installFailures" not in obj["status"]
    assert condition(obj, "Stalled") == {}


async def test_a_chart_version_that_does_not_exist_reports_the_helmchart_failure(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    await hr_env.helm_release("app", version="9.9.9")

    def chart_not_ready(obj: dict[str, object]) -> bool:
        ready = condition(obj, "Ready")
        return ready.get("reason") == "ArtifactFailed" and "9.9.9" in ready.get("message", "")

    obj = await hr_env.until("app", chart_not_ready)
    ns = hr_env.namespace
    message = condition(obj, "Ready")["message"]
    assert message.startswith(f"HelmChart '{ns}/{ns}-app' is not ready: ")
    assert condition(obj, "Ready")["status"] == "False"

    await hr_env.patch_spec(
        "app",
        chart={
            "spec": {
                "chart": "demo",
                "version": "1.0.0",
                "sourceRef": {"kind": "HelmRepository", "name": "charts"},
            }
        },
    )
    await hr_env.until("app", ready_with("InstallSucceeded"))


async def test_deleting_the_helmrelease_uninstalls_and_deletes_its_helmchart(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    await hr_env.helm_release("app")
    await hr_env.until("app", ready_with("InstallSucceeded"))
    ns = hr_env.namespace
    assert (await hr_env.get_cm("app"))[0] == 200

    await hr_env.call("DELETE", hr_env.hr_path("app"))

    async def gone() -> bool:
        status, _ = await hr_env.cluster.request("GET", hr_env.hr_path("app"))
        return status == 404

    await eventually(gone, timeout=60)
    assert (await hr_env.get_cm("app"))[0] == 404
    assert await hr_env.release_secrets("app") == []
    status, _ = await hr_env.cluster.request(
        "GET", f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{ns}/helmcharts/{ns}-app"
    )
    assert status == 404
    assert "UninstallSucceeded: Helm uninstall succeeded for release" in (
        await hr_env.event_messages()
    )


async def test_deleting_a_suspended_helmrelease_leaves_the_release_installed(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    await hr_env.helm_release("app")
    await hr_env.until("app", ready_with("InstallSucceeded"))
    await hr_env.patch_spec("app", suspend=True)
    await hr_env.call("DELETE", hr_env.hr_path("app"))

    async def gone() -> bool:
        status, _ = await hr_env.cluster.request("GET", hr_env.hr_path("app"))
        return status == 404

    await eventually(gone, timeout=60)
    assert (await hr_env.get_cm("app"))[0] == 200
    listed = await hr_env.helm_json("list", "-n", hr_env.namespace)
    assert [(r["name"], r["status"]) for r in listed] == [("app", "deployed")]


async def test_a_release_installed_by_hand_is_adopted_with_an_upgrade(hr_env: HrEnv) -> None:
    archive = await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    ns = hr_env.namespace
    await hr_env.helm("install", "app", str(archive), "-n", ns, "--set", "replicas=9")

    await hr_env.helm_release("app", values={"replicas": 4})
    obj = await hr_env.until("app", ready_with("UpgradeSucceeded"))
    assert condition(obj, "Ready")["message"] == (
        f"Helm upgrade succeeded for release {ns}/app.v2 with chart demo@1.0.0"
    )
    assert [s["version"] for s in obj["status"]["history"]] == [2, 1]
    _, cm = await hr_env.get_cm("app")
    assert cm["data"] == {"replicas": "4"}
    history = await hr_env.helm_json("history", "app", "-n", ns)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]


_TEST_HOOKS = {
    "templates/test-ok.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-test-ok\n"
        "  annotations:\n    helm.sh/hook: test\ndata:\n  ok: 'true'\n"
    ),
    "templates/test-broken.yaml": (
        "{{- if .Values.failTest }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        "  name: {{ .Release.Name }}-Test-Broken\n  annotations:\n    helm.sh/hook: test\n"
        "{{- end }}\n"
    ),
}


async def test_helm_tests_run_after_install_and_a_failing_test_hook_stalls(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0", extra_files=_TEST_HOOKS)
    await hr_env.helm_repository()
    ns = hr_env.namespace
    await hr_env.helm_release("app", test={"enable": True})

    obj = await hr_env.until("app", ready_with("TestSucceeded"))
    assert condition(obj, "Ready")["message"] == (
        f"Helm test succeeded for release {ns}/app.v1 with chart demo@1.0.0: "
        "1 test hook completed successfully"
    )
    assert condition(obj, "Released")["reason"] == "InstallSucceeded"
    hooks = obj["status"]["history"][0]["testHooks"]
    assert hooks["app-test-ok"]["phase"] == "Succeeded"

    await hr_env.helm_release("bad", test={"enable": True}, values={"failTest": True})
    obj = await hr_env.until("bad", lambda o: condition(o, "Stalled").get("status") == "True")
    ready = condition(obj, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "TestFailed")
    assert ready["message"].startswith(
        f"Helm test failed for release {ns}/bad.v1 with chart demo@1.0.0: "
    )
    assert "bad-Test-Broken" in ready["message"]
    assert condition(obj, "Stalled")["reason"] == "RetriesExceeded"
    assert obj["status"]["installFailures"] == 1
    assert obj["status"]["history"][0]["testHooks"]["bad-Test-Broken"]["phase"] == "Failed"
    assert "TestFailed: Helm test failed for release" in await hr_env.event_messages()


_BAD_KEY = {
    "templates/bad.yaml": (
        "{{- if .Values.badKey }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        "  name: {{ .Release.Name }}-bad\ndata:\n  'bad key!': x\n{{- end }}\n"
    )
}


async def test_a_failed_upgrade_is_rolled_back_until_retries_are_exhausted(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0", extra_files=_BAD_KEY)
    await hr_env.helm_repository()
    ns = hr_env.namespace
    await hr_env.helm_release("app", upgrade={"remediation": {"retries": 1}})
    await hr_env.until("app", ready_with("InstallSucceeded"))

    await hr_env.patch_spec("app", values={"badKey": True})
    obj = await hr_env.until(
        "app", lambda o: condition(o, "Stalled").get("status") == "True", timeout=120
    )
    assert condition(obj, "Stalled")["reason"] == "RetriesExceeded"
    assert condition(obj, "Stalled")["message"] == "Failed to upgrade after 2 attempt(s)"
    remediated = condition(obj, "Remediated")
    assert (remediated["status"], remediated["reason"]) == ("True", "RollbackSucceeded")
    assert remediated["message"] == (
        f"Helm rollback to previous release {ns}/app.v3 with chart demo@1.0.0 succeeded"
    )
    ready = condition(obj, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "RollbackSucceeded")
    assert condition(obj, "Released")["reason"] == "UpgradeFailed"
    assert "bad key!" in condition(obj, "Released")["message"]
    assert obj["status"]["upgradeFailures"] == 2
    history = await hr_env.helm_json("history", "app", "-n", ns)
    assert [(h["revision"], h["status"]) for h in history] == [
        (1, "superseded"),
        (2, "failed"),
        (3, "superseded"),
        (4, "failed"),
        (5, "deployed"),
    ]
    assert [h["description"].split()[0] for h in history][2] == "Rollback"
    events = await hr_env.event_messages()
    assert "UpgradeFailed: Helm upgrade failed for release" in events
    assert "RollbackSucceeded: Helm rollback to previous release" in events
    # Each action's own event, once: not again as a Warning when Ready is summarised.
    assert await hr_env.event_count("RollbackSucceeded") == 2
    assert await hr_env.event_count("UpgradeFailed") == 2


async def test_a_release_left_pending_is_unlocked_once_stale_and_upgraded(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0")
    await hr_env.helm_repository()
    ns = hr_env.namespace
    await hr_env.helm_release("app", values={"replicas": 1})
    await hr_env.until("app", ready_with("InstallSucceeded"))

    # A controller killed in the middle of `helm upgrade` leaves revision 2 pending-upgrade.
    [first] = await hr_env.release_secrets("app")
    release = decode_release_secret(first)
    release["version"] = 2
    release["config"] = {"replicas": 2}
    release["info"]["status"] = "pending-upgrade"
    release["info"]["description"] = "Preparing upgrade"
    release["info"]["last_deployed"] = datetime.now(UTC).isoformat()
    await _write_release_secret(hr_env, release, create=True)

    await hr_env.request_reconcile("app")
    obj = await hr_env.until("app", ready_with("PendingRelease", "False"))
    message = condition(obj, "Ready")["message"]
    assert message.startswith(f"release {ns}/app.v2 is pending-upgrade since ")
    assert "a Helm action may still be running" in message

    stale = datetime.now(UTC) - timedelta(hours=1)
    release["info"]["last_deployed"] = stale.isoformat()
    await _write_release_secret(hr_env, release, create=False)
    await hr_env.request_reconcile("app")
    obj = await hr_env.until("app", ready_with("UpgradeSucceeded"))
    assert condition(obj, "Ready")["message"] == (
        f"Helm upgrade succeeded for release {ns}/app.v3 with chart demo@1.0.0"
    )
    history = await hr_env.helm_json("history", "app", "-n", ns)
    assert [(h["revision"], h["status"]) for h in history] == [
        (1, "superseded"),
        (2, "failed"),
        (3, "deployed"),
    ]
    assert history[1]["description"] == "Release unlocked from stale 'pending-upgrade' state"
    events = await hr_env.event_messages()
    assert f"PendingRelease: Unlocked Helm release {ns}/app.v2 with chart demo@1.0.0" in events


async def _write_release_secret(hr_env: HrEnv, release: dict[str, Any], *, create: bool) -> None:
    name = f"sh.helm.release.v1.{release['name']}.v{release['version']}"
    payload = base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": name,
            "labels": {
                "name": release["name"],
                "owner": "helm",
                "status": release["info"]["status"],
                "version": str(release["version"]),
            },
        },
        "data": {"release": base64.b64encode(payload.encode()).decode()},
    }
    if create:
        await hr_env.call("POST", hr_env.core_path("secrets"), body)
    else:
        await hr_env.call("PUT", hr_env.core_path(f"secrets/{name}"), body)


async def test_a_failed_install_is_uninstalled_then_retried_until_retries_are_exhausted(
    hr_env: HrEnv,
) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0", extra_files=_BAD_KEY)
    await hr_env.helm_repository()
    ns = hr_env.namespace
    await hr_env.helm_release(
        "app", values={"badKey": True}, install={"remediation": {"retries": 1}}
    )
    obj = await hr_env.until(
        "app", lambda o: condition(o, "Stalled").get("status") == "True", timeout=120
    )
    assert condition(obj, "Stalled")["message"] == "Failed to install after 2 attempt(s)"
    assert obj["status"]["installFailures"] == 2
    assert condition(obj, "Ready")["reason"] == "InstallFailed"
    # The first failure was remediated (uninstalled); the last one is left for inspection.
    events = await hr_env.event_messages()
    assert (
        f"UninstallSucceeded: Helm uninstall remediation for release {ns}/app.v1 with chart "
        "demo@1.0.0 succeeded"
    ) in events
    secrets = await hr_env.release_secrets("app")
    assert [s["metadata"]["labels"]["status"] for s in secrets] == ["failed"]


async def test_retry_on_failure_retries_without_remediating_or_stalling(hr_env: HrEnv) -> None:
    await hr_env.repo.add_chart("demo", "1.0.0", extra_files=_BAD_KEY)
    await hr_env.helm_repository()
    await hr_env.helm_release(
        "app",
        values={"badKey": True},
        install={"strategy": {"name": "RetryOnFailure", "retryInterval": "1s"}},
    )
    obj = await hr_env.until("app", lambda o: o["status"].get("installFailures", 0) >= 3)
    assert condition(obj, "Stalled") == {}
    assert condition(obj, "Remediated") == {}
    assert condition(obj, "Ready")["reason"] == "InstallFailed"

    # Never deployed: the next attempt is still an install, in place of the failed revisions.
    await hr_env.patch_spec("app", values={"badKey": False})
    obj = await hr_env.until("app", ready_with("InstallSucceeded"))
    assert obj["status"]["history"][0]["status"] == "deployed"
    assert obj["status"]["lastAttemptedReleaseAction"] == "install"


_HANGING = {
    "templates/hang.yaml": (
        "{{- if .Values.hang }}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        "  name: {{ .Release.Name }}-hang\nspec:\n  selector: {matchLabels: {app: hang}}\n"
        "  template:\n    metadata: {labels: {app: hang}}\n"
        "    spec: {containers: [{name: c, image: nginx}]}\n{{- end }}\n"
    )
}


def _helm_pids(namespace: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"/helm") and f"--namespace={namespace}".encode() in argv:
            pids.append(int(entry.name))
    return pids


async def test_a_helm_upgrade_killed_mid_way_is_unlocked_at_once_and_rolled_back(
    hr_env: HrEnv,
) -> None:
    # On the minimal cluster a Deployment never reports progress: `--wait` hangs on it.
    await hr_env.repo.add_chart("demo", "1.0.0", extra_files=_HANGING)
    await hr_env.helm_repository()
    ns = hr_env.namespace
    await hr_env.helm_release(
        "app", timeout="20s", upgrade={"remediation": {"retries": 1}}, values={"hang": False}
    )
    await hr_env.until("app", ready_with("InstallSucceeded"))

    await hr_env.patch_spec("app", values={"hang": True})

    async def pending_upgrade() -> list[int]:
        labels = [s["metadata"]["labels"]["status"] for s in await hr_env.release_secrets("app")]
        return _helm_pids(ns) if labels[-1:] == ["pending-upgrade"] else []

    for pid in await eventually(pending_upgrade, timeout=30):
        os.kill(pid, signal.SIGKILL)

    try:
        obj = await hr_env.until(
            "app", lambda o: condition(o, "Remediated").get("reason") == "RollbackSucceeded"
        )
        assert condition(obj, "Released")["reason"] == "PendingRelease"
        events = await hr_env.event_messages()
        assert (
            f"UpgradeFailed: Helm upgrade failed for release {ns}/app with chart demo@1.0.0: "
            "helm was killed by signal 9"
        ) in events
        assert (
            f"PendingRelease: Unlocked Helm release {ns}/app.v2 with chart demo@1.0.0 in "
            "'pending-upgrade' state: marked it failed (the helm process of this controller "
            "that held it has ended)"
        ) in events
        history = await hr_env.helm_json("history", "app", "-n", ns)
        assert [(h["revision"], h["status"]) for h in history][:3] == [
            (1, "superseded"),
            (2, "failed"),
            (3, "deployed"),
        ]
    finally:
        await hr_env.patch_spec("app", suspend=True)
