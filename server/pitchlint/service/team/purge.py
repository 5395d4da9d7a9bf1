"""Retention: each team's samples and analyses older than its retention are deleted, by
`pitchlint purge` and by a timer inside every service process (deleting is idempotent)."""
from __future__ import annotations

import datetime as dt
import logging
import random
import threading

from sqlalchemy import delete, select

from ..db import utcnow
from .models import Analysis, Sample, SampleFeedback, Team

log = logging.getLogger("pitchlint.purge")


def purge(db_session, now: dt.datetime | None = None) -> dict:
    """Delete what is past each team's retention. Returns {"samples": n, "analyses": n}."""
    now = now or utcnow()
    counts = {"samples": 0, "analyses": 0}
    for team in db_session.scalars(select(Team)):
        cutoff = now - dt.timedelta(days=max(0, team.retention_days))
        old_samples = select(Sample.id).where(Sample.team_id == team.id, Sample.created_at < cutoff)
        db_session.execute(delete(SampleFeedback).where(SampleFeedback.sample_id.in_(old_samples)))
        counts["samples"] += db_session.execute(
            delete(Sample).where(Sample.team_id == team.id, Sample.created_at < cutoff)).rowcount or 0
        counts["analyses"] += db_session.execute(
            delete(Analysis).where(Analysis.team_id == team.id, Analysis.created_at < cutoff)).rowcount or 0
        db_session.commit()
    return counts


def start_scheduler(app, interval_s: float) -> threading.Thread | None:
    """Purge now and then every `interval_s` seconds (with jitter), in a daemon thread."""
    if not interval_s or interval_s <= 0:
        return None
    db = app.extensions["pitchlint_db"]
    stop = threading.Event()

    def loop():
        delay = random.uniform(0, min(60.0, interval_s))
        while not stop.wait(delay):
            try:
                with db.sessions() as s:
                    counts = purge(s)
                if counts["samples"] or counts["analyses"]:
                    log.info("purged %(samples)d samples and %(analyses)d analyses past retention", counts)
            except Exception:  # a database outage must not kill the timer
                log.exception("purge failed; will try again")
            delay = interval_s * random.uniform(0.9, 1.1)

    t = threading.Thread(target=loop, name="pitchlint-purge", daemon=True)
    t.start()
    app.extensions["pitchlint_purge_stop"] = stop
    return t
