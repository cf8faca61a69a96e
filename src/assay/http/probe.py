"""Is the target there at all? Checked once when a run starts (exit code 2 if not).

The probe opens a TCP connection (and, for https, completes a TLS handshake) and sends
nothing: a server that answers anything, even 404 or 500, is reachable, and the API under
test sees no extra request. Through a proxy from the environment, the proxy is what must be
reachable. Never used with an in-process app (``--app``).
"""

from __future__ import annotations

import asyncio
import urllib.request
from urllib.parse import urlsplit

import httpx

from assay.core.errors import TargetUnreachable, UsageError

from .failures import failure_from_os_error
from .transport import HttpOptions


async def ensure_reachable(base_url: str, options: HttpOptions) -> None:
    """Raise ``TargetUnreachable`` ("cannot reach http://127.0.0.1:9: connection refused")
    when no connection can be made to ``base_url`` within ``options.timeout``."""
    scheme, host, port = _target(base_url)
    use_tls = scheme == "https"
    proxy = _proxy_for(scheme, host) if options.trust_env else None
    if proxy is not None:
        # The TLS session with the target is tunnelled through the proxy: only the
        # connection to the proxy can be checked without sending a request.
        _, host, port = _target(proxy)
        use_tls = False
    context = httpx.create_ssl_context(verify=options.verify, trust_env=options.trust_env)
    try:
        async with asyncio.timeout(options.timeout):
            _, writer = await asyncio.open_connection(
                host, port, ssl=context if use_tls else None,
                server_hostname=host if use_tls else None,
            )
    except TimeoutError:
        reason = f"no connection within {options.timeout} s"
        raise TargetUnreachable(f"cannot reach {base_url}: {reason}") from None
    except OSError as exc:  # ssl.SSLError is an OSError too
        failure = failure_from_os_error(exc, f"{host}:{port}")
        reason = _reason(failure.kind, failure.message)
        raise TargetUnreachable(f"cannot reach {base_url}: {reason}") from exc
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass  # the connection was made; how it ends does not matter


def _reason(kind: str, message: str) -> str:
    if kind == "connection_refused":
        return "connection refused"
    return message


def _target(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"expected an http:// or https:// URL, found {url!r}: {exc}",
                         location="--url") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"expected an http:// or https:// URL, found {url!r}", location="--url")
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default


def _proxy_for(scheme: str, host: str) -> str | None:
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(host, proxies):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"
