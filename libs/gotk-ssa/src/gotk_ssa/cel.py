"""CEL expressions from a spec (health checks, readiness): compile once, evaluate to a bool.

The only module that imports the CEL library (PyPI `common-expression-language`), so the
choice stays behind `compile_expr` / `CompiledExpr`. Unlike Flux's cel-go environment,
variables are not declared at compile time: a reference to an unknown variable surfaces
as an evaluation error rather than a compile error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cel

from gotk_ssa.errors import CELEvaluationError, InvalidCELExpression


@dataclass(frozen=True)
class CompiledExpr:
    """A compiled expression and the spec field it came from (for messages)."""

    field: str
    source: str
    _program: cel.Program

    def evaluate_bool(self, variables: Mapping[str, Any]) -> bool:
        try:
            result = self._program.execute(dict(variables))
        except Exception as err:  # the library raises KeyError/TypeError/ValueError/...
            raise CELEvaluationError(self.field, _one_line(err)) from None
        if not isinstance(result, bool):
            raise CELEvaluationError(self.field, f"result is {type(result).__name__}, not a bool")
        return result


def compile_expr(source: str, field: str) -> CompiledExpr:
    """Compile ``source``; raise ``InvalidCELExpression`` naming ``field`` when it does not."""
    if not source.strip():
        raise InvalidCELExpression(field, "expression is empty")
    try:
        program = cel.compile(source)
    except Exception as err:  # ValueError for syntax errors; anything else is as fatal
        raise InvalidCELExpression(field, _one_line(err)) from None
    return CompiledExpr(field, source, program)


def _one_line(err: Exception) -> str:
    # The library's messages end with a caret diagram over several lines ("| a &&");
    # a condition message reads better without it, on one line.
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    if isinstance(err, KeyError):
        text = f"no such key: {text}"
    lines = (line.strip() for line in text.splitlines())
    return " ".join(line for line in lines if line and not line.startswith("|"))
