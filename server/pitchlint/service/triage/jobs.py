"""The queue's job functions: plain functions with plain arguments (RQ stores them by name).
They run inside the worker's app context (worker.py)."""
from __future__ import annotations

import logging
import uuid

from flask import current_app

from . import engine
from .queue import get_queue

log = logging.getLogger("pitchlint.triage")


def _job_id() -> str:
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else f"inline-{uuid.uuid4().hex[:12]}"


def sync_job(mailbox_id: int) -> int:
    queue = get_queue(current_app)
    holder = _job_id()
    if not queue.sync_lock(mailbox_id, holder, queue.job_timeout):
        return 0  # another sync of this mailbox is running
    try:
        n = engine.sync(mailbox_id, queue)
    finally:
        queue.sync_unlock(mailbox_id, holder)
    if n:
        log.info("triage: mailbox %s has %d new messages", mailbox_id, n)
    return n


def batch_job(mailbox_id: int, message_ids: list[str]) -> dict:
    counts = engine.triage_batch(mailbox_id, list(message_ids), _job_id())
    log.info("triage: mailbox %s: %s", mailbox_id, counts)
    return counts
