"""The alerting parts of a monitors file: ``notify`` channels with their settings, a
monitor's per-channel ``alerts`` overrides, ``maintenance`` windows and ``retention``.

Shapes were checked by ``monitors.schema.json``; this module checks what refers to what
(unique names, known channels and monitors) and what needs Apprise to judge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..suites.yamlio import KeyPath, SourceMap
from .config_values import config_error, cron_expression, epoch, positive_seconds
from .model import AlertSettings, Channel, MaintenanceWindow, Retention

_WEBHOOK_ONLY = ("secret", "headers")


def build_channels(items: list[dict[str, Any]], where: SourceMap) -> tuple[Channel, ...]:
    """The ``Channel`` of each ``notify:`` entry, in the order written."""
    channels: list[Channel] = []
    for index, data in enumerate(items):
        path: KeyPath = ("notify", index)
        check_unique(data["name"], [c.name for c in channels], (*path, "name"), where,
                     "channel")
        channels.append(_channel(data, path, where))
    return tuple(channels)


def alert_settings(data: dict[str, Any], path: KeyPath, where: SourceMap,
                   base: AlertSettings) -> AlertSettings:
    """``base`` with the setting keys of ``data`` applied (other keys are ignored)."""
    changes: dict[str, Any] = {}
    for key in ("failure_threshold", "success_threshold", "send_on_resolved",
                "flap_threshold"):
        if key in data:
            changes[key] = data[key]
    if "remind_every" in data:
        remind = data["remind_every"]
        changes["remind_every_s"] = None if remind is False else positive_seconds(
            remind, (*path, "remind_every"), where)
    if "flap_window" in data:
        changes["flap_window_s"] = positive_seconds(data["flap_window"],
                                                    (*path, "flap_window"), where)
    return replace(base, **changes)


def build_overrides(data: dict[str, Any], path: KeyPath, where: SourceMap,
                    channels: tuple[Channel, ...],
                    notify: tuple[str, ...] | None) -> tuple[tuple[str, AlertSettings], ...]:
    """A monitor's ``alerts: {channel: {setting: value}}``: each named channel's settings
    with the monitor's changes applied (a complete ``AlertSettings`` per channel)."""
    overrides = []
    for name, changes in data.items():
        here = (*path, name)
        channel = next((c for c in channels if c.name == name), None)
        if channel is None:
            expected = (f"expected one of notify: {_names(c.name for c in channels)}"
                        if channels else "no channel is defined under notify:")
            raise config_error(where, here, f"unknown channel {name!r} ({expected})")
        if notify is not None and name not in notify:
            raise config_error(where, here, f"this monitor does not notify {name!r} (its "
                                            f"notify: lists {_names(notify)}); add it there "
                                            "or remove this override")
        overrides.append((name, alert_settings(changes, here, where, channel.settings)))
    return tuple(overrides)


def build_maintenance(items: list[dict[str, Any]], where: SourceMap,
                      monitor_names: list[str]) -> tuple[MaintenanceWindow, ...]:
    """The ``MaintenanceWindow`` of each ``maintenance:`` entry."""
    return tuple(_window(data, ("maintenance", index), where, monitor_names)
                 for index, data in enumerate(items))


def build_retention(data: dict[str, Any] | None, where: SourceMap) -> Retention:
    """``retention: {raw: 7d, rollups: 365d}`` (both optional)."""
    default = Retention()
    data = data or {}
    raw = _optional_seconds(data, "raw", ("retention",), where, default.raw_s)
    rollups = _optional_seconds(data, "rollups", ("retention",), where, default.rollups_s)
    if rollups < raw:
        raise config_error(where, ("retention", "rollups"),
                           f"expected rollups kept at least as long as raw results "
                           f"({data.get('raw', '7d')}), found {data['rollups']} (rollups "
                           "summarize what raw results drop)")
    return Retention(raw_s=raw, rollups_s=rollups)


