"""Turning object keys into paths under the download directory, refusing unsafe ones.

Flux secure-joins each key into its temp dir, which silently folds `../x` into `x`; gotk
refuses such keys instead, naming them, so an artifact never holds a file at a path the
bucket did not spell. Refused: absolute keys, `.` / `..` / empty segments (they alias other
keys), NUL and backslashes (path separators elsewhere), and a key that is also another
key's directory. The realpath check in `local_path` is a second line for a tree that
somehow gained a symlink.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from source_controller.bucket.errors import ObjectKeyConflict, UnsafeObjectKey

__all__ = ["check_key", "check_tree", "is_directory_marker", "local_path"]


def is_directory_marker(key: str) -> bool:
    """Keys ending in `/` are folder placeholders some tools create; Flux skips them."""
    return key.endswith("/")


def check_key(key: str) -> tuple[str, ...]:
    """The path segments of `key`, or UnsafeObjectKey naming it and why."""
    problem = _problem(key)
    if problem:
        raise UnsafeObjectKey(f"refusing object key {key!r}: {problem}")
    return tuple(key.split("/"))


def _problem(key: str) -> str:
    if not key:
        return "empty key"
    if "\x00" in key:
        return "contains a NUL byte"
    if "\\" in key:
        return "contains a backslash"
    if key.startswith("/"):
        return "absolute path"
    for segment in key.split("/"):
        if segment == "..":
            return "'..' segment escapes the download directory"
        if segment in ("", "."):
            return "empty or '.' segment makes the path ambiguous"
    return ""


def check_tree(keys: Iterable[str]) -> None:
    """Refuse two keys where one must be a file and a directory at once (`a` and `a/b`)."""
    files = set(keys)
    for key in sorted(files):
        parts = key.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in files:
                raise ObjectKeyConflict(
                    f"object keys {parent!r} and {key!r} conflict: "
                    f"{parent!r} would be both a file and a directory"
                )


def local_path(root: Path, key: str) -> Path:
    """Where `key` is written below `root`; refuses anything resolving outside it."""
    parts = check_key(key)
    target = root.joinpath(*parts)
    real_root = os.path.realpath(root)
    real = os.path.realpath(target)
    if not real.startswith(real_root + os.sep):
        raise UnsafeObjectKey(f"refusing object key {key!r}: resolves outside the download root")
    return target
