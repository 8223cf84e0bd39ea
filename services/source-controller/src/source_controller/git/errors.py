"""The Git error tree. Each class carries the Flux condition reason a GitRepository reports.

Flux reports every clone failure, whatever its cause, with `GitOperationFailed`; bad
secret data with `AuthenticationFailed`; an unparsable URL with `URLInvalid`. The
subclasses below keep that reason and say *which* clone failure it was, so a
reconciler can choose a message, an event or a retry policy without parsing text.

Messages name the URL without userinfo and never contain a credential.
"""

from __future__ import annotations

from gotk_api.conditions import (
    AUTHENTICATION_FAILED_REASON,
    EMPTY_GIT_REPOSITORY_REASON,
    GIT_OPERATION_FAILED_REASON,
    URL_INVALID_REASON,
)
from gotk_runtime.errors import GotkError

__all__ = [
    "AuthenticationFailed",
    "CommitNotFound",
    "CredentialsRejected",
    "EmptyRepository",
    "GitError",
    "GitOperationFailed",
    "GitTimeout",
    "HostKeyVerificationFailed",
    "InvalidRef",
    "InvalidSemverRange",
    "NoMatchingTag",
    "RefNotFound",
    "RemoteUnreachable",
    "RepositoryNotFound",
    "TLSVerificationFailed",
    "URLInvalid",
]


class GitError(GotkError):
    """Root of every Git failure. `stalling` is True when only a spec change can help."""

    stalling: bool = False


class URLInvalid(GitError):
    """`spec.url` cannot be parsed or uses a scheme gotk does not speak."""

    reason = URL_INVALID_REASON
    stalling = True


class AuthenticationFailed(GitError):
    """The Secret's data cannot form valid credentials (a key is missing or unreadable)."""

    reason = AUTHENTICATION_FAILED_REASON


class GitOperationFailed(GitError):
    """A git command failed; the subclass says why when git's output tells us."""

    reason = GIT_OPERATION_FAILED_REASON


class RefNotFound(GitOperationFailed):
    """The branch, tag or ref name does not exist on the remote."""


class CommitNotFound(GitOperationFailed):
    """`ref.commit` is not in what was fetched (not on the branch, or not at all)."""


class InvalidSemverRange(GitOperationFailed):
    """`ref.semver` is not a valid range."""

    stalling = True


class InvalidRef(GitOperationFailed):
    """`ref.commit` is not hexadecimal, or a branch/tag/name could be taken for an option."""

    stalling = True


class NoMatchingTag(GitOperationFailed):
    """No tag of the remote satisfies `ref.semver`."""


class CredentialsRejected(GitOperationFailed):
    """The server refused the credentials, or asked for some and none were given."""


class HostKeyVerificationFailed(GitOperationFailed):
    """The SSH host key is not in `known_hosts`, or differs from it."""


class TLSVerificationFailed(GitOperationFailed):
    """The HTTPS server certificate is not trusted by the system or `ca.crt`."""


class RemoteUnreachable(GitOperationFailed):
    """The host could not be resolved or connected to."""


class RepositoryNotFound(GitOperationFailed):
    """The server answered, but has no repository at that path."""


class GitTimeout(GitOperationFailed):
    """The operation ran past `spec.timeout`; the git process group was killed."""


class EmptyRepository(GitError):
    """The remote repository has no refs at all."""

    reason = EMPTY_GIT_REPOSITORY_REASON
