"""Turning ``assay test`` flags into a ``TestConfig`` (pure parsing, no I/O)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..core.auth import ApiKeyAuth, Auth, BasicAuth, BearerAuth
from ..core.errors import UsageError
from ..core.units import parse_duration, parse_rate
from ..engine.config import KNOWN_PHASES, TestConfig
from ..engine.filters import DIMENSIONS, OperationFilter, build_matcher
from ..http.transport import HttpOptions

REPORT_FORMATS = ("json", "junit", "html")


def parse_headers(values: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``-H 'Name: value'`` flags as pairs."""
    headers = []
    for raw in values:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise UsageError(f"expected 'Name: value', found {raw!r}", location="-H/--header")
        headers.append((name.strip(), value.strip()))
    return tuple(headers)


def parse_pairs(values: Sequence[str], flag: str) -> tuple[tuple[str, str], ...]:
    """``KEY=VALUE`` flags as pairs."""
    pairs = []
    for raw in values:
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, found {raw!r}", location=flag)
        pairs.append((key, value))
    return tuple(pairs)


def parse_auth(bearer: str | None, basic: str | None, api_keys: Sequence[str]) -> tuple[Auth, ...]:
    """Auth records from ``--auth-bearer``, ``--auth-basic`` and ``--api-key``."""
    auths: list[Auth] = []
    if bearer and basic:
        raise UsageError("both set the Authorization header; give one of them (they may also "
                         "come from ASSAY_TOKEN and ASSAY_BASIC_AUTH)",
                         location="--auth-bearer/--auth-basic")
    if bearer:
        auths.append(BearerAuth(bearer))
    if basic:
        user, sep, password = basic.partition(":")
        if not sep or not user:
            raise UsageError("expected USER:PASSWORD (from the flag or ASSAY_BASIC_AUTH)",
                             location="--auth-basic")
        auths.append(BasicAuth(user, password))
    for scheme, value in parse_pairs(api_keys, "--api-key"):
        auths.append(ApiKeyAuth(value, scheme=scheme))
    return tuple(auths)


def parse_phases(text: str | None) -> tuple[str, ...]:
    """``--phases examples`` (comma-separated); unknown names are a ``UsageError``."""
    if not text:
        return KNOWN_PHASES
    phases = tuple(p.strip() for p in text.split(",") if p.strip())
    for phase in phases:
        if phase not in KNOWN_PHASES:
            raise UsageError(f"unknown phase {phase!r}; expected one of: "
                             f"{', '.join(KNOWN_PHASES)}", location="--phases")
    return phases


def parse_reports(text: str | None) -> tuple[str, ...]:
    """``--report json,junit,html``."""
    if not text:
        return ()
    formats = tuple(f.strip() for f in text.split(",") if f.strip())
    for fmt in formats:
        if fmt not in REPORT_FORMATS:
            raise UsageError(f"unknown report format {fmt!r}; expected one of: "
                             f"{', '.join(REPORT_FORMATS)}", location="--report")
    return formats


def duration_option(text: str | None, flag: str) -> float | None:
    """A duration flag (``500ms``, ``2s``), ``None`` when not given."""
    if text is None:
        return None
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise UsageError(str(exc), location=flag) from exc
    if value <= 0:
        raise UsageError(f"expected a positive duration, found {text!r}", location=flag)
    return value


def rate_option(text: str | None) -> float | None:
    """``--rate-limit 100/s``."""
    if text is None:
        return None
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise UsageError(str(exc), location="--rate-limit") from exc


def build_filters(options: dict[str, Any]) -> OperationFilter:
    """The operation filter from ``--include-*``/``--exclude-*`` (and ``-regex``) options."""
    include, exclude = {}, {}
    for dimension in DIMENSIONS:
        flag = dimension.replace("_", "-")
        for side, target in (("include", include), ("exclude", exclude)):
            values = tuple(options.get(f"{side}_{dimension}") or ())
            regexes = tuple(options.get(f"{side}_{dimension}_regex") or ())
            matcher = build_matcher(values, regexes, f"--{side}-{flag}-regex")
            if matcher:
                target[dimension] = matcher
    return OperationFilter(include, exclude)


def build_config(o: dict[str, Any]) -> TestConfig:
    """The ``TestConfig`` for the parsed options of ``assay test``."""
    timeout = duration_option(o.get("timeout"), "--timeout") or 10.0
    retries = o.get("retries") or 0
    if retries < 0:
        raise UsageError("expected a number >= 0", location="--retries")
    http = HttpOptions(timeout=timeout, verify=not o.get("insecure"), retries=retries,
                       rate_limit=rate_option(o.get("rate_limit")))
    max_failures = o.get("max_failures")
    if max_failures is not None and max_failures < 1:
        raise UsageError("expected a number >= 1", location="--max-failures")
    return TestConfig(
        base_url=o.get("url"),
        app=o.get("app"),
        headers=parse_headers(o.get("header") or ()),
        auth=parse_auth(o.get("auth_bearer"), o.get("auth_basic"), o.get("api_key") or ()),
        http=http,
        checks=tuple(o.get("checks") or ("all",)),
        exclude_checks=tuple(o.get("exclude_checks") or ()),
        phases=parse_phases(o.get("phases")),
        filters=build_filters(o),
        max_failures=max_failures,
        dry_run=bool(o.get("dry_run")),
        max_response_time=duration_option(o.get("max_response_time"), "--max-response-time"),
        variables=parse_pairs(o.get("var") or (), "--var"),
        seed=o.get("seed"),
        max_examples=at_least(o.get("max_examples", 100), 1, "--max-examples"),
        max_time=duration_option(o.get("max_time"), "--max-time"),
        workers=parse_workers(o.get("workers")),
        replay=not o.get("no_replay"),
        failures_db=o.get("failures_db") or ".assay/failures.db",
        baseline=o.get("baseline"),
        baseline_update=_baseline_update(o),
    )


def parse_workers(text: str | None) -> int:
    """``--workers N`` or ``auto`` (the default: one per core)."""
    if text is None or text == "auto":
        return max(os.cpu_count() or 1, 1)
    try:
        workers = int(text)
    except ValueError:
        raise UsageError(f"expected a number >= 1 or 'auto', found {text!r}",
                         location="--workers") from None
    return at_least(workers, 1, "--workers")


def at_least(value: int, minimum: int, flag: str) -> int:
    """``value`` when it is at least ``minimum``, else a ``UsageError`` naming ``flag``."""
    if value < minimum:
        raise UsageError(f"expected a number >= {minimum}, found {value}", location=flag)
    return value


def _baseline_update(o: dict[str, Any]) -> bool:
    if o.get("baseline_update") and not o.get("baseline"):
        raise UsageError("needs --baseline FILE to write to", location="--baseline-update")
    return bool(o.get("baseline_update"))
