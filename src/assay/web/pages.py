"""The server-rendered pages: ``/`` (dashboard), ``/monitors/<name>``, ``/status`` (public),
and the dashboard's pause and resume buttons.

Templates are Jinja2 with autoescaping on: every name, reason and URL from the config or the
API is escaped; the charts are SVG drawn by ``charts`` (which escapes its own texts). Each
page gets a fresh nonce, and its Content-Security-Policy allows only the page's own inline
style and script carrying it: no other script, no framing, forms posting to this origin.

The pause and resume buttons are forms that post to ``/monitors/<name>/pause|resume``. A
page cookie authenticates them (``security``), so they also check that the request comes
from this origin (``Sec-Fetch-Site``, ``Origin``): another site cannot press them.
"""

from __future__ import annotations

import secrets
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from . import pagedata
from .api import view_of

DASHBOARD_REFRESH_S = 30


def template_environment() -> Environment:
    """The Jinja2 environment of the pages (templates in ``templates/``)."""
    return Environment(loader=PackageLoader("assay.web", "templates"),
                       autoescape=select_autoescape(["html"]), auto_reload=False)


def content_security_policy(nonce: str) -> str:
    """The CSP of a page whose inline ``<style>`` and ``<script>`` carry ``nonce``."""
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def render(request: Request, template: str, data: dict[str, Any], *, status: int = 200,
           refresh: int | None = None) -> Response:
    """``template`` filled with ``data``, with a fresh nonce and its CSP."""
    nonce = secrets.token_urlsafe(16)
    environment: Environment = request.app.state.templates
    html = environment.get_template(template).render(**data, nonce=nonce, refresh=refresh)
    return HTMLResponse(html, status, headers={
        "Content-Security-Policy": content_security_policy(nonce),
        "Cache-Control": "no-store"})


def error_page(request: Request, status: int, detail: str) -> Response:
    """An HTML error page (pages answer people, not programs)."""
    return render(request, "error.html", {"status": status, "title": HTTPStatus(status).phrase,
                                          "detail": detail}, status=status)


async def dashboard(request: Request) -> Response:
    """GET /: every monitor, its state, uptimes and latency sparkline."""
    data = await run_in_threadpool(pagedata.dashboard, view_of(request))
    return render(request, "dashboard.html", data, refresh=DASHBOARD_REFRESH_S)


async def monitor_detail(request: Request) -> Response:
    """GET /monitors/<name>: one monitor in detail (``?range=24h|7d|30d`` for the chart)."""
    view = view_of(request)
    name = request.path_params["name"]
    monitor = view.config.monitor(name)
    if monitor is None:
        return error_page(request, 404, f"There is no monitor {name!r}.")
    range_name = request.query_params.get("range", "24h")
    if range_name not in pagedata.RANGES:
        return error_page(request, 400, f"Unknown range {range_name!r}; expected one of "
                                        f"{', '.join(pagedata.RANGES)}.")
    data = await run_in_threadpool(pagedata.monitor_page, view, monitor, range_name)
    return render(request, "monitor.html", data)


async def status(request: Request) -> Response:
    """GET /status: the public status page."""
    data = await run_in_threadpool(pagedata.status_page, view_of(request))
    return render(request, "status.html", data, refresh=60)


def same_origin(request: Request) -> bool:
    """Whether a browser sent ``request`` from a page of this origin (requests from other
    programs carry neither header and pass: they need the token anyway when one is set)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


async def pause_button(request: Request) -> Response:
    """POST /monitors/<name>/pause (the dashboard's button)."""
    return await _toggle(request, paused=True)


async def resume_button(request: Request) -> Response:
    """POST /monitors/<name>/resume (the dashboard's button)."""
    return await _toggle(request, paused=False)


async def _toggle(request: Request, *, paused: bool) -> Response:
    if not same_origin(request):
        return error_page(request, 403, "This form can only be sent from the dashboard.")
    view = view_of(request)
    monitor = view.config.monitor(request.path_params["name"])
    if monitor is None:
        return error_page(request, 404, f"There is no monitor {request.path_params['name']!r}.")
    await run_in_threadpool(view.pause if paused else view.resume, monitor.name)
    back = ("/monitors/" + quote(monitor.name, safe="")
            if request.query_params.get("back") == "monitor" else "/")
    return RedirectResponse(back, status_code=303)


def page_routes() -> list[Route]:
    """The pages' routes."""
    return [
        Route("/", dashboard, methods=["GET"]),
        Route("/status", status, methods=["GET"]),
        Route("/monitors/{name:path}/pause", pause_button, methods=["POST"]),
        Route("/monitors/{name:path}/resume", resume_button, methods=["POST"]),
        Route("/monitors/{name:path}", monitor_detail, methods=["GET"]),
    ]
