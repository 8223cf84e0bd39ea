"""Types shared by every Flux kind: references, conditions, artifacts and object envelope.

These mirror fluxcd/pkg/apis/meta and metav1. Field names on the wire are camelCase; in
Python they are snake_case (``obj.spec.secret_ref``), and either spelling is accepted on
input. Dump with ``model_dump(mode="json", exclude_none=True)`` to get the wire form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

# ---------------------------------------------------------------------------
# Schema markers read by gotk_api.crds

JsonDict = dict[str, Any]


def omit_crd_default(schema: JsonDict) -> None:
    """`json_schema_extra` hook: the Python default is a convenience, not a CRD default."""
    schema.pop("default", None)


def cel_rules(*rules: tuple[str, str]) -> JsonDict:
    """`x-kubernetes-validations` for a model or field, from (rule, message) pairs."""
    return {"x-kubernetes-validations": [{"message": m, "rule": r} for r, m in rules]}


def also_required(*names: str) -> Callable[[JsonDict], None]:
    """`json_schema_extra` hook for a model: these fields have a default yet are required.

    Flux has a few such fields (a kubebuilder default on a non-omitempty field); the API
    server fills them in before validating, so a manifest may still leave them out.
    """

    def hook(schema: JsonDict) -> None:
        schema["required"] = sorted({*schema.get("required", ()), *names})

    return hook


JSONValue = Annotated[Any, WithJsonSchema({"x-kubernetes-preserve-unknown-fields": True})]
"""Arbitrary JSON kept as-is by the API server (Flux's apiextensionsv1.JSON)."""

JSONObject = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]
"""An arbitrary JSON object kept as-is by the API server."""


# ---------------------------------------------------------------------------
# Base model


class FluxModel(BaseModel):
    """Base of every API struct: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
        extra="ignore",
    )


# ---------------------------------------------------------------------------
# Durations

INTERVAL_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
"""Flux's pattern for `interval`-like fields."""

TIMEOUT_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"
"""Flux's pattern for `timeout` fields (no hours)."""

Duration = Annotated[str, Field(pattern=INTERVAL_PATTERN)]
"""A Go duration string as Flux accepts for intervals, e.g. ``1m30s``."""

TimeoutDuration = Annotated[str, Field(pattern=TIMEOUT_PATTERN)]
"""A Go duration string as Flux accepts for timeouts, e.g. ``60s``."""

_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_TERM = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(value: str) -> float:
    """Parse a Go duration (``1h2m3.5s``, ``500ms``, ``-1m``, ``0``) into seconds."""
    text = value.strip()
    sign = 1.0
    if text[:1] in "+-" and text:
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise ValueError(f"invalid duration {value!r}")
    total = 0.0
    pos = 0
    while pos < len(text):
        match = _GO_TERM.match(text, pos)
        if match is None or match.group(1) in ("", "."):
            raise ValueError(f"invalid duration {value!r}")
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def format_duration(seconds: float) -> str:
    """Format seconds the way Go's ``time.Duration.String`` does (``1m30s``, ``500ms``)."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return sign + _trim(nanos / size) + unit
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    out = sign
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return out + _trim(rest / 1e9) + "s"


def _trim(number: float) -> str:
    text = f"{number:.9f}".rstrip("0").rstrip(".")
    return text or "0"


# ---------------------------------------------------------------------------
# Time


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Time = Annotated[
    datetime,
    AfterValidator(_as_utc),
    PlainSerializer(_format_time, return_type=str, when_used="json"),
]
"""metav1.Time: RFC 3339, UTC, second precision on the wire."""


def now() -> datetime:
    """The current time, truncated to seconds like metav1.Now() once serialized."""
    return datetime.now(UTC).replace(microsecond=0)


# ---------------------------------------------------------------------------
# References

Name = Annotated[str, Field(min_length=1, max_length=253)]


class LocalObjectReference(FluxModel):
    """A reference to an object in the same namespace."""

    name: str


class NamespacedObjectReference(FluxModel):
    """A reference to an object, in the referrer's namespace unless given."""

    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


class NamespacedObjectKindReference(FluxModel):
    """A reference to an object of a given kind, optionally in another namespace."""

    api_version: str | None = None
    kind: str
    name: str
    namespace: str | None = None


class SecretKeyReference(FluxModel):
    """A key in a Secret in the referrer's namespace."""

    name: str
    key: str | None = None


class KubeConfigReference(FluxModel):
    """Where to find a kubeconfig: a Secret key or a ConfigMap (exactly one)."""

    model_config = ConfigDict(
        json_schema_extra=cel_rules(
            (
                "has(self.configMapRef) || has(self.secretRef)",
                "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef "
                "must be specified",
            ),
            (
                "!has(self.configMapRef) || !has(self.secretRef)",
                "exactly one of spec.kubeConfig.configMapRef or spec.kubeConfig.secretRef "
                "must be specified",
            ),
        )
    )

    config_map_ref: LocalObjectReference | None = None
    secret_ref: SecretKeyReference | None = None


