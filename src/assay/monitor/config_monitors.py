"""The ``monitors:`` list of a monitors file, turned into ``Monitor`` records.

A ``request:`` monitor becomes a one-step ``Scenario`` named after the monitor, built by
the suites' own functions, so it runs exactly as the same step would in ``assay test``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from ..suites.build import build_request, check_templates
from ..suites.expectations import build_captures, build_expect
from ..suites.model import Scenario, Step, Suite
from ..suites.yamlio import KeyPath, SourceMap
from .config_alerts import build_overrides, check_names_exist, check_unique
from .config_values import (
    comparison,
    config_error,
    cron_expression,
    endpoint,
    percentage,
    positive_seconds,
    seconds,
)
from .model import AnomalySettings, Channel, Comparison, Monitor, Slo

_KINDS = {"request": "http", "scenario": "scenario", "tcp": "tcp", "tls": "tls",
          "heartbeat": "heartbeat"}
_DEFAULT_TIMEOUT_S = 10.0


def build_monitors(items: list[dict[str, Any]], suite: Suite, channels: tuple[Channel, ...],
                   where: SourceMap, base_dir: Path) -> tuple[Monitor, ...]:
    """The ``Monitor`` of each ``monitors:`` entry, in the order written."""
    monitors: list[Monitor] = []
    for index, data in enumerate(items):
        path: KeyPath = ("monitors", index)
        check_unique(data["name"], [m.name for m in monitors], (*path, "name"), where,
                     "monitor")
        monitors.append(_monitor(data, path, where, suite, channels, base_dir))
    return tuple(monitors)


def _monitor(data: dict[str, Any], path: KeyPath, where: SourceMap, suite: Suite,
             channels: tuple[Channel, ...], base_dir: Path) -> Monitor:
    kind = next(_KINDS[key] for key in _KINDS if key in data)
    _check_kind_keys(data, kind, path, where)
    every_s, cron = _schedule(data, kind, path, where)
    notify = None if "notify" not in data else check_names_exist(
        data["notify"], [c.name for c in channels], (*path, "notify"), where, "channel")
    host, port = _target(data, kind, path, where)
    return Monitor(
        name=data["name"],
        kind=kind,
        every_s=every_s,
        cron=cron,
        timeout_s=_optional_seconds(data, "timeout", path, where, _DEFAULT_TIMEOUT_S),
        retries=data.get("retries", 0),
        scenario=_scenario(data, kind, path, where, suite, base_dir),
        host=host,
        port=port,
        cert_days_left=_cert_days_left(data, kind, path, where),
        grace_s=seconds(data["grace"], (*path, "grace"), where) if "grace" in data else 0.0,
        notify=notify,
        overrides=build_overrides(data.get("alerts") or {}, (*path, "alerts"), where,
                                  channels, notify),
        slo=None if "slo" not in data else _slo(data["slo"], (*path, "slo"), where),
        anomaly=_anomaly(data.get("anomaly", True), (*path, "anomaly"), where),
        locations_failing=data.get("locations_failing", 1),
        group=data.get("group", "default"),
        description=data.get("description", ""),
        line=where.line_of(path),
    )


def _check_kind_keys(data: dict[str, Any], kind: str, path: KeyPath, where: SourceMap) -> None:
    """Keys that only some kinds understand: refuse them elsewhere rather than ignore them."""
    if "expect" in data and kind not in ("http", "tls"):
        hint = ("a scenario's steps carry their own expect" if kind == "scenario"
                else f"a {kind} monitor succeeds when it connects")
        raise config_error(where, (*path, "expect"), f"expect belongs to request and tls "
                                                     f"monitors ({hint})")
    if "capture" in data and kind != "http":
        raise config_error(where, (*path, "capture"), "capture belongs to request monitors")
    if "grace" in data and kind != "heartbeat":
        raise config_error(where, (*path, "grace"), "grace belongs to heartbeat monitors "
                                                    "(use retries or a longer timeout here)")


def _schedule(data: dict[str, Any], kind: str, path: KeyPath,
              where: SourceMap) -> tuple[float | None, str | None]:
    if kind == "heartbeat":
        if "cron" in data:
            raise config_error(where, (*path, "cron"), "a heartbeat expects a ping every "
                                                       "interval: use every (and grace), not cron")
        if "every" not in data:
            raise config_error(where, path, "missing key 'every' (a heartbeat needs the "
                                            "interval its job pings at, such as every: 5m)")
    elif ("every" in data) == ("cron" in data):
        message = ("expected exactly one of every (an interval such as 30s) or cron (such "
                   "as '*/5 * * * *'), found ")
        found = "both" if "every" in data else "neither"
        raise config_error(where, (*path, "cron") if "cron" in data else path,
                           message + found)
    if "cron" in data:
        return None, cron_expression(data["cron"], (*path, "cron"), where)
    return positive_seconds(data["every"], (*path, "every"), where), None


def _target(data: dict[str, Any], kind: str, path: KeyPath,
            where: SourceMap) -> tuple[str | None, int | None]:
    if kind not in ("tcp", "tls"):
        return None, None
    return endpoint(data[kind], (*path, kind), where, 443 if kind == "tls" else None)


def _scenario(data: dict[str, Any], kind: str, path: KeyPath, where: SourceMap,
              suite: Suite, base_dir: Path) -> Scenario | None:
    if kind == "http":
        return _request_scenario(data, path, where, base_dir)
    if kind != "scenario":
        return None
    name = data["scenario"]
    found = [s for s in suite.scenarios if s.name == name]
    if not found:
        known = ", ".join(repr(s.name) for s in suite.scenarios)
        expected = f"expected one of scenarios: {known}" if known else "the file has no scenarios:"
        raise config_error(where, (*path, "scenario"), f"unknown scenario {name!r} ({expected})")
    if len(found) > 1:
        raise config_error(where, (*path, "scenario"), f"{len(found)} scenarios are named "
                                                       f"{name!r} (expected a unique name)")
    return found[0]


def _request_scenario(data: dict[str, Any], path: KeyPath, where: SourceMap,
                      base_dir: Path) -> Scenario:
    """The monitor's ``request``/``expect``/``capture`` as the step of a suite would be."""
    request = build_request(data["request"], (*path, "request"), where, base_dir)
    expect = data.get("expect")
    if expect is not None:
        check_templates(expect, (*path, "expect"), where)
    step = Step(
        name=f"{request.method} {request.path or request.url}",
        request=request,
        expect=None if expect is None else build_expect(expect, (*path, "expect"), where),
        capture=build_captures(data.get("capture") or {}, (*path, "capture"), where),
        line=where.line_of(path),
    )
    return Scenario(name=data["name"], steps=(step,), line=where.line_of(path))


