"""Where gotk finds the binaries it runs: $GOTK_TOOLS_BIN, the tools cache, then PATH."""

from __future__ import annotations

from pathlib import Path

import pytest
from gotk_runtime import tools


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_env_directory_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = executable(tmp_path / "env" / "sometool")
    executable(tmp_path / "path" / "sometool")
    monkeypatch.setenv(tools.TOOLS_BIN_ENV, str(tmp_path / "env"))
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    assert tools.find_tool("sometool") == wanted


def test_path_is_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = executable(tmp_path / "path" / "sometool")
    monkeypatch.setenv(tools.TOOLS_BIN_ENV, str(tmp_path / "empty"))
    monkeypatch.setattr(tools, "DEFAULT_TOOLS_BIN", tmp_path / "cache")
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    assert tools.find_tool("sometool") == wanted


def test_cache_directory_comes_before_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = executable(tmp_path / "cache" / "sometool")
    executable(tmp_path / "path" / "sometool")
    monkeypatch.delenv(tools.TOOLS_BIN_ENV, raising=False)
    monkeypatch.setattr(tools, "DEFAULT_TOOLS_BIN", tmp_path / "cache")
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    assert tools.find_tool("sometool") == wanted


def test_missing_tool_names_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(tools.ToolNotFound, match="no-such-tool binary not found"):
        tools.find_tool("no-such-tool")
