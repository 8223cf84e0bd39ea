"""The kinds the CLI names, by the words Flux's CLI uses (`source git`, `kustomization`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gotk_api.objects import Obj
from gotk_api.registry import KindModel, find_kind

from gotk_cli.errors import CliError

__all__ = [
    "ALL_KINDS",
    "ALL_SOURCES",
    "HELMRELEASE",
    "KUSTOMIZATION",
    "SOURCES",
    "CliKind",
    "kind_for_word",
    "kind_named",
    "truncate_hex",
]

_HEX = re.compile(r"\b[a-f0-9]{40,128}\b")


def truncate_hex(text: str) -> str:
    """Flux's TruncateHex: every SHA-1..SHA-512 hex string in ``text`` cut to 8 characters."""
    return _HEX.sub(lambda match: match.group(0)[:8], text)


@dataclass(frozen=True)
class CliKind:
    """One kind as the CLI shows it; ``noun`` is how messages name it (`source git`)."""

    model: KindModel
    noun: str

    @property
    def kind(self) -> str:
        return self.model.KIND

    @property
    def api_version(self) -> str:
        return self.model.api_version_string()

    @property
    def is_source(self) -> bool:
        return self.noun.startswith("source ")

    def revision(self, obj: Obj) -> str:
        """The REVISION column: what was applied (appliers) or fetched (sources)."""
        status = obj.get("status") or {}
        if self.kind == "Kustomization":
            return str(status.get("lastAppliedRevision") or "")
        if self.kind == "HelmRelease":
            history = status.get("history") or []
            if history:
                return str(history[0].get("chartVersion") or "")
            return str(status.get("lastAttemptedRevision") or "")
        return str((status.get("artifact") or {}).get("revision") or "")

    def source_ref(self, obj: Obj) -> str:
        """`Kind/namespace/name` of an applier's source (Flux's --show-source column)."""
        spec = obj.get("spec") or {}
        namespace = (obj.get("metadata") or {}).get("namespace", "")
        if self.kind == "Kustomization":
            ref = spec.get("sourceRef") or {}
        elif self.kind == "HelmRelease":
            ref = spec.get("chartRef") or (
                ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
            )
        else:
            return ""
        return f"{ref.get('kind', '')}/{ref.get('namespace') or namespace}/{ref.get('name', '')}"

    def success_message(self, obj: Obj) -> str:
        verb = "fetched" if self.is_source else "applied"
        return f"{verb} revision {self.revision(obj)}"


def _kind(word: str, kind: str, noun: str) -> tuple[str, CliKind]:
    return word, CliKind(find_kind(kind), noun)


SOURCES: dict[str, CliKind] = dict(
    _kind(word, kind, f"source {word}")
    for word, kind in (
        ("git", "GitRepository"),
        ("oci", "OCIRepository"),
        ("helm", "HelmRepository"),
        ("chart", "HelmChart"),
        ("bucket", "Bucket"),
        ("external", "ExternalArtifact"),
    )
)
"""`get sources <word>`, `reconcile source <word>`."""

ALL_SOURCES: tuple[CliKind, ...] = tuple(
    SOURCES[word] for word in ("oci", "bucket", "git", "helm", "chart", "external")
)
"""The order `flux get sources all` lists them in."""

KUSTOMIZATION = CliKind(find_kind("Kustomization"), "kustomization")
HELMRELEASE = CliKind(find_kind("HelmRelease"), "helmrelease")

ALL_KINDS: tuple[CliKind, ...] = (*ALL_SOURCES, HELMRELEASE, KUSTOMIZATION)
"""`flux get all`: the sources, then HelmReleases and Kustomizations."""


def kind_named(kind: str) -> CliKind:
    """The CliKind of a Kubernetes kind name (`GitRepository`) as found in a sourceRef."""
    for candidate in ALL_KINDS:
        if candidate.kind == kind:
            return candidate
    raise CliError(f"unsupported kind {kind!r}")


_ALIASES = {"ks": "Kustomization", "hr": "HelmRelease"}


def kind_for_word(word: str) -> CliKind:
    """The kind a user typed: `Kustomization`, `kustomizations`, `ks`, `hr`, `git`, ..."""
    lowered = _ALIASES.get(word.lower(), word).lower()
    for candidate in ALL_KINDS:
        names = (candidate.kind.lower(), candidate.model.plural(), candidate.noun.split()[-1])
        if lowered in names:
            return candidate
    known = ", ".join(sorted(k.kind for k in ALL_KINDS))
    raise CliError(f"unknown kind {word!r}: one of {known}, or ks, hr, git, oci, helm, chart")
