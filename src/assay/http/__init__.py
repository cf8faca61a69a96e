"""The HTTP layer: building requests, sending them, authenticating, reproducing them.

- ``build_request`` / ``build_raw_request``: a ``Case`` or a suite step to a ``Request``.
- ``HttpxTransport`` / ``AppTransport``: send a ``Request``, get an ``Exchange`` (never an
  exception for a misbehaving target).
- ``Authenticator``: credentials and fetched tokens on every request.
- ``to_curl``: a shell command that reproduces a request, secrets as ``$ENV`` references.
- ``ensure_reachable``: fail fast (``TargetUnreachable``) when the target is not there.
"""

from .app import AppTransport
from .appload import detect_app_kind, load_app
from .auth import Authenticator, Credential
from .body import encode_body
from .build import build_raw_request, build_request, join_url
from .curl import to_curl
from .failures import failure_from_exception
from .probe import ensure_reachable
from .ratelimit import RatePacer, pace
from .tokens import CachedToken, refresh_due
from .transport import HttpOptions, HttpxTransport, Transport

__all__ = [
    "AppTransport",
    "Authenticator",
    "CachedToken",
    "Credential",
    "HttpOptions",
    "HttpxTransport",
    "RatePacer",
    "Transport",
    "build_raw_request",
    "build_request",
    "detect_app_kind",
    "encode_body",
    "ensure_reachable",
    "failure_from_exception",
    "join_url",
    "load_app",
    "pace",
    "refresh_due",
    "to_curl",
]
