"""Parse `spec.url` into what git is given (no password) and what messages show (no userinfo)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from gotk_artifacts.urls import redact_url

from source_controller.git.errors import URLInvalid

__all__ = ["DEFAULT_SSH_USER", "GitURL", "parse_git_url"]

DEFAULT_SSH_USER = "git"
# The GitRepository CRD admits http, https and ssh; file:// exists for local tests.
SCHEMES = frozenset({"http", "https", "ssh", "file"})


@dataclass(frozen=True, slots=True, repr=False)
class GitURL:
    scheme: str
    url: str
    """What git is given: no password ever; for ssh, always a user."""
    display: str
    """What messages show: no userinfo at all."""
    origin: str
    """`scheme://host[:port]/`, the prefix that scopes http.* settings to this server."""
    username: str
    password: str

    def __repr__(self) -> str:
        return f"GitURL({self.display!r})"

    def __str__(self) -> str:
        return self.display


def parse_git_url(raw: str) -> GitURL:
    """Split credentials out of `raw`; raise `URLInvalid` for anything git should not see."""
    try:
        parts = urlsplit(raw.strip())
        _ = parts.port  # raises ValueError on a non-numeric port
    except ValueError as exc:
        raise URLInvalid(f"failed to parse url '{redact_url(raw)}': {exc}") from None
    scheme = parts.scheme.lower()
    hostport = parts.netloc.rpartition("@")[2]
    display = urlunsplit((scheme, hostport, parts.path, parts.query, ""))
    if scheme not in SCHEMES:
        raise URLInvalid(
            f"failed to parse url '{display}': scheme must be one of http, https or ssh"
        )
    if scheme != "file" and not parts.hostname:
        raise URLInvalid(f"failed to parse url '{display}': no host")
    if scheme == "file" and not parts.path:
        raise URLInvalid(f"failed to parse url '{display}': no path")
    username = unquote(parts.username or "")
    password = unquote(parts.password or "")
    if scheme == "ssh":
        user = parts.username or DEFAULT_SSH_USER
        url = urlunsplit((scheme, f"{user}@{hostport}", parts.path, parts.query, ""))
    else:
        url = display
    origin = urlunsplit((scheme, hostport, "/", "", ""))
    return GitURL(scheme, url, display, origin, username, password)
