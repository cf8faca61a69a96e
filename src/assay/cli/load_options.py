"""Turning ``assay load`` flags into a ``LoadConfig`` (pure parsing, no I/O)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..core.errors import UsageError
from ..core.units import parse_rate
from ..load.config import DEFAULT_MAX_CONNECTIONS, LoadConfig
from ..load.schedule import parse_stages
from ..load.thresholds import parse_threshold
from .options import at_least, duration_option, parse_auth, parse_headers, parse_workers

_SPEC_SUFFIXES = (".json", ".yaml", ".yml")
# Virtual users when neither --vus, --rate nor --stage is given (wrk's default connections).
DEFAULT_VUS = 10


def is_target_url(source: str, url: str | None) -> bool:
    """Whether SOURCE is the URL to load (``assay load http://host/path``) rather than a
    document: an http(s) URL is the target, unless it names a ``.json``/``.yaml`` file and
    ``--url`` says where the API is."""
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return not (url and parts.path.lower().endswith(_SPEC_SUFFIXES))


def build_load_config(o: dict[str, Any]) -> LoadConfig:
    """The ``LoadConfig`` of the parsed options; every inconsistency is a ``UsageError``
    naming the flag."""
    vus, rate_text, stage_texts = o.get("vus"), o.get("rate"), o.get("stage") or ()
    duration = duration_option(o.get("duration"), "--duration")
    iterations = o.get("iterations")
    if iterations is not None:
        at_least(iterations, 1, "--iterations")
    if vus is not None:
        at_least(vus, 1, "--vus")
    if vus is not None and rate_text is not None:
        raise UsageError("--vus is the closed model, --rate the open one: give one of them",
                         location="--vus/--rate")
    rate = _rate(rate_text)
    model, stages = "open" if rate is not None else "closed", ()
    if stage_texts:
        shape = parse_stages(stage_texts)
        model, stages = shape.model, tuple(shape.stages)
        if model == "open" and vus is not None or model == "closed" and rate is not None:
            raise UsageError("the stages and --vus/--rate name different models (users "
                             "'30s:50' or rates '30s:100/s')", location="--stage")
        if duration is not None:
            raise UsageError("the stages set the duration; drop --duration", location="--stage")
    elif duration is None and iterations is None:
        raise UsageError("a load run is always bounded: give --duration (10s, 5m), "
                         "--iterations N or --stage", location="--duration")
    if model == "open" and duration is None and not stages:
        raise UsageError("the open model needs --duration or rate --stage", location="--rate")
    timeout = duration_option(o.get("timeout"), "--timeout") or 10.0
    thresholds = tuple(o.get("threshold") or ())
    for text in thresholds:
        parse_threshold(text)  # a bad threshold fails before the run, not after it
    grace = None
    if o.get("abort_on_fail"):
        if not thresholds:
            raise UsageError("needs at least one --threshold", location="--abort-on-fail")
        grace = duration_option(o.get("abort_grace") or "10s", "--abort-grace")
    return LoadConfig(
        model=model,
        vus=vus if vus is not None else DEFAULT_VUS,
        rate=rate,
        stages=stages,
        duration_s=duration,
        iterations=iterations,
        workers=_workers(o),
        max_connections=_positive(o.get("max_connections"), "--max-connections",
                                  DEFAULT_MAX_CONNECTIONS),
        pipeline=_positive(o.get("pipeline"), "--pipeline", 1),
        timeout_s=timeout,
        connect_timeout_s=timeout,
        verify_tls=not o.get("insecure"),
        headers=parse_headers(o.get("header") or ()),
        auth=parse_auth(o.get("auth_bearer"), o.get("auth_basic"), o.get("api_key") or ()),
        thresholds=thresholds,
        abort_grace_s=grace,
        seed=o.get("seed"),
        cluster=_cluster(o.get("cluster")),
    )


def _rate(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise UsageError(str(exc), location="--rate") from exc


def _workers(o: dict[str, Any]) -> int:
    if o.get("cluster") and o.get("workers") is None:
        return 0  # one per Dask worker, counted when the cluster is reached
    return parse_workers(o.get("workers"))


def _positive(value: int | None, flag: str, default: int) -> int:
    return default if value is None else at_least(value, 1, flag)


def _cluster(address: str | None) -> str | None:
    if address is None:
        return None
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls", "ws", "wss", "inproc") or not parts.netloc:
        raise UsageError(f"expected a Dask scheduler address such as tcp://host:8786, "
                         f"found {address!r}", location="--cluster")
    return f"{parts.scheme}://{parts.netloc}"
