"""Choosing a tag by semver range, after an optional `semverFilter` regex, as Flux does."""

from __future__ import annotations

import re
from collections.abc import Iterable

from source_controller.oci.errors import InvalidSemverRange, NoMatchingTag
from source_controller.semver import Constraint, InvalidConstraint, latest, parse_constraint

__all__ = ["parse_semver_range", "select_semver_tag", "validate_semver"]


def parse_semver_range(expression: str) -> Constraint:
    try:
        return parse_constraint(expression)
    except InvalidConstraint as exc:
        raise InvalidSemverRange(f"spec.ref.semver: {exc}") from None


def _filter(expression: str | None) -> re.Pattern[str] | None:
    if not expression:
        return None
    try:
        return re.compile(expression)
    except re.error as exc:
        raise InvalidSemverRange(
            f"spec.ref.semverFilter: invalid regular expression '{expression}': {exc}"
        ) from None


def validate_semver(semver: str, semver_filter: str | None = None) -> None:
    """Fail on a malformed range or filter before any registry is asked for its tags."""
    parse_semver_range(semver)
    _filter(semver_filter)


def select_semver_tag(tags: Iterable[str], semver: str, semver_filter: str | None = None) -> str:
    """The tag with the highest version in range; tags that are not versions are skipped.

    Like Flux, a filter is a regex searched anywhere in the tag (Go's MatchString), and a
    tag needs MAJOR.MINOR.PATCH to count.
    """
    constraint = parse_semver_range(semver)
    pattern = _filter(semver_filter)
    candidates = [t for t in tags if pattern is None or pattern.search(t)]
    chosen = latest(candidates, constraint)
    if chosen is None:
        where = f" among tags matching '{semver_filter}'" if semver_filter else ""
        raise NoMatchingTag(f"no tag matches semver range '{semver}'{where}")
    return chosen
