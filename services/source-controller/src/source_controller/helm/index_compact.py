"""Turn a Helm repository index.yaml into gotk's compact index artifact.

Flux parses the whole index into Helm's structs and stores all of it as JSON; a 22 MiB
index costs it ~800 MiB. gotk keeps only what choosing and downloading a chart needs
(see KEPT_FIELDS) and parses one chart at a time: the `entries` block mapping is split
at its keys, each chart's YAML is parsed alone with the Rust-backed `yaml_rs`, compacted
and dropped. Only when the index does not have the plain block layout `helm repo index`
writes (flow style, anchors across charts, odd indentation, ...) is it parsed whole.

The artifact is JSON (hence also valid YAML, as Flux's `index-<hex>.yaml` is) with one
chart per line, so a lookup can find one chart's line without parsing the others:

    {"apiVersion":"v1","generated":"...","entries":{
    "alpine":[{"name":"alpine","version":"0.2.0","urls":[...],...}],
    "zeta":[...]
    }}

This module runs in the child process of index_worker and imports nothing from gotk up
front (gotk_artifacts costs the child half a second); only an index with both an anchor and
an alias loads `gotk_artifacts.yaml_guard`, which refuses one whose aliases would expand it
past 128 MiB before yaml_rs expands anything (a 10 MiB anchored scalar aliased 2000 times
would otherwise be 20 GB).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import yaml_rs

__all__ = [
    "KEPT_FIELDS",
    "CompactStats",
    "IndexFormatError",
    "compact_entry",
    "compact_index",
    "parse_index_document",
]

KEPT_FIELDS: Final = (
    "name",
    "version",
    "urls",
    "digest",
    "created",
    "apiVersion",
    "appVersion",
    "kubeVersion",
    "type",
    "deprecated",
)
_STRING_FIELDS: Final = ("name", "version", "digest", "created", "apiVersion", "appVersion")
_TRUE_WORDS: Final = frozenset({"true", "yes", "y", "on"})
_MESSAGE_LIMIT: Final = 300


class IndexFormatError(ValueError):
    """The index is empty, not YAML, or not shaped like a Helm repository index."""


@dataclass(frozen=True, slots=True)
class CompactStats:
    charts: int
    versions: int
    chunked: bool
    """False when the index had to be parsed whole."""


class _NotChunkable(Exception):
    """The layout is not the plain block style; parse the whole document instead."""


# --- compaction of one chart version


def _scalar_text(value: Any) -> str | None:
    """A YAML scalar as the string Helm's string fields hold (an unquoted 1.10 is 1.1 in
    Flux too, since sigs.k8s.io/yaml formats the float)."""
    if type(value) is str:
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _resolve_merge_key(raw: dict[str, Any]) -> dict[str, Any]:
    """YAML 1.1's `<<` merge key, which Go's YAML library honours and yaml_rs leaves as a
    plain key: explicit keys win, then the merged maps in order."""
    sources = raw["<<"]
    merged: dict[str, Any] = {}
    for source in reversed(sources if isinstance(sources, list) else [sources]):
        if isinstance(source, dict):
            merged.update(source)
    merged.update((k, v) for k, v in raw.items() if k != "<<")
    return merged


def compact_entry(raw: Any) -> dict[str, Any] | None:
    """The kept fields of one index entry, or None when it is not a usable entry."""
    if not isinstance(raw, dict):
        return None
    if "<<" in raw:
        raw = _resolve_merge_key(raw)
    entry: dict[str, Any] = {}
    for key in _STRING_FIELDS:
        text = _scalar_text(raw.get(key))
        if text:
            entry[key] = text
    if "name" not in entry or "version" not in entry:
        return None  # Helm's validation drops such entries (Flux keeps the rest of the index)
    urls = raw.get("urls")
    if isinstance(urls, list):
        kept = [u for u in urls if isinstance(u, str) and u]
        if kept:
            entry["urls"] = kept
    for key in ("kubeVersion", "type"):
        text = _scalar_text(raw.get(key))
        if text:
            entry[key] = text
    deprecated = raw.get("deprecated")
    if deprecated is True or (
        isinstance(deprecated, str) and deprecated.strip().lower() in _TRUE_WORDS
    ):
        entry["deprecated"] = True
    entry.setdefault("apiVersion", "v1")  # Helm's default for entries without one
    return entry


def _compact_chart(name: str, versions: Any) -> list[dict[str, Any]]:
    if versions is None:
        return []
    if not isinstance(versions, list):
        raise IndexFormatError(f"entries.{name} is not a list of chart versions")
    compacted = (compact_entry(v) for v in versions)
    return [e for e in compacted if e is not None]


# --- parsing


def _loads(text: str, where: str) -> Any:
    try:
        return yaml_rs.loads(text, parse_datetime=False)
    except yaml_rs.YAMLDecodeError as exc:
        detail = " ".join(str(exc).split())[:_MESSAGE_LIMIT]
        raise IndexFormatError(f"invalid YAML in {where}: {detail}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise IndexFormatError(f"invalid YAML in {where}: {type(exc).__name__}") from None


def parse_index_document(text: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Parse a whole index; return (header fields, compacted entries)."""
    doc = _loads(text, "index")
    if doc is None:
        raise IndexFormatError("index is empty")
    if not isinstance(doc, dict):
        raise IndexFormatError("index is not a YAML mapping")
    entries = doc.get("entries")
    if entries is not None and not isinstance(entries, dict):
        raise IndexFormatError("index 'entries' is not a mapping")
    header = {k: v for k, v in doc.items() if k != "entries"}
    compacted = {str(name): _compact_chart(str(name), v) for name, v in (entries or {}).items()}
    return header, compacted


