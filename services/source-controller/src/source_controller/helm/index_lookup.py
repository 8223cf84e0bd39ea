"""Finding a chart version in a compact index artifact (see index_compact for the format).

Only the line of the wanted chart is parsed, so a lookup in the index of a repository with
thousands of charts costs one chart's worth of memory. The version is chosen as Helm and
Flux choose it: an exact string match first, then the highest version in the semver range
(prereleases only when the range names one), newest `created` among equal versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from source_controller.helm.errors import ChartReferenceError, InvalidIndex
from source_controller.semver import InvalidVersion, SemverError, Version, parse_constraint
from source_controller.semver import parse_version as parse_semver

__all__ = ["ChartVersion", "find_chart_versions", "select_chart_version"]

_ENTRIES_OPENER: Final = b'"entries":{'
_EPOCH: Final = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ChartVersion:
    """One index entry: what downloading and recording a chart needs."""

    name: str
    version: str
    urls: tuple[str, ...]
    digest: str = ""
    created: str = ""
    app_version: str = ""
    deprecated: bool = False

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> ChartVersion:
        return cls(
            name=str(entry["name"]),
            version=str(entry["version"]),
            urls=tuple(entry.get("urls") or ()),
            digest=str(entry.get("digest") or ""),
            created=str(entry.get("created") or ""),
            app_version=str(entry.get("appVersion") or ""),
            deprecated=bool(entry.get("deprecated")),
        )


def find_chart_versions(index: Path, name: str) -> list[dict[str, Any]] | None:
    """The compact entries of chart `name`, or None when the index has no such chart.

    Blocking; run it in a thread.
    """
    key = json.dumps(name, ensure_ascii=False).encode() + b":"
    try:
        with index.open("rb") as fh:
            first = fh.readline()
            if not first.rstrip().endswith(_ENTRIES_OPENER):
                raise InvalidIndex(f"stored index {index.name} is not a gotk compact index")
            for line in fh:
                if line.startswith(key):
                    versions = json.loads(line[len(key) :].rstrip().rstrip(b","))
                    if not isinstance(versions, list):
                        raise InvalidIndex(f"stored index has a malformed entry for '{name}'")
                    return versions
    except (OSError, ValueError) as exc:
        raise InvalidIndex(f"cannot read stored index {index.name}: {exc}") from None
    return None


def _created(entry: dict[str, Any]) -> datetime:
    """RFC 3339 with Go's nanoseconds trimmed to what datetime holds; unparsable is oldest."""
    text = str(entry.get("created") or "")
    if not text:
        return _EPOCH
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    date, sep, rest = text.partition(".")
    if sep:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{date}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def select_chart_version(
    versions: list[dict[str, Any]] | None, chart: str, constraint: str
) -> ChartVersion:
    """The entry `constraint` selects among `versions` of `chart` (None: no such chart)."""
    if versions is None:
        raise ChartReferenceError(f"no chart named '{chart}' in the repository index")
    if not versions:
        raise ChartReferenceError(f"chart '{chart}' has no versions in the repository index")
    wanted = constraint.strip() or "*"
    if wanted != "*":
        for entry in versions:
            if entry.get("version") == wanted:
                return ChartVersion.from_entry(entry)
    try:
        rng = parse_constraint(wanted)
    except SemverError as exc:
        raise ChartReferenceError(f"invalid spec.version: {exc}") from None
    best: tuple[Version, datetime, dict[str, Any]] | None = None
    for entry in versions:
        try:
            candidate = parse_semver(str(entry.get("version")))
        except InvalidVersion:
            continue
        if not rng.check(candidate):
            continue
        if best is None or candidate > best[0]:
            best = (candidate, _created(entry), entry)
        elif candidate == best[0] and (created := _created(entry)) > best[1]:
            best = (candidate, created, entry)
    if best is None:
        raise ChartReferenceError(f"no '{chart}' chart with version matching '{wanted}' found")
    return ChartVersion.from_entry(best[2])
