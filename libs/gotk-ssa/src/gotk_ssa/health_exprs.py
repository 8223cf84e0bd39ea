"""`spec.healthCheckExprs`: kstatus for custom kinds decided by CEL expressions.

For an object whose group and kind match a rule, the rule replaces `compute_status`: a
stale `status.observedGeneration` is InProgress, then `inProgress`, `failed` and `current`
are tried in that order and the first true one decides; none true is InProgress. The
expressions see the object's top-level fields (`metadata`, `spec`, `status`, ...) as
variables, as in Flux. Kustomization and HelmRelease share the field and its type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gotk_api.kustomize_types import CustomHealthCheck

from gotk_ssa.cel import CompiledExpr, compile_expr
from gotk_ssa.errors import CELEvaluationError
from gotk_ssa.kstatus import Status, StatusResult, compute_status

HEALTH_CHECK_EXPRS_FIELD = "spec.healthCheckExprs"


@dataclass(frozen=True)
class HealthCheckRule:
    group: str
    kind: str
    in_progress: CompiledExpr | None
    failed: CompiledExpr | None
    current: CompiledExpr

    def status(self, obj: Mapping[str, Any]) -> StatusResult:
        generation = _nested(obj, "metadata", "generation")
        observed = _nested(obj, "status", "observedGeneration")
        if isinstance(observed, int) and isinstance(generation, int) and observed != generation:
            return StatusResult(
                Status.IN_PROGRESS,
                f"generation is {generation}, but latest observed generation is {observed}",
                "LatestGenerationNotObserved",
            )
        checks = (
            (self.in_progress, Status.IN_PROGRESS),
            (self.failed, Status.FAILED),
            (self.current, Status.CURRENT),
        )
        for expr, status in checks:
            if expr is None:
                continue
            try:
                matched = expr.evaluate_bool(obj)
            except CELEvaluationError as err:
                return StatusResult(Status.UNKNOWN, str(err))
            if matched:
                return StatusResult(status, f"{expr.field} is true")
        return StatusResult(Status.IN_PROGRESS, "no health check expression is true yet")


@dataclass(frozen=True)
class CustomHealthChecks:
    """The compiled rules of one object's spec, keyed by (group, kind)."""

    rules: Mapping[tuple[str, str], HealthCheckRule]

    def status(self, obj: Mapping[str, Any] | None) -> StatusResult:
        """The object's status by its matching rule, else by the built-in kstatus rules."""
        if obj is not None:
            group = str(obj.get("apiVersion", "")).rpartition("/")[0]
            rule = self.rules.get((group, str(obj.get("kind", ""))))
            if rule is not None:
                return rule.status(obj)
        return compute_status(obj)


def compile_health_checks(
    checks: Sequence[CustomHealthCheck] | None, *, field: str = HEALTH_CHECK_EXPRS_FIELD
) -> CustomHealthChecks:
    """Compile every expression; raise ``InvalidCELExpression`` naming the first bad one
    (as ``<field>[i].<name>``)."""
    rules: dict[tuple[str, str], HealthCheckRule] = {}
    for i, check in enumerate(checks or ()):
        where = f"{field}[{i}]"

        def optional(source: str | None, name: str, where: str = where) -> CompiledExpr | None:
            return compile_expr(source, f"{where}.{name}") if source else None

        rule = HealthCheckRule(
            group=check.api_version.rpartition("/")[0],
            kind=check.kind,
            in_progress=optional(check.in_progress, "inProgress"),
            failed=optional(check.failed, "failed"),
            current=compile_expr(check.current, f"{where}.current"),
        )
        # Flux keeps one reader per group/kind; the first rule for a kind wins.
        rules.setdefault((rule.group, rule.kind), rule)
    return CustomHealthChecks(rules)


def _nested(obj: Mapping[str, Any], *path: str) -> Any:
    node: Any = obj
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node