def _cert_days_left(data: dict[str, Any], kind: str, path: KeyPath,
                    where: SourceMap) -> Comparison | None:
    expect = data.get("expect") or {}
    if kind != "tls" or "cert_days_left" not in expect:
        return None
    return comparison(expect["cert_days_left"], (*path, "expect", "cert_days_left"), where)


def _slo(data: dict[str, Any], path: KeyPath, where: SourceMap) -> Slo:
    availability = None
    if "availability" in data:
        here = (*path, "availability")
        availability = percentage(data["availability"], here, where)
        if not 0 < availability < 1:
            raise config_error(where, here, f"expected an availability above 0% and below "
                                            f"100% (100% leaves no error budget to burn), "
                                            f"found {data['availability']!r}")
    quantile, limit_ms = (None, None)
    if "latency" in data:
        quantile, limit_ms = _latency_objective(data["latency"], (*path, "latency"), where)
    window = _optional_seconds(data, "window", path, where, Slo().window_s)
    return Slo(availability=availability, latency_quantile=quantile, latency_ms=limit_ms,
               window_s=window)


def _latency_objective(text: str, path: KeyPath, where: SourceMap) -> tuple[float, float]:
    """``"p95 < 300ms"`` -> (0.95, 300.0)."""
    percentile, _, limit = text.strip()[1:].replace("<=", "<").partition("<")
    value = Decimal(percentile.strip())
    if not 0 < value < 100:
        raise config_error(where, path, f"expected a percentile above p0 and below p100 "
                                        f"(such as p95 or p99.9), found {text!r}")
    limit_s = positive_seconds(limit.strip(), path, where)
    # Rounded to a nanosecond: "1.1s" is 1100 ms, not 1100.0000000000002.
    return float(value / 100), round(limit_s * 1000.0, 6)


def _anomaly(value: Any, path: KeyPath, where: SourceMap) -> AnomalySettings:
    default = AnomalySettings()
    if value is True:
        return default
    if value is False:
        return AnomalySettings(enabled=False)
    window = value.get("window", default.window)
    min_samples = value.get("min_samples", min(default.min_samples, window))
    if min_samples > window:
        raise config_error(where, (*path, "min_samples"), f"expected at most window "
                                                          f"({window}), found {min_samples}")
    return AnomalySettings(
        enabled=True,
        window=window,
        min_samples=min_samples,
        threshold=float(value.get("threshold", default.threshold)),
        consecutive=value.get("consecutive", default.consecutive),
    )


def _optional_seconds(data: dict[str, Any], key: str, path: KeyPath, where: SourceMap,
                      default: float) -> float:
    if key not in data:
        return default
    return positive_seconds(data[key], (*path, key), where)
