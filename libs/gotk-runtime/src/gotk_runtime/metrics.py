"""A small Prometheus registry (text exposition format 0.0.4) and gotk's controller metrics.

prometheus_client would add a dependency for three metric families; this is enough.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

__all__ = ["ControllerMetrics", "Counter", "Gauge", "Histogram", "Registry"]

Labels = tuple[str, ...]

# Flux's reconcile-duration buckets run from 10 ms to 30 min.
RECONCILE_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    kind = ""

    def __init__(self, name: str, help_: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_
        self.label_names = tuple(labels)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> Iterable[str]:
        raise NotImplementedError


class Gauge(_Metric):
    kind = "gauge"

    def __init__(self, name: str, help_: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_, labels)
        self._values: dict[Labels, float] = {}
        self._functions: dict[Labels, Callable[[], float]] = {}

    def set(self, value: float, *labels: str) -> None:
        self._values[labels] = value

    def set_function(self, function: Callable[[], float], *labels: str) -> None:
        self._functions[labels] = function

    def remove(self, *labels: str) -> None:
        self._values.pop(labels, None)
        self._functions.pop(labels, None)

    def remove_matching(self, predicate: Callable[[Labels], bool]) -> None:
        for key in [k for k in self._values if predicate(k)]:
            del self._values[key]

    def value(self, *labels: str) -> float | None:
        if labels in self._functions:
            return self._functions[labels]()
        return self._values.get(labels)

    def samples(self) -> Iterable[str]:
        for labels, value in list(self._values.items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"
        for labels, function in list(self._functions.items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(function())}"


class Counter(Gauge):
    kind = "counter"

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self._values[labels] = self._values.get(labels, 0.0) + amount


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self, name: str, help_: str, labels: Sequence[str] = (), buckets: Sequence[float] = ()
    ) -> None:
        super().__init__(name, help_, labels)
        self.buckets = (*sorted(buckets), math.inf)
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, *labels: str) -> None:
        counts, total = self._series.setdefault(labels, ([0] * len(self.buckets), [0.0]))
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                counts[index] += 1
        total[0] += value

    def count(self, *labels: str) -> int:
        series = self._series.get(labels)
        return series[0][-1] if series else 0

    def samples(self) -> Iterable[str]:
        for labels, (counts, total) in list(self._series.items()):
            for bound, count in zip(self.buckets, counts, strict=True):
                le = f'le="{_number(bound)}"'
                yield f"{self.name}_bucket{_labels(self.label_names, labels, le)} {count}"
            yield f"{self.name}_sum{_labels(self.label_names, labels)} {_number(total[0])}"
            yield f"{self.name}_count{_labels(self.label_names, labels)} {counts[-1]}"


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def register(self, metric: _Metric) -> None:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric

    def exposition(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines += metric.header()
            lines += metric.samples()
        return "\n".join(lines) + "\n"


class ControllerMetrics:
    """The metric families every gotk controller exports."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or Registry()
        self.reconcile_duration = Histogram(
            "gotk_reconcile_duration_seconds",
            "The duration in seconds of a gotk resource reconciliation.",
            ("kind", "name", "namespace"),
            RECONCILE_BUCKETS,
        )
        self.condition = Gauge(
            "gotk_reconcile_condition",
            "The current condition status of a gotk resource reconciliation.",
            ("kind", "name", "namespace", "type", "status"),
        )
        self.suspend = Gauge(
            "gotk_suspend_status",
            "The current suspend status of a gotk resource.",
            ("kind", "name", "namespace"),
        )
        self.queue_depth = Gauge("workqueue_depth", "Current depth of workqueue.", ("name",))
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total",
            "Total number of reconciliations per controller.",
            ("controller", "result"),
        )
        for metric in (
            self.reconcile_duration,
            self.condition,
            self.suspend,
            self.queue_depth,
            self.reconcile_total,
        ):
            self.registry.register(metric)

    def record_condition(
        self, kind: str, namespace: str, name: str, type_: str, status: str | None
    ) -> None:
        """One series per status, 1 for the current one (``Deleted`` once the object is gone)."""
        for candidate in ("True", "False", "Unknown", "Deleted"):
            value = 1.0 if candidate == status else 0.0
            self.condition.set(value, kind, name, namespace, type_, candidate)

    def forget_object(self, kind: str, namespace: str, name: str) -> None:
        self.condition.remove_matching(lambda labels: labels[:3] == (kind, name, namespace))
        self.suspend.remove(kind, name, namespace)
