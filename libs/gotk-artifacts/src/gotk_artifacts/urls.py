"""The one URL redactor every gotk message and log line goes through."""

from __future__ import annotations

__all__ = ["redact_url"]


def redact_url(url: str) -> str:
    """`url` without userinfo, query or fragment, any of which may carry a credential (a
    password, a token, a signed query string).

    Plain string surgery, so it never raises: a URL too broken for `urlsplit` (a bad port,
    say) is still scrubbed, and the error message about it can quote it.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    rest = rest.split("#", 1)[0].split("?", 1)[0]
    authority, slash, path = rest.partition("/")
    return f"{scheme}{sep}{authority.rpartition('@')[2]}{slash}{path}"
