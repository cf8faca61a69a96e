"""The check protocol and the per-run registry of checks.

A check is a plain function ``(ctx, response, case) -> list[Failure]``. The registry is
built for each run from the user's ``--checks`` / ``--exclude-checks`` and passed down; it is
never a module global.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from referencing import Registry

from ..core.errors import UsageError
from ..core.records import Case, Failure, Response
from ..specs.model import Operation, ResponseSpec
from ..specs.validators import schema_validator
from . import auth, content, headers, inputs, latency, methods, schema, stateful, status


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check may look at besides the response.

    ``operation`` is ``None`` for a suite step that matches no spec operation; checks that
    need the spec then have nothing to say. ``validators`` caches compiled schemas per run;
    ``memo`` lets a check remember a result for an identical input (the same body against
    the same schema: fuzzing a list endpoint gets the same page back again and again).
    """

    operation: Operation | None
    registry: Registry = field(default_factory=Registry)
    max_response_time: float | None = None
    validators: dict[Any, Any] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)

    def documented(self, status: int) -> ResponseSpec | None:
        """The operation's documented response for ``status`` (None without an operation)."""
        return self.operation.response_for(status) if self.operation is not None else None

    def validator(self, schema: Any, kind: str) -> Any:
        """A response-direction validator for ``schema``, compiled once per context."""
        key = (kind, id(schema))
        if key not in self.validators:
            self.validators[key] = schema_validator(schema, self.registry, direction="response")
        return self.validators[key]


class Check(Protocol):
    """A conformance check: returns the ways ``response`` fails it (empty when it passes)."""

    def __call__(self, ctx: CheckContext, response: Response, case: Case | None) -> list[Failure]:
        ...


def builtin_checks() -> dict[str, Check]:
    """Every conformance check assay ships, by its standard name (DESIGN.md)."""
    return {
        "not_a_server_error": status.not_a_server_error,
        "status_code_conformance": status.status_code_conformance,
        "content_type_conformance": content.content_type_conformance,
        "response_headers_conformance": headers.response_headers_conformance,
        "response_schema_conformance": schema.response_schema_conformance,
        "max_response_time": latency.max_response_time,
        "negative_data_rejection": inputs.negative_data_rejection,
        "positive_data_acceptance": inputs.positive_data_acceptance,
        "missing_required_header": inputs.missing_required_header,
        "unsupported_method": methods.unsupported_method,
        "use_after_free": stateful.use_after_free,
        "ensure_resource_availability": stateful.ensure_resource_availability,
        "ignored_auth": auth.ignored_auth,
    }


@dataclass(frozen=True, slots=True)
class CheckRegistry:
    """The checks selected for one run, in a stable order."""

    checks: tuple[tuple[str, Check], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The selected check names."""
        return tuple(name for name, _ in self.checks)

    def run(self, ctx: CheckContext, response: Response, case: Case | None) -> list[Failure]:
        """All failures of ``response`` against every selected check."""
        failures: list[Failure] = []
        for _, check in self.checks:
            failures.extend(check(ctx, response, case))
        if any(f.check == "not_a_server_error" for f in failures):
            # One defect, one finding: the crash, not also its undocumented status.
            failures = [f for f in failures if f.check != "status_code_conformance"]
        elif case is not None and case.probe in auth.AUTH_PROBES and response.status in (401, 403):
            # Refusing a request without valid credentials is the right answer, documented
            # or not: an undocumented 401 is not worth a finding of its own here.
            failures = [f for f in failures if f.check != "status_code_conformance"]
        return failures


def build_registry(
    include: Sequence[str] = ("all",),
    exclude: Sequence[str] = (),
    *,
    available: dict[str, Check] | None = None,
) -> CheckRegistry:
    """The registry for ``--checks`` and ``--exclude-checks``.

    Unknown names raise ``UsageError`` naming the flag and the known checks.

    >>> build_registry(["not_a_server_error"]).names
    ('not_a_server_error',)
    """
    known = available if available is not None else builtin_checks()
    include_names = _expand(include, known, "--checks")
    exclude_names = set(_expand(exclude, known, "--exclude-checks")) if exclude else set()
    chosen = tuple((n, known[n]) for n in include_names if n not in exclude_names)
    return CheckRegistry(chosen)


def _expand(names: Iterable[str], known: dict[str, Callable], flag: str) -> list[str]:
    result: list[str] = []
    for raw in names:
        for name in (part.strip() for part in raw.split(",")):
            if not name:
                continue
            if name == "all":
                result.extend(n for n in known if n not in result)
            elif name in known:
                if name not in result:
                    result.append(name)
            else:
                raise UsageError(
                    f"unknown check {name!r}; expected 'all' or one of: {', '.join(known)}",
                    location=flag,
                )
    return result
