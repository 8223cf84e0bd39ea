"""gotk_runtime: what every gotk controller runs on.

A service defines a ``Reconciler`` per kind, parses ``runtime_flags``, and runs a
``Manager``; reconcilers use ``Conditions`` on the raw object, raise ``Stalling`` /
``Waiting`` / any error, return a ``Result``, and talk to the cluster through ``KubeClient``.
"""

from gotk_runtime.conditions import Conditions, ReadySummary
from gotk_runtime.controller import Controller
from gotk_runtime.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    GenericError,
    Gone,
    GotkError,
    Invalid,
    KubeError,
    KubeUnavailable,
    NoKindMatch,
    NotFound,
    ReconcileError,
    ServerError,
    Stalling,
    TooManyRequests,
    Unauthorized,
    Waiting,
)
from gotk_runtime.events import EventRecorder
from gotk_runtime.flags import RuntimeOptions, parse_runtime_options, runtime_flags
from gotk_runtime.informer import Informer, trim_object
from gotk_runtime.kube import KubeClient, Resource, load_config, object_key
from gotk_runtime.leader import LeaderElector, LeadershipLost
from gotk_runtime.logging import bind_object, configure_logging
from gotk_runtime.manager import Manager
from gotk_runtime.reconcile import Reconciler, Result, note_attempt
from gotk_runtime.status import patch_progress
from gotk_runtime.workqueue import WorkQueue

__all__ = [
    "AlreadyExists",
    "Conditions",
    "Conflict",
    "Controller",
    "EventRecorder",
    "Forbidden",
    "GenericError",
    "Gone",
    "GotkError",
    "Informer",
    "Invalid",
    "KubeClient",
    "KubeError",
    "KubeUnavailable",
    "LeaderElector",
    "LeadershipLost",
    "Manager",
    "NoKindMatch",
    "NotFound",
    "ReadySummary",
    "ReconcileError",
    "Reconciler",
    "Resource",
    "Result",
    "RuntimeOptions",
    "ServerError",
    "Stalling",
    "TooManyRequests",
    "Unauthorized",
    "Waiting",
    "WorkQueue",
    "bind_object",
    "configure_logging",
    "load_config",
    "note_attempt",
    "object_key",
    "parse_runtime_options",
    "patch_progress",
    "runtime_flags",
    "trim_object",
]
