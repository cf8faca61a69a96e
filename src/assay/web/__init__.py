"""The web side of ``assay monitor``: dashboard, public status page, REST API with its
OpenAPI document, ``/metrics`` and the heartbeat endpoint, as one Starlette app.

``app.create_app(view)`` builds it over a ``view.MonitorView`` (what the web needs from the
running monitor); ``view.StaticView`` is one over a config and a store. Modules: ``api``
(REST endpoints), ``params`` (request values, as the document states them), ``jsonview``
(records as JSON), ``problems`` (RFC 9457 errors), ``openapi`` (+ ``openapi.yaml``),
``pages`` and ``pagedata`` (server-rendered pages, ``templates/``), ``charts`` (inline SVG),
``metrics`` (the Prometheus collector), ``security`` (the token gate, security headers).
"""
