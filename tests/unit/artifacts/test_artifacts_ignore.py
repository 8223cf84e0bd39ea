"""`.sourceignore` / `spec.ignore` matching, checked against Flux's matcher behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest
from gotk_artifacts.ignore import (
    DEFAULT_EXCLUDE_PATTERNS,
    VCS_PATTERNS,
    IgnoreMatcher,
    load_ignore_patterns,
    parse_pattern,
    read_patterns,
    source_ignore_matcher,
)


@pytest.mark.parametrize(
    ("path", "is_dir", "excluded"),
    [
        (".git", True, True),
        (".git/objects/ab", False, True),
        ("sub/.git", True, True),
        (".gitignore", False, True),
        (".gitmodules", False, True),
        (".gitattributes", False, True),
        (".github", True, True),
        (".github/workflows/ci.yaml", False, True),
        (".circleci/config.yml", False, True),
        (".travis.yml", False, True),
        (".gitlab-ci.yml", False, True),
        ("appveyor.yml", False, True),
        (".drone.yml", False, True),
        ("cloudbuild.yaml", False, True),
        ("codeship-services.yml", False, True),
        ("codeship-steps.yml", False, True),
        ("docs/logo.png", False, True),
        ("img/a.JPG", False, False),  # Go's filepath.Match is case-sensitive
        ("img/a.jpeg", False, True),
        ("x.gif", False, True),
        ("movie.wmv", False, True),
        ("movie.flv", False, True),
        ("bundle.tar.gz", False, True),
        ("deep/dir/bundle.zip", False, True),
        (".goreleaser.yml", False, True),
        ("a/b/.sops.yaml", False, True),
        ("clusters/prod/.flux.yaml", False, True),
        ("clusters/prod/kustomization.yaml", False, False),
        ("apps/deploy.yaml", False, False),
        ("README.md", False, False),
        ("github/notes.md", False, False),
        (".github", False, False),  # `.github/` is directory-only
    ],
)
def test_default_exclusions_match_flux(
    tmp_path: Path, path: str, is_dir: bool, excluded: bool
) -> None:
    matcher = source_ignore_matcher(tmp_path)
    assert matcher(path, is_dir) is excluded


def test_default_lists_are_fluxs() -> None:
    assert VCS_PATTERNS == (".git/", ".gitignore", ".gitmodules", ".gitattributes")
    assert "*.tar.gz" in DEFAULT_EXCLUDE_PATTERNS
    assert "**/.sops.yaml" in DEFAULT_EXCLUDE_PATTERNS
    assert len(DEFAULT_EXCLUDE_PATTERNS) == 20


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "excluded"),
    [
        ("*.md", "docs/guide.md", False, True),
        ("*.md", "docs", True, False),
        ("/*.md", "README.md", False, True),
        ("/*.md", "docs/guide.md", False, False),  # leading slash anchors
        ("docs/", "docs", True, True),
        ("docs/", "docs/a/b.yaml", False, True),  # everything below goes too
        ("docs/", "docs", False, False),  # a file named docs is not a directory
        ("deploy/*.txt", "deploy/a.txt", False, True),
        ("deploy/*.txt", "deploy/sub/a.txt", False, False),
        ("deploy/**/*.txt", "deploy/sub/x/a.txt", False, True),
        ("**/secret.yaml", "a/b/secret.yaml", False, True),
        ("**/secret.yaml", "secret.yaml", False, True),
        ("a/**", "a/b/c", False, True),
        ("file?.yaml", "file1.yaml", False, True),
        ("file?.yaml", "file10.yaml", False, False),
        ("file[0-9].yaml", "file7.yaml", False, True),
        ("file[^0-9].yaml", "file7.yaml", False, False),
        ("file[^0-9].yaml", "fileA.yaml", False, True),
        (r"\*.yaml", "*.yaml", False, True),
        (r"\*.yaml", "a.yaml", False, False),
        ("broken[", "broken[", False, False),  # malformed pattern never matches, as in Go
        ("*.yaml\n!keep.yaml", "keep.yaml", False, False),
        ("*.yaml\n!keep.yaml", "drop.yaml", False, True),
        ("!keep.yaml\n*.yaml", "keep.yaml", False, True),  # the last match wins
        ("/*\n!/deploy", "deploy/app.yaml", False, False),  # Flux's documented example
        ("/*\n!/deploy", "src/main.go", False, True),
        ("/*\n!/deploy\n/deploy/**/*.md", "deploy/x/README.md", False, True),
        ("# a comment\n\n   \nfoo", "foo", False, True),
        ("# foo", "# foo", False, False),
        ("trailing   ", "trailing", False, True),
        ("crlf.yaml\r\nother", "crlf.yaml", False, True),
    ],
)
def test_pattern_semantics(patterns: str, path: str, is_dir: bool, excluded: bool) -> None:
    matcher = IgnoreMatcher(read_patterns(patterns))
    assert matcher(path, is_dir) is excluded


def test_nested_sourceignore_applies_only_below_its_directory(tmp_path: Path) -> None:
    (tmp_path / "team-a" / "sub").mkdir(parents=True)
    (tmp_path / "team-b").mkdir()
    (tmp_path / "team-a" / ".sourceignore").write_text("*.txt\n")
    (tmp_path / "team-a" / "sub" / ".sourceignore").write_text("!keep.txt\n")
    (tmp_path / ".sourceignore").write_text("/build\n")
    matcher = source_ignore_matcher(tmp_path)
    assert matcher("team-a/notes.txt", False)
    assert matcher("team-a/sub/notes.txt", False)
    assert not matcher("team-a/sub/keep.txt", False)
    assert not matcher("team-b/notes.txt", False)
    assert not matcher("notes.txt", False)
    assert matcher("build", True)
    assert not matcher("team-a/build", True)


def test_patterns_load_parents_first_and_skip_git(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / ".sourceignore").write_text("everything\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / ".sourceignore").write_text("x\n")
    (tmp_path / "a" / ".sourceignore").write_text("y\n")
    (tmp_path / ".sourceignore").write_text("z\n")
    loaded = load_ignore_patterns(tmp_path)
    assert [(p.domain, p.parts) for p in loaded] == [
        ((), ("z",)),
        (("a",), ("y",)),
        (("b",), ("x",)),
    ]


def test_symlinked_directories_are_not_searched_for_ignore_files(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / ".sourceignore").write_text("a\n")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert [p.domain for p in load_ignore_patterns(tmp_path)] == [("real",)]


def test_user_patterns_replace_the_default_exclusions_but_not_vcs(tmp_path: Path) -> None:
    # As Flux's SourceIgnoreFilter: any user pattern drops the image/CI/archive defaults.
    assert source_ignore_matcher(tmp_path)("logo.png", False)
    spec = source_ignore_matcher(tmp_path, spec_ignore="*.md\n")
    assert not spec("logo.png", False)
    assert spec("README.md", False)
    assert spec(".git/config", False)
    (tmp_path / ".sourceignore").write_text("*.md\n")
    from_file = source_ignore_matcher(tmp_path)
    assert not from_file("logo.png", False)
    assert from_file(".gitignore", False)


def test_spec_ignore_overrides_sourceignore(tmp_path: Path) -> None:
    (tmp_path / ".sourceignore").write_text("*.yaml\n")
    matcher = source_ignore_matcher(tmp_path, spec_ignore="!important.yaml\n")
    assert matcher("other.yaml", False)
    assert not matcher("important.yaml", False)


def test_spec_ignore_with_only_comments_keeps_the_defaults(tmp_path: Path) -> None:
    assert source_ignore_matcher(tmp_path, spec_ignore="# only a comment\n")("a.png", False)


def test_prune_flag_is_off_when_any_pattern_re_includes() -> None:
    assert IgnoreMatcher(read_patterns("a/\nb")).prunes_excluded_dirs
    assert not IgnoreMatcher(read_patterns("a/\n!a/b")).prunes_excluded_dirs


def test_parse_pattern_flags() -> None:
    pattern = parse_pattern("!deploy/**/x/", ("team",))
    assert (pattern.inclusion, pattern.dir_only, pattern.is_glob) == (True, True, True)
    assert pattern.parts == ("deploy", "**", "x")
    assert pattern.domain == ("team",)
