"""Inbox triage: Pitchlint reads a connected Gmail or Outlook mailbox's new mail and labels the
pitches (Pitchlint/Me-talk, /Desperate, /Threatening, /Reader-centred), on a job queue.

    models.py      mailboxes (refresh token encrypted: crypto.py) and one row per message
    gmail.py       Gmail through google-api-python-client; graph.py: Outlook through Graph + msal
    rules.py       which messages are pitches, and their labels
    engine.py      sync, triage a batch, sweep: what the jobs do, idempotent per message
    queue.py       RQ on Redis; jobs.py: the job functions; worker.py: `pitchlint worker`
    web.py         the Triage page and connecting a mailbox; push.py: Pub/Sub and Graph pushes
    cli.py         `pitchlint worker`, `pitchlint triage status|run`
"""
from __future__ import annotations


def init_app(app) -> None:
    from . import models, push, settings, web  # noqa: F401  (models: the tables on db.Base)

    settings.init_app(app)
    app.register_blueprint(web.bp)
    app.register_blueprint(push.bp)