# Every pattern starts with a newline, so the regex engine scans for it instead of trying
# a `^` anchor at each position (several times faster on a 20 MiB index).
_TOP_LEVEL_LINE: Final = re.compile(r"\n([^ \r\n#][^\n]*)")
_ENTRIES_KEY: Final = re.compile(r"entries:[ \t]*(#.*)?\r?")
_FIRST_CONTENT: Final = re.compile(r"\n( *)[^ \r\n#]")


def _split(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Cut the document into the header (everything outside `entries`) and one YAML
    snippet per chart under `entries`, each of which parses on its own.

    `text` must start with a newline. Raises _NotChunkable unless the layout is plain
    block style. A wrong cut cannot go unnoticed: it leaves a snippet that fails to parse
    (an open quote or bracket, an alias without its anchor, an indentation error), and
    then the whole document is parsed.
    """
    tops = list(_TOP_LEVEL_LINE.finditer(text))
    section: tuple[int, int] | None = None
    for i, match in enumerate(tops):
        line = match.group(1)
        if line.startswith(("\t", "%", "...", "---")) and not (i == 0 and line.rstrip() == "---"):
            raise _NotChunkable
        if line.startswith("entries:"):
            if section is not None or not _ENTRIES_KEY.fullmatch(line):
                raise _NotChunkable
            stop = tops[i + 1].start() if i + 1 < len(tops) else len(text)
            section = (match.end(), stop)
    if section is None:
        return text, []
    begin, stop = section
    header = text[:begin] + text[stop:]
    first = _FIRST_CONTENT.search(text, begin, stop)
    if first is None:
        return header, []
    indent = len(first.group(1))
    if indent == 0:
        raise _NotChunkable
    if indent > 1 and re.compile(rf"\n {{1,{indent - 1}}}[^ \r\n#]").search(text, begin, stop):
        raise _NotChunkable
    key_line = re.compile(rf"\n {{{indent}}}[^ \r\n#?-]")
    starts = [m.start() + 1 for m in key_line.finditer(text, begin, stop)]
    if not starts or not _only_comments(text[begin : starts[0]]):
        raise _NotChunkable
    return header, list(itertools.pairwise([*starts, stop]))


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def _chunked(text: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    text = "\n" + text
    header_text, snippets = _split(text)
    entries: dict[str, list[dict[str, Any]]] = {}
    for begin, end in snippets:  # sliced one at a time: never a second copy of the index
        try:
            doc = yaml_rs.loads(text[begin:end], parse_datetime=False)
        except (ValueError, TypeError, RecursionError):
            raise _NotChunkable from None
        if not isinstance(doc, dict) or len(doc) != 1:
            raise _NotChunkable
        ((name, versions),) = doc.items()
        name = str(name)
        if name in entries:
            raise IndexFormatError(f"duplicate chart '{name}' in index entries")
        entries[name] = _compact_chart(name, versions)
    try:
        header_doc = yaml_rs.loads(header_text, parse_datetime=False)
    except (ValueError, TypeError, RecursionError):
        raise _NotChunkable from None
    if header_doc is None and not snippets:
        raise IndexFormatError("index is empty")
    if header_doc is not None and (
        not isinstance(header_doc, dict) or header_doc.get("entries") is not None
    ):
        raise _NotChunkable  # not a mapping, or entries the split did not see (flow style)
    return dict(header_doc or {}), entries


def _check_aliases(text: str) -> None:
    import yaml
    from gotk_artifacts.yaml_guard import check_aliases

    try:
        check_aliases(text)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())[:_MESSAGE_LIMIT]
        raise IndexFormatError(f"invalid YAML in index: {detail}") from None


# --- the artifact


Entries = dict[str, list[dict[str, Any]]]


def _write(out: IO[bytes], header: dict[str, Any], entries: Entries) -> None:
    def dump(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    head: dict[str, Any] = {"apiVersion": _scalar_text(header.get("apiVersion"))}
    if generated := _scalar_text(header.get("generated")):
        head["generated"] = generated
    out.write(dump(head)[:-1] + b',"entries":{\n')
    names = sorted(entries)
    for i, name in enumerate(names):
        sep = b",\n" if i < len(names) - 1 else b"\n"
        out.write(dump(name) + b":" + dump(entries[name]) + sep)
    out.write(b"}}\n")


def compact_index(raw: Path, out: Path) -> CompactStats:
    """Read the index at `raw`, write the compact artifact to `out`.

    Raises IndexFormatError for anything Helm would refuse: empty, invalid YAML, no
    `apiVersion`, duplicate keys.
    """
    try:
        text = raw.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise IndexFormatError("index is not valid UTF-8") from None
    if not text.strip():
        raise IndexFormatError("index is empty")
    if "&" in text and "*" in text:
        _check_aliases(text)
    chunked = True
    try:
        header, entries = _chunked(text)
    except _NotChunkable:
        chunked = False
        header, entries = parse_index_document(text)
    del text
    if not _scalar_text(header.get("apiVersion")):
        raise IndexFormatError("no API version specified in index")
    with out.open("wb") as fh:
        _write(fh, header, entries)
    return CompactStats(
        charts=len(entries), versions=sum(len(v) for v in entries.values()), chunked=chunked
    )
