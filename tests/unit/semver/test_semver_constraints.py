"""source_controller.semver against the examples Masterminds/semver v3 documents."""

from __future__ import annotations

import pytest
from source_controller.semver import (
    InvalidConstraint,
    InvalidVersion,
    latest,
    parse_constraint,
    parse_tag_version,
    parse_version,
)

# (constraint, version, satisfies): each documented equivalence, probed at its edges.
CASES = [
    # basic comparisons, `,` and space are AND, `||` is OR
    ("= 1.2.3", "1.2.3", True),
    ("1.2.3", "v1.2.3", True),
    ("1.2.3", "1.2.4", False),
    ("!= 1.2.3", "1.2.4", True),
    ("!= 1.2.3", "1.2.3", False),
    ("> 1.2.3", "1.2.4", True),
    ("> 1.2.3", "1.2.3", False),
    ("< 1.2.3", "1.2.2", True),
    ("< 1.2.3", "1.2.3", False),
    (">= 1.2.3", "1.2.3", True),
    ("<= 1.2.3", "1.2.3", True),
    ("<= 1.2.3", "1.2.4", False),
    (">= 1.2, < 3.0.0 || >= 4.2.3", "2.9.9", True),
    (">= 1.2, < 3.0.0 || >= 4.2.3", "3.5.0", False),
    (">= 1.2 < 3.0.0 || >= 4.2.3", "4.2.3", True),
    ("<= 1.2.3, >= 1.4", "1.3.0", False),
    # prereleases: skipped unless the AND group names one
    (">= 1.2.3", "1.2.4-beta.1", False),
    (">= 1.2.3-0", "1.2.4-beta.1", True),
    (">= 1.2.3-0", "1.2.3-alpha", True),
    (">= 1.2.3-BETA", "1.2.3-alpha", True),
    (">=1.2.3-0 <2.0.0 || >=3", "3.1.0-rc.1", False),
    ("1.2.3-beta.1", "1.2.3-beta.1", True),
    ("1.2.3-beta.10", "1.2.3-beta.9", False),
    # hyphen ranges
    ("1.2 - 1.4.5", "1.2.0", True),
    ("1.2 - 1.4.5", "1.4.5", True),
    ("1.2 - 1.4.5", "1.4.6", False),
    ("2.3.4 - 4.5", "4.5.9", True),  # `<= 4.5` admits every 4.5.x
    ("2.3.4 - 4.5", "4.6.0", False),
    ("2.3.4 - 4.5", "2.3.3", False),
    # wildcards
    ("1.2.x", "1.2.9", True),
    ("1.2.x", "1.3.0", False),
    ("1.2.X", "1.2.0", True),
    (">= 1.2.x", "1.2.0", True),
    (">= 1.2.x", "9.0.0", True),
    ("<= 2.x", "2.9.9", True),
    ("<= 2.x", "3.0.0", False),
    ("*", "0.0.1", True),
    ("*", "1.0.0-alpha", False),
    ("!= 4.x", "4.1.0", False),
    ("!= 4.x", "5.0.0", True),
    ("> 11", "11.9.0", False),
    ("> 11", "12.0.0", True),
    ("> 11.1", "11.1.9", False),
    ("> 11.1", "11.2.0", True),
    # tilde: patch-level once a minor is given, major-level otherwise
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~1.2.3", "1.2.2", False),
    ("~1", "1.9.0", True),
    ("~1", "2.0.0", False),
    ("~2.3", "2.3.9", True),
    ("~2.3", "2.4.0", False),
    ("~1.2.x", "1.2.0", True),
    ("~1.2.x", "1.3.0", False),
    ("~1.x", "1.5.0", True),
    ("~1.x", "2.0.0", False),
    ("~> 1.2", "1.2.5", True),
    # caret: major-level from 1.0.0, minor-level below it, patch-level below 0.1
    ("^1.2.3", "1.9.9", True),
    ("^1.2.3", "2.0.0", False),
    ("^1.2.3", "1.2.2", False),
    ("^1.2.x", "1.2.0", True),
    ("^1.2.x", "2.0.0", False),
    ("^2.3", "2.9.0", True),
    ("^2.3", "3.0.0", False),
    ("^2.x", "2.0.0", True),
    ("^2.x", "3.0.0", False),
    ("^0.2.3", "0.2.9", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.2", "0.2.0", True),
    ("^0.2", "0.3.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0", "0.0.9", True),
    ("^0.0", "0.1.0", False),
    ("^0", "0.9.9", True),
    ("^0", "1.0.0", False),
    # build metadata never counts
    ("= 1.2.3", "1.2.3+build.5", True),
    ("> 1.2.3", "1.2.3+build.5", False),
    # leading zeros are coerced (CalVer tags)
    (">= 2024.1.0", "v2025.02.03", True),
]


@pytest.mark.parametrize(("constraint", "version", "expected"), CASES)
def test_constraint_matches_masterminds(constraint: str, version: str, expected: bool) -> None:
    assert parse_constraint(constraint).check(parse_version(version)) is expected


def test_include_prerelease_opens_every_group_to_prereleases() -> None:
    assert not parse_constraint(">=1.0.0").check(parse_version("1.1.0-rc.1"))
    rng = parse_constraint(">=1.0.0", include_prerelease=True)
    assert rng.check(parse_version("1.1.0-rc.1"))


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("1.2.3", (1, 2, 3, "", "")),
        ("v1.2.3", (1, 2, 3, "", "")),
        ("1.2", (1, 2, 0, "", "")),
        ("v1", (1, 0, 0, "", "")),
        ("1.2.3-beta.1+build.345", (1, 2, 3, "beta.1", "build.345")),
        ("1.2-5", (1, 2, 0, "5", "")),
        ("01.02.03", (1, 2, 3, "", "")),
    ],
)
def test_versions_are_parsed_leniently(text: str, parts: tuple[int, int, int, str, str]) -> None:
    v = parse_version(text)
    assert (v.major, v.minor, v.patch, v.prerelease, v.metadata) == parts
    assert v.original == text


