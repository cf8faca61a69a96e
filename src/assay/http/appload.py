"""Finding the application behind ``--app module:attribute`` and telling ASGI from WSGI.

Every error is a ``UsageError`` located at ``--app`` that says what failed (module not
found, attribute missing, not callable) and what was expected.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from typing import Any

from assay.core.errors import UsageError

_APP_PATH = re.compile(r"(?P<module>[\w.]+):(?P<attr>[\w.]+)(?P<call>\(\s*\))?")
FLAG = "--app"


def load_app(path: str, *, app_dir: str | None = ".") -> Any:
    """The callable named by ``"package.module:attribute"``; ``"module:factory()"`` calls
    ``factory`` without arguments and returns its result.

    ``app_dir`` (default: the working directory) is put on ``sys.path`` first, as uvicorn
    does, so that ``--app main:app`` finds ``./main.py``.
    """
    match = _APP_PATH.fullmatch(path.strip())
    if not match:
        raise UsageError(
            f"expected module:attribute (for example myapi.main:app or myapi:create_app()), "
            f"found {path!r}",
            location=FLAG,
        )
    if app_dir is not None:
        directory = os.path.abspath(app_dir)
        if directory not in sys.path:
            sys.path.insert(0, directory)
    target = _resolve(_import(match["module"]), match["module"], match["attr"])
    if match["call"]:
        target = _call_factory(target, path)
    if not callable(target):
        raise UsageError(
            f"{path!r} is not an application: expected a callable, found {type(target).__name__}",
            location=FLAG,
        )
    return target


def detect_app_kind(app: Any, *, name: str | None = None) -> str:
    """``"asgi"`` or ``"wsgi"``: an ``async`` callable or one taking (scope, receive, send)
    is ASGI; one taking (environ, start_response) is WSGI."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        params = inspect.signature(app).parameters.values()
    except (TypeError, ValueError):
        params = None
    if params is not None:
        positional = [
            p for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
        if len(positional) == 3:
            return "asgi"
        if len(positional) == 2:
            return "wsgi"
    label = name or repr(app)
    raise UsageError(
        f"cannot tell whether {label} is an ASGI app (async, taking scope, receive, send) or a "
        f"WSGI app (taking environ, start_response): point --app at the app object itself",
        location=FLAG,
    )


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise UsageError(
                f"module {module!r} not found (is it importable from the working directory?)",
                location=FLAG,
            ) from exc
        raise UsageError(
            f"importing {module!r} failed: {type(exc).__name__}: {exc}", location=FLAG
        ) from exc
    except Exception as exc:
        raise UsageError(
            f"importing {module!r} failed: {type(exc).__name__}: {exc}", location=FLAG
        ) from exc


def _resolve(obj: Any, module: str, attr: str) -> Any:
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise UsageError(
                f"module {module!r} has no attribute {attr!r}", location=FLAG
            ) from exc
    return obj


def _call_factory(factory: Any, path: str) -> Any:
    if not callable(factory):
        raise UsageError(
            f"{path!r}: expected a callable factory, found {type(factory).__name__}",
            location=FLAG,
        )
    try:
        return factory()
    except Exception as exc:
        raise UsageError(
            f"calling the factory {path!r} failed: {type(exc).__name__}: {exc}", location=FLAG
        ) from exc
