"""``assay monitor``: the same checks on a schedule, stored history, alerts that do not flap.

The mode's own logic, with no I/O: the configuration (config.py, monitors.schema.json),
the records every part shares (records.py), scheduling with an injected clock
(schedule.py), alert state machines, flapping, maintenance and quorum (alerts.py and
friends), latency anomalies (anomaly.py), SLO burn rates (slo.py) and what a notification
says (notification.py). The runner that sleeps, probes, stores and sends is
``engine/monitor_run.py``; the database is ``storage/``; the dashboard and API are ``web/``.
"""
