"""The web app of ``assay monitor``: dashboard, status page, REST API, ``/metrics``.

``create_app(view)`` builds a Starlette app over a ``MonitorView`` (the runner, or a
``StaticView`` over a config and a store). Everything it needs is made here and kept on
``app.state`` (the view, the templates, the OpenAPI document, the metrics registry):
nothing is global, and two apps in one process do not share anything.

Paths::

    /                          dashboard                          token
    /monitors/<name>           one monitor                        token
    /status                    public status page                 public
    /api/...                   REST API (openapi.yaml)            token (bearer only)
    /api/heartbeat/<name>      heartbeat pings                    public
    /metrics                   Prometheus text format             public
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Lifespan

from .api import api_routes, view_of
from .metrics import metrics_registry, render_metrics
from .openapi import load_document
from .pages import page_routes, template_environment
from .problems import exception_handlers
from .security import SecurityHeaders, TokenAuth
from .view import MonitorView


async def metrics(request: Request) -> Response:
    """GET /metrics: the collector reads the store at scrape time."""
    body = await run_in_threadpool(render_metrics, request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def create_app(state: MonitorView, *, auth_token: str | None = None,
               lifespan: Lifespan[Starlette] | None = None) -> Starlette:
    """The web app over ``state``.

    ``auth_token``: require ``Authorization: Bearer <token>`` everywhere but ``/status``,
    ``/api/heartbeat/...`` and ``/metrics`` (pages also take a session cookie, see
    ``security``); None leaves everything open (the dashboard binds to 127.0.0.1 by
    default). ``lifespan`` is handed to Starlette (the runner starts its loop there).

    >>> app = create_app(StaticView(config, store), auth_token="s3cret")  # doctest: +SKIP
    """
    if auth_token is not None and not auth_token.strip():
        raise ValueError("auth_token must be None or a non-empty token")
    app = Starlette(
        routes=[*page_routes(), *api_routes(), Route("/metrics", metrics, methods=["GET"])],
        middleware=[Middleware(SecurityHeaders), Middleware(TokenAuth, token=auth_token)],
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    # "/api/silences/" is no path of the API: a 404, not a redirect.
    app.router.redirect_slashes = False
    app.state.view = state
    app.state.templates = template_environment()
    app.state.openapi = load_document(auth=auth_token is not None)
    app.state.metrics = metrics_registry(state, started_at=state.now())
    return app


__all__ = ["create_app", "view_of"]