def check_unique(name: str, earlier: list[str], path: KeyPath, where: SourceMap,
                 what: str) -> None:
    """Raise at ``path`` when ``name`` was already used by an earlier ``what``."""
    if name in earlier:
        raise config_error(where, path, f"duplicate {what} name {name!r} (each {what} needs "
                                        "its own name: notifications and history refer to it)")


def check_names_exist(names: list[str], known: Iterable[str], path: KeyPath,
                      where: SourceMap, what: str) -> tuple[str, ...]:
    """``names`` without repeats, after checking each is one of ``known``."""
    known = list(known)
    for index, name in enumerate(names):
        if name not in known:
            expected = f"expected one of: {_names(known)}" if known else f"no {what} is defined"
            raise config_error(where, (*path, index), f"unknown {what} {name!r} ({expected})")
    return tuple(dict.fromkeys(names))


def _channel(data: dict[str, Any], path: KeyPath, where: SourceMap) -> Channel:
    kind = "webhook" if "webhook" in data else "apprise"
    if kind == "apprise":
        for key in _WEBHOOK_ONLY:
            if key in data:
                raise config_error(where, (*path, key), f"{key!r} belongs to webhook channels "
                                                        "(an Apprise URL carries its own "
                                                        "credentials and options)")
        check_apprise_url(data["apprise"], (*path, "apprise"), where)
    headers = data.get("headers") or {}
    return Channel(
        name=data["name"],
        kind=kind,
        url=data[kind],
        secret=data.get("secret"),
        headers=tuple((str(k), _text(v)) for k, v in headers.items()),
        settings=alert_settings(data, path, where, AlertSettings()),
    )


def check_apprise_url(url: str, path: KeyPath, where: SourceMap) -> None:
    """Raise unless Apprise can build a notifier from ``url`` (nothing is sent)."""
    # Imported here: Apprise loads its plugins on first use (a few hundred ms), which only
    # files with an Apprise channel should pay for.
    from apprise import Apprise
    from apprise.plugins import N_MGR

    if Apprise.instantiate(url) is not None:
        return
    scheme = url.split("://", 1)[0]
    if scheme.lower() not in N_MGR:
        raise config_error(where, path, f"unknown Apprise service {scheme + '://'!r} (expected "
                                        "an Apprise URL such as slack://, mailto://, "
                                        "pagerduty://, discord://; see the Apprise wiki)")
    raise config_error(where, path, f"Apprise does not accept this {scheme}:// URL (expected "
                                    "the fields its service needs; see the Apprise wiki)")


def _window(data: dict[str, Any], path: KeyPath, where: SourceMap,
            monitor_names: list[str]) -> MaintenanceWindow:
    monitors = check_names_exist(data.get("monitors") or [], monitor_names,
                                 (*path, "monitors"), where, "monitor")
    reason = data.get("reason", "")
    if "start" in data or "end" in data:
        for key in ("cron", "duration"):
            if key in data:
                raise config_error(where, (*path, key), "expected either start and end or "
                                                        "cron and duration, not both")
        start = epoch(data["start"], (*path, "start"), where)
        end = epoch(data["end"], (*path, "end"), where)
        if end <= start:
            raise config_error(where, (*path, "end"), f"expected end after start "
                                                      f"({data['start']}), found {data['end']}")
        return MaintenanceWindow(start=start, end=end, monitors=monitors, reason=reason)
    return MaintenanceWindow(
        cron=cron_expression(data["cron"], (*path, "cron"), where),
        duration_s=positive_seconds(data["duration"], (*path, "duration"), where),
        monitors=monitors,
        reason=reason,
    )


def _optional_seconds(data: dict[str, Any], key: str, path: KeyPath, where: SourceMap,
                      default: float) -> float:
    if key not in data:
        return default
    return positive_seconds(data[key], (*path, key), where)


def _text(value: Any) -> str:
    # Header values are text on the wire; YAML's true is the header text "true".
    return str(value).lower() if isinstance(value, bool) else str(value)


def _names(names: Iterable[str]) -> str:
    listed = ", ".join(names)
    return listed or "none"
