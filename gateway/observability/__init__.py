"""Operating the gateway: logs, traces, request metrics, drain, reload, probes.

One module per concern; ``gateway.metrics`` holds the metric families themselves. Nothing
here is on the request path except ``requests.RequestObserver`` (one call per request,
after the response) and, when tracing is on, ``tracing.TracingMiddleware``.
"""
