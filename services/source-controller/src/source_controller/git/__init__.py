"""The Git layer of source-controller: credentials, ref resolution and checkout via `git`."""

from source_controller.git.auth import GitAuth, auth_from_secret
from source_controller.git.checkout import Commit, Signature, checkout, remote_head
from source_controller.git.errors import (
    AuthenticationFailed,
    CommitNotFound,
    CredentialsRejected,
    EmptyRepository,
    GitError,
    GitOperationFailed,
    GitTimeout,
    HostKeyVerificationFailed,
    InvalidSemverRange,
    NoMatchingTag,
    RefNotFound,
    RemoteUnreachable,
    RepositoryNotFound,
    TLSVerificationFailed,
    URLInvalid,
)
from source_controller.git.refs import DEFAULT_BRANCH, GitRef, RefKind, RemoteHead, format_revision
from source_controller.git.url import GitURL, parse_git_url

__all__ = [
    "DEFAULT_BRANCH",
    "AuthenticationFailed",
    "Commit",
    "CommitNotFound",
    "CredentialsRejected",
    "EmptyRepository",
    "GitAuth",
    "GitError",
    "GitOperationFailed",
    "GitRef",
    "GitTimeout",
    "GitURL",
    "HostKeyVerificationFailed",
    "InvalidSemverRange",
    "NoMatchingTag",
    "RefKind",
    "RefNotFound",
    "RemoteHead",
    "RemoteUnreachable",
    "RepositoryNotFound",
    "Signature",
    "TLSVerificationFailed",
    "URLInvalid",
    "auth_from_secret",
    "checkout",
    "format_revision",
    "parse_git_url",
    "remote_head",
]
