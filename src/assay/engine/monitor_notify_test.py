"""``assay monitor notify-test FILE --channel NAME``: one test notification, sent now.

The body has the shape of a real one (``event: "test"``), so a receiver can check its
parsing and its signature verification before the first incident does it for them.
"""

from __future__ import annotations

import time

from ..core.errors import UsageError
from ..core.secrets import Secrets
from ..monitor.config import config_secrets, load_config
from ..monitor.notification import payload
from ..monitor.records import AlertEvent
from ..storage.memory import MemoryStore
from .monitor_delivery import Deliverer


async def send_test_notification(path: str, channel_name: str, *,
                                 location: str = "local") -> str | None:
    """Send a test notification to ``channel_name`` of the file at ``path``; None when it
    went out, else why not. An unknown channel is a ``UsageError`` naming ``--channel``."""
    config = load_config(path)
    channel = config.channel(channel_name)
    if channel is None:
        known = ", ".join(c.name for c in config.channels) or "none"
        raise UsageError(f"no notify channel {channel_name!r} in {path}; channels: {known}",
                         location="--channel")
    secrets = Secrets()
    for value in config_secrets(config):
        secrets.add(value, "ASSAY_MONITOR_SECRET")
    now = time.time()
    monitor = config.monitors[0].name if config.monitors else "assay"
    event = AlertEvent("test", monitor, channel.name, location, now,
                       f"Test notification from assay monitor to channel {channel.name}",
                       f"test|{channel.name}|{now:.3f}")
    async with Deliverer(MemoryStore(), config.channels, owner="notify-test",
                         secrets=secrets) as deliverer:
        return await deliverer.send_test(channel, payload(event))