@pytest.mark.parametrize(
    "text", ["", "foo", "1.2.3.4", "1.2.3-beta.01", "1.0.0-alpha_beta", "1.2.3+", "1.2\n"]
)
def test_invalid_versions_are_rejected(text: str) -> None:
    with pytest.raises(InvalidVersion):
        parse_version(text)


def test_tag_versions_need_three_parts_like_flux() -> None:
    assert parse_tag_version("v1.2.3").original == "v1.2.3"
    with pytest.raises(InvalidVersion, match=r"MAJOR\.MINOR\.PATCH"):
        parse_tag_version("v1.2")


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("1.2.3-alpha", "1.2.3"),
        ("1.2.3-alpha", "1.2.3-alpha.1"),
        ("1.2.3-alpha.1", "1.2.3-alpha.beta"),
        ("1.2.3-beta.2", "1.2.3-beta.11"),
        ("1.2.3-rc.1", "1.2.3-rc1"),
        ("1.9.0", "1.10.0"),
    ],
)
def test_ordering_follows_semver_precedence(low: str, high: str) -> None:
    assert parse_version(low) < parse_version(high)


def test_build_metadata_does_not_affect_equality() -> None:
    assert parse_version("1.0.0+a") == parse_version("1.0.0+b")


@pytest.mark.parametrize(
    "text", ["", ">= foo", "1.2.3 ||", ">>1.2", "1.2.3 -", "~=1.2", "^1.2.3 && <2"]
)
def test_malformed_ranges_raise_invalid_constraint_with_the_range(text: str) -> None:
    with pytest.raises(InvalidConstraint) as caught:
        parse_constraint(text)
    assert str(caught.value).startswith(f"invalid semver range {text!r}: ")


def test_latest_picks_the_highest_match_and_skips_non_versions() -> None:
    tags = ["v1.0.0", "v1.2.0", "v2.0.0-rc.1", "latest", "v1.10.0", "v1.2", "v2.1.0"]
    assert latest(tags, "^1.0") == "v1.10.0"
    assert latest(tags, ">=2.0.0-0 <2.1.0") == "v2.0.0-rc.1"
    assert latest(tags, ">=3") is None
    assert latest(["1.2"], "*", strict_tags=False) == "1.2"


def test_latest_breaks_precedence_ties_by_input_order() -> None:
    assert latest(["1.0.0+old", "1.0.0+new"], "1.x") == "1.0.0+new"
