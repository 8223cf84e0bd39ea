"""Where a repository's index, and a chart listed in it, are downloaded from."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from source_controller.helm.errors import ChartPullError

__all__ = ["index_url", "resolve_chart_url"]


def index_url(repository_url: str) -> str:
    """`<url>/index.yaml`, keeping the query (a token some repositories need)."""
    parts = urlsplit(repository_url)
    return parts._replace(path=parts.path.rstrip("/") + "/index.yaml").geturl()


def resolve_chart_url(repository_url: str, chart_url: str) -> str:
    """`chart_url` as is when absolute, else relative to the repository URL (as a
    directory, the way Helm resolves it, so `charts/x.tgz` lands under the repository)."""
    if urlsplit(chart_url).scheme:
        resolved = chart_url
    else:
        base = urlsplit(repository_url)
        directory = base._replace(path=base.path.rstrip("/") + "/", fragment="").geturl()
        resolved = urljoin(directory, chart_url)
        query = base.query
        if query and not urlsplit(resolved).query:
            resolved = urlsplit(resolved)._replace(query=query).geturl()
    if urlsplit(resolved).scheme not in ("http", "https"):
        raise ChartPullError(f"chart URL '{chart_url}' is not an http(s) URL")
    return resolved
