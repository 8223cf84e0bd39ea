"""The kinds the CLI names, by the words Flux's CLI uses (`source git`, `kustomization`)."""

from __future__ import annotations

from dataclasses import dataclass

from gotk_api.objects import Obj
from gotk_api.registry import KindModel, find_kind

__all__ = ["KUSTOMIZATION", "SOURCES", "CliKind"]


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

    def revision(self, obj: Obj) -> str:
        status = obj.get("status") or {}
        if self.kind == "Kustomization":
            return str(status.get("lastAppliedRevision") or "")
        return str((status.get("artifact") or {}).get("revision") or "")

    def success_message(self, obj: Obj) -> str:
        verb = "applied" if self.kind == "Kustomization" else "fetched"
        return f"{verb} revision {self.revision(obj)}"


SOURCES: dict[str, CliKind] = {
    word: CliKind(find_kind(kind), f"source {word}")
    for word, kind in (
        ("git", "GitRepository"),
        ("oci", "OCIRepository"),
        ("helm", "HelmRepository"),
        ("chart", "HelmChart"),
        ("bucket", "Bucket"),
    )
}
"""`get sources <word>`, `reconcile source <word>`, in the order `get sources all` lists them."""

KUSTOMIZATION = CliKind(find_kind("Kustomization"), "kustomization")
