"""Helm repositories and charts: index compaction and lookup, chart download and packaging.

Deliberately empty of imports: `index_worker` runs as `python -m` in a child process and
must start without loading aiohttp or the Kubernetes client (see index_worker).
"""
