"""CEL in the engine: `dependsOn[].readyExpr` and `healthCheckExprs`, evaluated on sample
objects with the expressions from Flux's documentation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from gotk_api.conditions import INVALID_CEL_EXPRESSION_REASON
from gotk_api.kustomize import Kustomization
from gotk_api.kustomize_types import CustomHealthCheck
from gotk_api.objects import Obj
from gotk_runtime import Stalling
from gotk_ssa import (
    CELEvaluationError,
    InvalidCELExpression,
    Status,
    compile_expr,
    compile_health_checks,
)

DOCS = Path(__file__).parents[2] / "fixtures" / "flux-docs" / "kustomize"


def _doc(name: str) -> Kustomization:
    return Kustomization.model_validate(yaml.safe_load((DOCS / name).read_text()))


def _conditions(**statuses: str) -> list[Obj]:
    return [{"type": t, "status": s, "reason": "R", "message": ""} for t, s in statuses.items()]


def _backend(version: str, ready: str, generation: int = 3, observed: int = 3) -> Obj:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {
            "name": "app-backend",
            "namespace": "apps",
            "generation": generation,
            "labels": {"app/version": version},
        },
        "status": {"observedGeneration": observed, "conditions": _conditions(Ready=ready)},
    }


@pytest.mark.parametrize(
    ("dep", "ready"),
    [
        (_backend("v1.2.3", "True"), True),
        (_backend("v1.2.2", "True"), False),
        (_backend("v1.2.3", "False"), False),
        (_backend("v1.2.3", "True", generation=4), False),
    ],
)
def test_docs_ready_expr_compares_versions_readiness_and_generation(dep: Obj, ready: bool) -> None:
    ks = _doc("depends-on-ready-expr.yaml")
    ref = (ks.spec.depends_on or [])[0]
    assert ref.ready_expr
    expr = compile_expr(ref.ready_expr, "spec.dependsOn[0].readyExpr")
    self_obj = ks.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert expr.evaluate_bool({"self": self_obj, "dep": dep}) is ready


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("has(dep.status.phase)", False),
        ("has(dep.metadata.labels) && dep.metadata.labels['tier'] == 'db'", True),
        ("dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')", True),
        ("dep.status.conditions.all(c, c.status == 'True')", False),
        ("dep.status.conditions.filter(c, c.status == 'True').size() == 1", True),
        ("dep.metadata.generation >= 2 || dep.kind == 'Other'", True),
        ("dep.metadata.name.startsWith('db') && !(dep.metadata.generation < 2)", True),
    ],
)
def test_field_selection_has_comparisons_and_list_macros_work_on_maps(
    source: str, expected: bool
) -> None:
    dep = {
        "kind": "Kustomization",
        "metadata": {"name": "db", "generation": 2, "labels": {"tier": "db"}},
        "status": {"conditions": _conditions(Ready="True", Healthy="False")},
    }
    assert compile_expr(source, "f").evaluate_bool({"dep": dep}) is expected


@pytest.mark.parametrize("source", ["dep.status.(", "self.x ==== 1", "a &&", "   "])
def test_compile_error_stalls_with_invalid_cel_expression_naming_the_field(source: str) -> None:
    with pytest.raises(InvalidCELExpression) as info:
        compile_expr(source, "spec.dependsOn[0].readyExpr")
    err = info.value
    assert isinstance(err, Stalling)
    assert err.reason == INVALID_CEL_EXPRESSION_REASON == "InvalidCELExpression"
    assert str(err).startswith("spec.dependsOn[0].readyExpr: invalid CEL expression: ")
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("source", "cause"),
    [
        ("dep.status.phase == 'Running'", "no such key: phase"),
        ("dep.metadata.name", "not a bool"),
        ("missing == 1", "missing"),
    ],
)
def test_evaluation_errors_name_the_field_and_the_cause(source: str, cause: str) -> None:
    expr = compile_expr(source, "spec.dependsOn[1].readyExpr")
    with pytest.raises(CELEvaluationError) as info:
        expr.evaluate_bool({"dep": {"metadata": {"name": "db"}, "status": {}}})
    assert str(info.value).startswith("spec.dependsOn[1].readyExpr: failed to evaluate")
    assert cause in str(info.value)


def _sealed_secret(synced: str | None, generation: int = 1, observed: int = 1) -> Obj:
    status: Obj = {"observedGeneration": observed}
    if synced is not None:
        status["conditions"] = _conditions(Synced=synced)
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "s", "namespace": "apps", "generation": generation},
        "spec": {},
        "status": status,
    }


@pytest.mark.parametrize(
    ("obj", "status"),
    [
        (_sealed_secret("True"), Status.CURRENT),
        (_sealed_secret("False"), Status.FAILED),
        (_sealed_secret("Unknown"), Status.IN_PROGRESS),
        (_sealed_secret("True", generation=2), Status.IN_PROGRESS),
        # No `conditions` yet: `status.conditions` is a missing key, so the status is unknown
        # (Flux's poller keeps waiting until the timeout).
        (_sealed_secret(None), Status.UNKNOWN),
    ],
)
def test_docs_health_check_exprs_decide_the_status_of_matching_kinds(
    obj: Obj, status: Status
) -> None:
    checks = compile_health_checks(_doc("health-check-exprs.yaml").spec.health_check_exprs)
    assert checks.status(obj).status is status


def test_in_progress_is_tried_before_failed_and_current() -> None:
    checks = compile_health_checks(
        [
            CustomHealthCheck(
                api_version="example.com/v1",
                kind="Widget",
                in_progress="status.phase == 'Busy' || status.phase == 'Stuck'",
                failed="status.phase == 'Stuck' || status.phase == 'Done'",
                current="status.phase == 'Done' || status.phase == 'Stuck'",
            )
        ]
    )

    def status_of(phase: str) -> Status:
        obj = {"apiVersion": "example.com/v1", "kind": "Widget", "status": {"phase": phase}}
        return checks.status(obj).status

    assert status_of("Stuck") is Status.IN_PROGRESS
    assert status_of("Done") is Status.FAILED
    assert status_of("Nothing") is Status.IN_PROGRESS


def test_kinds_without_a_rule_keep_the_built_in_kstatus_rules() -> None:
    checks = compile_health_checks(
        [CustomHealthCheck(api_version="v1", kind="ConfigMap", current="false")]
    )
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}
    other_group = {"apiVersion": "other.io/v1", "kind": "ConfigMap", "metadata": {}}
    assert checks.status(pvc).status is Status.IN_PROGRESS
    assert checks.status(other_group).status is Status.CURRENT
    assert checks.status(None).status is Status.NOT_FOUND
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}
    assert checks.status(configmap).status is Status.IN_PROGRESS


@pytest.mark.parametrize(
    ("check", "field"),
    [
        ({"current": "status.("}, "spec.healthCheckExprs[1].current"),
        ({"current": "true", "failed": "a &&"}, "spec.healthCheckExprs[1].failed"),
        ({"current": "true", "inProgress": "x ==="}, "spec.healthCheckExprs[1].inProgress"),
    ],
)
def test_invalid_health_check_expression_names_its_field(check: Obj, field: str) -> None:
    good = CustomHealthCheck(api_version="v1", kind="Secret", current="true")
    bad = CustomHealthCheck.model_validate({"apiVersion": "a.io/v1", "kind": "A", **check})
    with pytest.raises(InvalidCELExpression) as info:
        compile_health_checks([good, bad])
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: invalid CEL expression")


def test_the_caller_names_the_field_its_expressions_come_from() -> None:
    bad = CustomHealthCheck(api_version="a.io/v1", kind="A", current="x ===")
    with pytest.raises(InvalidCELExpression) as info:
        compile_health_checks([bad], field="healthCheckExprs")
    assert info.value.field == "healthCheckExprs[0].current"
