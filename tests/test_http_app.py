"""AppTransport: ASGI and WSGI applications in-process, lifespan once per run, crashing apps,
and the errors of ``--app module:attribute``."""

from __future__ import annotations

import asyncio
import json
import textwrap

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from assay.core.errors import TargetUnreachable, UsageError
from assay.core.records import Request
from assay.http import AppTransport, detect_app_kind


def run(coro):
    return asyncio.run(coro)


class LifespanCountingApp:
    """An ASGI app counting lifespan events and the requests it answered."""

    def __init__(self):
        self.startups = 0
        self.shutdowns = 0
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.startups += 1
                    await send({"type": "lifespan.startup.complete"})
                else:
                    self.shutdowns += 1
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.paths.append(scope["path"] + "?" + scope["query_string"].decode())
        payload = json.dumps({"startups": self.startups, "echo": body.decode()}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})


def test_asgi_lifespan_runs_once_across_requests():
    app = LifespanCountingApp()

    async def go():
        async with AppTransport(app) as transport:
            results = [
                await transport.send(Request("POST", f"http://app/items?n={n}", body=b"hi"))
                for n in range(3)
            ]
            return results, app.startups, app.shutdowns

    exchanges, startups_during, shutdowns_during = run(go())
    assert [e.response.status for e in exchanges] == [200, 200, 200]
    assert exchanges[2].response.json() == {"startups": 1, "echo": "hi"}
    assert app.paths == ["/items?n=0", "/items?n=1", "/items?n=2"]
    assert (startups_during, shutdowns_during) == (1, 0)
    assert (app.startups, app.shutdowns) == (1, 1)
    assert exchanges[0].response.timings.total > 0


async def no_lifespan_app(scope, receive, send):
    assert scope["type"] == "http"  # the usual way of not supporting lifespan
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_app_without_lifespan_support_still_works():
    async def go():
        async with AppTransport(no_lifespan_app) as transport:
            return await transport.send(Request("GET", "http://app/"))

    assert run(go()).response.status == 204


def test_startup_failure_stops_the_run():
    async def failing(scope, receive, send):
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database is down"})

    async def go():
        async with AppTransport(failing) as transport:
            return await transport.send(Request("GET", "http://app/"))

    with pytest.raises(TargetUnreachable, match="database is down"):
        run(go())


def wsgi_app(environ, start_response):
    body = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {environ['QUERY_STRING']}"
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-A", "1"), ("X-A", "2")])
    return [body.encode()]


def test_wsgi_function_in_process():
    async def go():
        async with AppTransport(wsgi_app) as transport:
            return await transport.send(Request("DELETE", "http://app/books/1?force=true"))

    response = run(go()).response
    assert response.status == 201
    assert response.text == "DELETE /books/1 force=true"
    assert response.header_values("x-a") == ["1", "2"]


def test_detects_asgi_and_wsgi():
    assert detect_app_kind(wsgi_app) == "wsgi"
    assert detect_app_kind(no_lifespan_app) == "asgi"
    assert detect_app_kind(LifespanCountingApp()) == "asgi"
    with pytest.raises(UsageError, match="ASGI app .* or a WSGI app"):
        detect_app_kind(lambda: None)


async def crashing_app(scope, receive, send):
    if scope["type"] != "http":
        return
    raise ValueError("boom: no such book")


def test_app_exception_becomes_a_500_with_the_exception_text():
    async def go():
        async with AppTransport(crashing_app) as transport:
            return await transport.send(Request("GET", "http://app/books/1"))

    exchange = run(go())
    assert exchange.failure is None
    assert exchange.response.status == 500
    assert exchange.response.text == "ValueError: boom: no such book\n"


def test_app_crashing_halfway_through_a_response_is_an_app_error():
    async def half(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("lost the database")

    async def go():
        async with AppTransport(half) as transport:
            return await transport.send(Request("GET", "http://app/"))

    failure = run(go()).failure
    assert (failure.kind, failure.message) == ("app_error", "RuntimeError: lost the database")


def test_starlette_error_page_is_kept_even_though_starlette_reraises():
    def broken(request):
        raise KeyError("title")

    def ok(request):
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/broken", broken), Route("/ok", ok)])

    async def go():
        async with AppTransport(app) as transport:
            return [await transport.send(Request("GET", f"http://app/{p}"))
                    for p in ("broken", "ok")]

    broken_exchange, ok_exchange = run(go())
    assert broken_exchange.response.status == 500
    assert ok_exchange.response.json() == {"ok": True}


def test_wsgi_exception_becomes_a_500():
    def wsgi_crash(environ, start_response):
        raise ZeroDivisionError("division by zero")

    async def go():
        async with AppTransport(wsgi_crash) as transport:
            return await transport.send(Request("GET", "http://app/"))

    response = run(go()).response
    assert response.status == 500
    assert response.text.startswith("ZeroDivisionError: division by zero")


def test_slow_asgi_app_times_out():
    async def slow(scope, receive, send):
        if scope["type"] != "http":
            return
        await asyncio.sleep(5)

    async def go():
        async with AppTransport(slow, timeout=0.1) as transport:
            return await transport.send(Request("GET", "http://app/"))

    failure = run(go()).failure
    assert (failure.kind, failure.message) == ("timeout", "no response within 0.1 s")


# -- --app module:attribute ------------------------------------------------------------------


@pytest.fixture
def app_module(tmp_path, monkeypatch):
    """A module ``assay_testapp_mod`` on sys.path with an app, a factory and a non-app."""
    (tmp_path / "assay_testapp_mod.py").write_text(textwrap.dedent("""
        def wsgi(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"from module"]

        def create_app():
            return wsgi

        class Holder:
            app = wsgi

        NOT_AN_APP = 42
    """))
    (tmp_path / "assay_testapp_broken.py").write_text("import assay_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "assay_testapp_mod"


@pytest.mark.parametrize("attr", ["wsgi", "create_app()", "Holder.app"])
def test_from_path_imports_attribute_factory_or_nested(app_module, attr):
    async def go():
        transport = AppTransport.from_path(f"{app_module}:{attr}", app_dir=None)
        async with transport:
            return await transport.send(Request("GET", "http://app/"))

    assert run(go()).response.text == "from module"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("assay_no_such_module:app", "module 'assay_no_such_module' not found"),
        ("assay_testapp_mod:missing", "has no attribute 'missing'"),
        ("assay_testapp_mod:NOT_AN_APP", "expected a callable, found int"),
        ("assay_testapp_mod", "expected module:attribute"),
        ("assay_testapp_broken:app", "importing 'assay_testapp_broken' failed: ModuleNotFound"),
    ],
)
def test_from_path_errors_name_the_flag(app_module, path, message):
    with pytest.raises(UsageError, match="--app") as info:
        AppTransport.from_path(path, app_dir=None)
    assert message in str(info.value)


def test_app_transport_paces_requests_to_the_rate_limit():
    calls = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def scenario():
        transport = AppTransport(app, lifespan=False, rate_limit=1000.0)
        assert transport._pacer is not None and transport._pacer.reserve(0.0) == 0.0
        async with transport:
            for n in range(3):
                exchange = await transport.send(Request("GET", f"http://app/{n}"))
                assert exchange.response.status == 204
        return calls

    assert asyncio.run(scenario()) == ["/0", "/1", "/2"]
