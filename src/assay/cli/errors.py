"""Mapping of errors to exit codes: the one place where the CLI turns exceptions into output.

Exit codes (DESIGN.md): 0 nothing failed, 1 the API failed a check, 2 bad input, 3 a bug in
assay. Bad input gets one line on stderr and no traceback; an internal error gets one line
too, plus the traceback when ``ASSAY_DEBUG=1``.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..core.errors import AssayError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> None:
    """Print ``error: message`` on stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Run a command body, mapping assay's errors and crashes to exit codes 2 and 3."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AssayError as exc:
            fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except Exception as exc:  # a bug in assay: say so, do not pretend it is the user's
            if os.environ.get("ASSAY_DEBUG") == "1":
                traceback.print_exc()
            fail(f"internal error in assay: {type(exc).__name__}: {exc} "
                 "(set ASSAY_DEBUG=1 for the traceback)", 3)

    return wrapper  # type: ignore[return-value]
