"""kustomize-controller's build: from an extracted artifact to the objects to apply."""

from gotk_runtime.tools import find_tool

from kustomize_controller.build.errors import (
    BuildError,
    DecryptionError,
    PathNotFoundError,
    SubstitutionError,
)
from kustomize_controller.build.generator import (
    GeneratedKustomization,
    generate_kustomization,
    resolve_build_dir,
)
from kustomize_controller.build.kustomize import kustomize_build, parse_manifests
from kustomize_controller.build.pipeline import build_kustomization
from kustomize_controller.build.sops import (
    SopsDecryptor,
    is_decryption_disabled,
    is_encrypted_secret,
)
from kustomize_controller.build.sops_keys import DecryptionKeys
from kustomize_controller.build.substitute import (
    VariableSource,
    collect_variables,
    decode_secret_data,
    substitute_object,
)

__all__ = [
    "BuildError",
    "DecryptionError",
    "DecryptionKeys",
    "GeneratedKustomization",
    "PathNotFoundError",
    "SopsDecryptor",
    "SubstitutionError",
    "VariableSource",
    "build_kustomization",
    "collect_variables",
    "decode_secret_data",
    "find_tool",
    "generate_kustomization",
    "is_decryption_disabled",
    "is_encrypted_secret",
    "kustomize_build",
    "parse_manifests",
    "resolve_build_dir",
    "substitute_object",
]
