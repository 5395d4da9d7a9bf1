"""Prometheus metrics at /metrics, summed across gunicorn's workers.

Under `pitchlint serve` every worker writes its values into PROMETHEUS_MULTIPROC_DIR (client_python's
multiprocess mode: `pitchlint serve` makes the folder before any worker starts; gunicorn's child_exit hook marks a dead worker)
and /metrics reads them all, whichever worker answers. Without that folder (tests, one process)
the values are this process's.

    pitchlint_http_requests_total{route,method,status}      requests answered
    pitchlint_http_request_duration_seconds{route}           latency histogram
    pitchlint_model_seconds_per_email / _per_sentence        the model's time, per email and per sentence
    pitchlint_sentence_cache_lookups_total{result}           hit / miss; hit rate = hit / all
    pitchlint_rate_limited_total                             requests refused with 429
    pitchlint_history_writes_total{result}                   kept / failed team-history writes
    pitchlint_model_info{name,version}                       1 for the model served
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest)
from prometheus_client import REGISTRY, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("pitchlint_http_requests", "HTTP requests answered",
                   ["route", "method", "status"])
LATENCY = Histogram("pitchlint_http_request_duration_seconds", "Time to answer a request",
                    ["route"], buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
MODEL_PER_EMAIL = Histogram("pitchlint_model_seconds_per_email", "The model's time per email",
                            buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10))
MODEL_PER_SENTENCE = Histogram("pitchlint_model_seconds_per_sentence",
                               "The model's time per sentence (a request's time over its sentences)",
                               buckets=(.0005, .001, .002, .005, .01, .025, .05, .1, .25))
CACHE_LOOKUPS = Counter("pitchlint_sentence_cache_lookups", "Sentence-vector cache lookups",
                        ["result"])
RATE_LIMITED = Counter("pitchlint_rate_limited", "Requests refused by the rate limit (429)")
HISTORY_WRITES = Counter("pitchlint_history_writes", "Analyses written to a team's history",
                         ["result"])
for _result in ("hit", "miss"):  # shown from the start, at 0
    CACHE_LOOKUPS.labels(_result)
for _result in ("kept", "failed"):
    HISTORY_WRITES.labels(_result)
MODEL_INFO = Gauge("pitchlint_model_info", "The model this service answers with (value 1)",
                   ["name", "version"], multiprocess_mode="max")


def history_writes(n: int, failed: bool) -> None:
    if n:
        HISTORY_WRITES.labels("failed" if failed else "kept").inc(n)


def rate_limited() -> None:
    RATE_LIMITED.inc()


def model_loaded(analyzer) -> None:
    MODEL_INFO.labels(analyzer.name, analyzer.version).set(1)


@contextmanager
def model_call(analyzer, emails: int):
    """Time a call of the model on `emails` emails; the caller sets .sentences on the yielded
    dict. Cache hits are this call's (the call runs to its end without yielding to another)."""
    cache = analyzer.cache
    hits, misses = cache.hits, cache.misses
    seen = {"sentences": 0}
    started = time.perf_counter()
    try:
        yield seen
    finally:
        took = time.perf_counter() - started
        if emails:
            for _ in range(emails):
                MODEL_PER_EMAIL.observe(took / emails)
        if seen["sentences"]:
            MODEL_PER_SENTENCE.observe(took / seen["sentences"])
        if cache.hits > hits:
            CACHE_LOOKUPS.labels("hit").inc(cache.hits - hits)
        if cache.misses > misses:
            CACHE_LOOKUPS.labels("miss").inc(cache.misses - misses)


def _registry():
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit hook: a dead worker's live gauges go."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


def init_app(app) -> None:
    from flask import Blueprint, Response, g, request

    @app.before_request
    def _started():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(resp):
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(route, request.method, str(resp.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            LATENCY.labels(route).observe(time.perf_counter() - started)
        return resp

    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    def metrics():
        return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)

    app.register_blueprint(bp)
