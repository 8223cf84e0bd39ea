"""Artifact storage: the `--storage-path` tree, its garbage collection and its HTTP server.

- `store`: `ArtifactStorage` writes artifacts atomically under `<kind>/<ns>/<name>/`;
- `gc`: which files of one object's directory are garbage (retention TTL and records);
- `server`: `ArtifactServer` serves the tree read-only (GET/HEAD, ETag, Range).
"""

from source_controller.storage.server import ArtifactServer, create_artifact_app
from source_controller.storage.store import ArtifactStorage, StorageError, StoredArtifact

__all__ = [
    "ArtifactServer",
    "ArtifactStorage",
    "StorageError",
    "StoredArtifact",
    "create_artifact_app",
]