class ValuesReference(FluxModel):
    """A ConfigMap or Secret key whose content is merged into Helm values."""

    kind: Literal["Secret", "ConfigMap"]
    name: Name
    values_key: Annotated[str, Field(max_length=253, pattern=r"^[\-._a-zA-Z0-9]+$")] | None = None
    target_path: (
        Annotated[str, Field(max_length=250, pattern=r"^([a-zA-Z0-9_\-.\\\/]|\[[0-9]{1,5}\])+$")]
        | None
    ) = None
    optional: bool | None = None

    def get_values_key(self) -> str:
        return self.values_key or "values.yaml"


# ---------------------------------------------------------------------------
# Conditions and artifacts


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(FluxModel):
    """metav1.Condition."""

    type: Annotated[
        str,
        Field(
            max_length=316,
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        ),
    ]
    status: ConditionStatus
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    last_transition_time: Time
    reason: Annotated[
        str,
        Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
    ]
    message: Annotated[str, Field(max_length=32768)]


class Artifact(FluxModel):
    """The output of a source reconciliation, served by the artifact server."""

    digest: Annotated[str, Field(pattern=r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")]
    path: str
    url: str
    revision: str
    last_update_time: Time
    size: int | None = None
    metadata: dict[str, str] | None = None


# ---------------------------------------------------------------------------
# Object envelope


class ObjectMeta(FluxModel):
    """The parts of metav1.ObjectMeta gotk reads; other fields are kept untouched."""

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    generation: int | None = None
    resource_version: str | None = None
    uid: str | None = None
    finalizers: list[str] | None = None
    creation_timestamp: Time | None = None
    deletion_timestamp: Time | None = None


class ConditionedStatus(FluxModel):
    """A status with conditions."""

    conditions: list[Condition] | None = None

    def get_condition(self, type_: str) -> Condition | None:
        for condition in self.conditions or ():
            if condition.type == type_:
                return condition
        return None


class FluxStatus(ConditionedStatus):
    """Status fields every reconciled Flux kind has."""

    observed_generation: int = Field(default=-1, json_schema_extra=omit_crd_default)
    last_handled_reconcile_at: str | None = None


SpecT = TypeVar("SpecT", bound=FluxModel)
StatusT = TypeVar("StatusT", bound=ConditionedStatus)

STATUS_DEFAULT: JsonDict = {"default": {"observedGeneration": -1}}
"""Flux CRDs default an absent status to ``{observedGeneration: -1}``."""


@dataclass(frozen=True)
class PrinterColumn:
    """An `additionalPrinterColumns` entry of a CRD version."""

    name: str
    type: str
    json_path: str
    description: str | None = None
    priority: int | None = None


AGE_COLUMN = PrinterColumn("Age", "date", ".metadata.creationTimestamp")
READY_COLUMN = PrinterColumn("Ready", "string", '.status.conditions[?(@.type=="Ready")].status')
STATUS_COLUMN = PrinterColumn("Status", "string", '.status.conditions[?(@.type=="Ready")].message')


class FluxObject(FluxModel, Generic[SpecT, StatusT]):
    """A Flux custom resource: apiVersion, kind, metadata, spec and status.

    Concrete kinds set ``GROUP``, ``VERSION``, ``KIND`` and ``PLURAL`` and give ``status`` a
    default; the other class variables describe their CRD (see gotk_api.crds).
    """

    GROUP: ClassVar[str] = ""
    VERSION: ClassVar[str] = ""
    KIND: ClassVar[str] = ""
    PLURAL: ClassVar[str] = ""
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ()
    CATEGORIES: ClassVar[tuple[str, ...]] = ()
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        AGE_COLUMN,
        READY_COLUMN,
        STATUS_COLUMN,
    )

    api_version: str = ""
    kind: str = ""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SpecT
    status: StatusT

    def model_post_init(self, context: Any, /) -> None:
        if not self.api_version:
            self.api_version = self.api_version_string()
        if not self.kind:
            self.kind = self.KIND

    @classmethod
    def api_version_string(cls) -> str:
        return f"{cls.GROUP}/{cls.VERSION}"

    @classmethod
    def singular(cls) -> str:
        return cls.KIND.lower()

    @classmethod
    def plural(cls) -> str:
        return cls.PLURAL or f"{cls.KIND.lower()}s"

    @classmethod
    def crd_name(cls) -> str:
        return f"{cls.plural()}.{cls.GROUP}"

    @property
    def name(self) -> str:
        return self.metadata.name or ""

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or ""

    def get_condition(self, type_: str) -> Condition | None:
        return self.status.get_condition(type_)

    def to_manifest(self) -> JsonDict:
        """The wire form: camelCase keys, no null fields."""
        return self.model_dump(mode="json", exclude_none=True)
