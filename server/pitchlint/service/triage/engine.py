"""The work on mailboxes, as the queue's jobs run it: sync (find new messages), triage a batch
of messages, and sweep (put back on the queue what a lost job left).

The database is the record of what is owed: every message found is a row before any job is
queued for it, and a job claims its rows (state `working`, a lease, its job id) before it
reads them. So a job run twice does nothing twice (a finished row is not claimed again, and a
label already on a message is not applied again); a job lost with its worker (SIGKILL) or with
Redis leaves rows that the sweep queues again once their lease has passed or their job is gone.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time

from flask import current_app
from sqlalchemy import and_, or_, select, update

from ..db import get_db, utcnow
from ..ttlcache import TTLCache
from . import crypto
from .errors import CursorExpired, GrantRevoked, MessageGone, ProviderError, Throttled
from .message import Incoming
from .models import (ACTIVE, GONE, LABELLED, QUEUED, RECONNECT, SKIPPED, WORKING, Mailbox,
                     TriagedMessage)
from .rules import cheap_reason, labels_for

log = logging.getLogger("pitchlint.triage")

MAX_ATTEMPTS = 5                 # a message that fails this often is skipped ("error")
KNOWN_SENDER_SECONDS = 3600
_senders = TTLCache(KNOWN_SENDER_SECONDS, max_entries=200_000)
_clients: dict[int, tuple[str, object]] = {}
_clients_lock = threading.Lock()


# --- clients -------------------------------------------------------------------------------

def _sleep():
    given = current_app.config.get("TRIAGE_SLEEP")  # tests record the waits instead
    return time.sleep if given is None else given


def client_for(mb: Mailbox):
    """The provider client for a mailbox, kept per process while its token is the same (a
    Gmail client costs a parse of the API's discovery document to build)."""
    cfg = current_app.config
    fingerprint = hashlib.sha256(mb.refresh_token.encode()).hexdigest()
    with _clients_lock:
        hit = _clients.get(mb.id)
        if hit and hit[0] == fingerprint:
            return hit[1]
    token = crypto.decrypt(cfg, mb.refresh_token)
    if mb.provider == "gmail":
        from .gmail import GmailClient

        client = GmailClient(cfg, token, sleep=_sleep())
    else:
        from .graph import GraphClient

        mailbox_id = mb.id

        def store(new_token: str) -> None:  # Microsoft rotated the refresh token
            with get_db().sessions() as s:
                row = s.get(Mailbox, mailbox_id)
                if row is not None:
                    row.refresh_token = crypto.encrypt(cfg, new_token)
                    s.commit()
                    with _clients_lock:
                        _clients[mailbox_id] = (hashlib.sha256(row.refresh_token.encode()).hexdigest(), client)

        client = GraphClient(cfg, token, sleep=_sleep(), on_refresh_token=store)
    with _clients_lock:
        if len(_clients) > 200:
            _clients.clear()
        _clients[mb.id] = (fingerprint, client)
    return client


def forget_client(mailbox_id: int) -> None:
    with _clients_lock:
        _clients.pop(mailbox_id, None)


# --- mailbox state -------------------------------------------------------------------------

def _note_problem(s, mb: Mailbox, e: Exception) -> None:
    now = utcnow()
    if isinstance(e, (GrantRevoked, crypto.TokenKeyError)):
        mb.status = RECONNECT
        mb.error = e.message if isinstance(e, GrantRevoked) else str(e)
        forget_client(mb.id)
    elif isinstance(e, Throttled):
        mb.backoff_until = now + dt.timedelta(seconds=e.retry_after)
        mb.error = f"{e.message}; Pitchlint tries again after {mb.backoff_until:%H:%M:%S} UTC."
    else:
        mb.error = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
    mb.error_at = now
    s.commit()
    log.warning("triage mailbox %s: %s", mb.id, mb.error)


def usable(mb: Mailbox | None) -> bool:
    return mb is not None and mb.status == ACTIVE and (mb.backoff_until is None or mb.backoff_until <= utcnow())


# --- sync ----------------------------------------------------------------------------------

def sync(mailbox_id: int, queue) -> int:
    """Find the mailbox's new messages, record them, and queue jobs for them. Returns how many
    were new. `queue` is queue.TriageQueue (or a test's stand-in)."""
    cfg = current_app.config
    with get_db().sessions() as s:
        mb = s.get(Mailbox, mailbox_id)
        if not usable(mb):
            return 0
        try:
            client = client_for(mb)
            if not mb.label_ids:
                mb.label_ids = client.labels(mb.label_ids)
            try:
                if mb.cursor is None:
                    ids, cursor = client.first_sync(mb.backfill_days)
                else:
                    ids, cursor = client.changes(mb.cursor)
            except CursorExpired:
                last = mb.last_sync_at or mb.created_at
                days = min(mb.backfill_days, (utcnow() - last).total_seconds() / 86400 + 1)
                ids, cursor = client.first_sync(days)
            _renew_push(s, mb, client)
        except (ProviderError, crypto.TokenKeyError) as e:
            s.rollback()
            mb = s.get(Mailbox, mailbox_id)
            if mb is not None:
                _note_problem(s, mb, e)
            return 0
        known = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            known |= set(s.scalars(select(TriagedMessage.message_id).where(
                TriagedMessage.mailbox_id == mailbox_id, TriagedMessage.message_id.in_(chunk))))
        new = [m for m in dict.fromkeys(ids) if m not in known]
        batches = [new[i:i + cfg["TRIAGE_BATCH"]] for i in range(0, len(new), cfg["TRIAGE_BATCH"])]
        jobs = []
        now = utcnow()
        for batch in batches:
            job_id = queue.new_job_id(mailbox_id)
            jobs.append((job_id, batch))
            s.add_all(TriagedMessage(mailbox_id=mailbox_id, message_id=m, state=QUEUED, job_id=job_id,
                                     queued_at=now, attempts=0) for m in batch)
        mb.cursor = cursor
        mb.last_sync_at = now
        if mb.error and (mb.backoff_until is None or mb.backoff_until <= now):
            mb.error = mb.error_at = mb.backoff_until = None
        s.commit()
    for job_id, batch in jobs:  # after the commit: a row always exists before its job
        queue.enqueue_batch(job_id, mailbox_id, batch)
    return len(new)


def _renew_push(s, mb: Mailbox, client) -> None:
    """Keep Gmail's watch / Graph's subscription alive when push is configured."""
    cfg = current_app.config
    soon = utcnow() + dt.timedelta(hours=12)
    if mb.watch_expires_at is not None and mb.watch_expires_at > soon:
        return
    if mb.provider == "gmail" and cfg.get("TRIAGE_GMAIL_TOPIC"):
        mb.watch_expires_at = client.watch(cfg["TRIAGE_GMAIL_TOPIC"])
    elif mb.provider == "outlook" and cfg.get("TRIAGE_GRAPH_NOTIFICATIONS") and cfg.get("PUBLIC_URL"):
        from .push import client_state

        mb.watch_expires_at = client.subscribe(cfg["PUBLIC_URL"].rstrip("/") + "/triage/push/graph",
                                               client_state(mb.id))


# --- a batch of messages -------------------------------------------------------------------

def _claim(s, mailbox_id: int, ids: list[str], job_id: str) -> list[str]:
    now = utcnow()
    lease = now + dt.timedelta(seconds=current_app.config["TRIAGE_LEASE_SECONDS"])
    claimable = or_(TriagedMessage.state == QUEUED,
                    and_(TriagedMessage.state == WORKING,
                         or_(TriagedMessage.lease_until < now, TriagedMessage.job_id == job_id)))
    rows = s.execute(
        update(TriagedMessage)
        .where(TriagedMessage.mailbox_id == mailbox_id, TriagedMessage.message_id.in_(ids), claimable)
        .values(state=WORKING, job_id=job_id, lease_until=lease, attempts=TriagedMessage.attempts + 1)
        .returning(TriagedMessage.message_id, TriagedMessage.attempts)).all()
    s.commit()
    return [(m, a) for m, a in rows]


def _finish(s, mailbox_id: int, message_id: str, job_id: str, state: str, *, labels=None,
            reason=None, model_version=None, received_at=None) -> bool:
    """Record a message's outcome, if this job still holds it (one that lost its lease to a
    newer job leaves the outcome to that job)."""
    n = s.execute(
        update(TriagedMessage)
        .where(TriagedMessage.mailbox_id == mailbox_id, TriagedMessage.message_id == message_id,
               TriagedMessage.job_id == job_id, TriagedMessage.state == WORKING)
        .values(state=state, labels=",".join(labels) if labels else None, reason=reason,
                model_version=model_version, received_at=received_at, done_at=utcnow(),
                lease_until=None)).rowcount
    s.commit()
    return bool(n)


def _release(s, mailbox_id: int, ids: list[str], job_id: str) -> None:
    """Give rows back to the queue (the sweep queues them again when their mailbox may go on)."""
    if ids:
        s.execute(update(TriagedMessage)
                  .where(TriagedMessage.mailbox_id == mailbox_id, TriagedMessage.message_id.in_(ids),
                         TriagedMessage.job_id == job_id, TriagedMessage.state == WORKING)
                  .values(state=QUEUED, lease_until=None))
        s.commit()


def triage_batch(mailbox_id: int, ids: list[str], job_id: str) -> dict:
    """Read, judge and label the messages `ids` of a mailbox. Returns counts (for logs)."""
    from ..model import get_analyzer

    counts = {"labelled": 0, "skipped": 0, "gone": 0, "not_claimed": 0}
    with get_db().sessions() as s:
        mb = s.get(Mailbox, mailbox_id)
        if not usable(mb):  # deleted, disconnected, needs reconnecting, or backing off
            return counts
        claimed = _claim(s, mailbox_id, ids, job_id)
        counts["not_claimed"] = len(ids) - len(claimed)
        pending = [m for m, _ in claimed]
        try:
            for m, attempts in claimed:
                if attempts > MAX_ATTEMPTS:
                    _finish(s, mailbox_id, m, job_id, SKIPPED, reason="error")
                    pending.remove(m)
                    counts["skipped"] += 1
            client = client_for(mb)
            chosen = mb.chosen_labels
            to_read: list[Incoming] = []
            for m in list(pending):
                try:
                    msg = client.get(m, mb.label_ids or {}, mb.address)
                    reason = _reason(client, mb, msg)
                except MessageGone:
                    _finish(s, mailbox_id, m, job_id, GONE, reason="deleted")
                    pending.remove(m)
                    counts["gone"] += 1
                    continue
                if reason:
                    _finish(s, mailbox_id, m, job_id, SKIPPED, reason=reason, received_at=msg.received_at)
                    pending.remove(m)
                    counts["skipped"] += 1
                else:
                    to_read.append(msg)
            if to_read:
                analyzer = get_analyzer()
                for msg, answer in zip(to_read, _analyse(analyzer, to_read)):
                    version = analyzer.version
                    if isinstance(answer, str):
                        _finish(s, mailbox_id, msg.id, job_id, SKIPPED, reason=answer,
                                model_version=version, received_at=msg.received_at)
                        counts["skipped"] += 1
                    else:
                        keys = labels_for(answer, chosen, mb.min_confidence)
                        if not keys:
                            _finish(s, mailbox_id, msg.id, job_id, SKIPPED, reason="not_flagged",
                                    model_version=version, received_at=msg.received_at)
                            counts["skipped"] += 1
                        else:
                            missing = [k for k in keys if k not in msg.applied]
                            try:
                                if missing:  # a second run after a lost job finds them there already
                                    _apply(s, client, mb, msg, missing)
                            except MessageGone:
                                _finish(s, mailbox_id, msg.id, job_id, GONE, reason="deleted")
                                counts["gone"] += 1
                            else:
                                _finish(s, mailbox_id, msg.id, job_id, LABELLED, labels=keys,
                                        model_version=version, received_at=msg.received_at)
                                counts["labelled"] += 1
                    pending.remove(msg.id)
        except (ProviderError, crypto.TokenKeyError) as e:
            s.rollback()
            _release(s, mailbox_id, pending, job_id)
            mb = s.get(Mailbox, mailbox_id)
            if mb is not None:
                _note_problem(s, mb, e)
        except BaseException:
            s.rollback()
            _release(s, mailbox_id, pending, job_id)
            raise
    return counts


def _reason(client, mb: Mailbox, msg: Incoming) -> str | None:
    reason = cheap_reason(msg, mb.address, mb.label_own_domain)
    if reason:
        return reason
    if msg.is_reply and msg.thread_id and client.user_in_thread(msg):
        return "your_thread"
    key = (mb.id, mb.address, hashlib.sha256(msg.sender.encode()).hexdigest())
    known = _senders.get(key)
    if known is None:
        known = client.wrote_to(msg.sender)
        _senders.put(key, known)
    return "known_sender" if known else None


def _analyse(analyzer, messages: list[Incoming]) -> list:
    """The model's answer per message (read mode, the sender's own text), or a skip reason."""
    from ...model.runtime import AnalyzeError
    from ..addins.owntext import sender_text

    limit = current_app.config["MAX_TEXT_CHARS"]
    items, where, out = [], [], []
    for msg in messages:
        own = sender_text(msg.text) if msg.text.strip() else ""
        if not own.strip():
            out.append("no_text")
        elif len(own) > limit:
            out.append("too_long")
        else:
            out.append(None)
            where.append(len(out) - 1)
            items.append({"text": own, "subject": (msg.subject or "")[:2000] or None, "mode": "read"})
    if items:
        try:
            answers = analyzer.analyze_batch(items)
        except AnalyzeError:
            answers = []
            for item in items:
                try:
                    answers.append(analyzer.analyze_batch([item])[0])
                except AnalyzeError:
                    answers.append("no_text")
        for i, answer in zip(where, answers):
            out[i] = answer
    return out


def _apply(s, client, mb: Mailbox, msg: Incoming, keys: list[str]) -> None:
    try:
        client.apply(msg, keys, mb.label_ids)
    except (MessageGone, GrantRevoked, Throttled):
        raise
    except ProviderError:  # the user deleted one of our labels: make them again, once
        mb.label_ids = client.labels(None)
        s.commit()
        client.apply(msg, keys, mb.label_ids)


# --- sweep ---------------------------------------------------------------------------------

def sweep(queue) -> int:
    """Queue again the rows that no live job holds: a lease passed (the worker died mid-job),
    or a queued row whose job Redis no longer has (Redis restarted, a failed job, a mailbox
    that was backing off or reconnected). Returns how many rows were queued again."""
    cfg = current_app.config
    now = utcnow()
    grace = now - dt.timedelta(seconds=cfg["TRIAGE_SWEEP_GRACE_SECONDS"])
    with get_db().sessions() as s:
        rows = s.execute(
            select(TriagedMessage.mailbox_id, TriagedMessage.message_id, TriagedMessage.job_id,
                   TriagedMessage.state)
            .join(Mailbox, Mailbox.id == TriagedMessage.mailbox_id)
            .where(Mailbox.status == ACTIVE,
                   or_(Mailbox.backoff_until.is_(None), Mailbox.backoff_until <= now),
                   or_(and_(TriagedMessage.state == WORKING, TriagedMessage.lease_until < now),
                       and_(TriagedMessage.state == QUEUED, TriagedMessage.queued_at < grace)))).all()
        if not rows:
            return 0
        alive = queue.jobs_alive({r.job_id for r in rows if r.state == QUEUED and r.job_id})
        groups: dict[tuple, list[str]] = {}  # (mailbox, state, job) -> message ids
        for r in rows:
            if r.state == WORKING or r.job_id not in alive:
                groups.setdefault((r.mailbox_id, r.state, r.job_id), []).append(r.message_id)
        jobs = []
        for (mailbox_id, state, old_job), ids in groups.items():
            for i in range(0, len(ids), cfg["TRIAGE_BATCH"]):
                job_id = queue.new_job_id(mailbox_id)
                # Only rows still as they were seen: one a live job claimed meanwhile stays its.
                seen_as = [TriagedMessage.state == state,
                           TriagedMessage.job_id == old_job if old_job else TriagedMessage.job_id.is_(None)]
                if state == WORKING:
                    seen_as.append(TriagedMessage.lease_until < now)
                taken = s.execute(
                    update(TriagedMessage)
                    .where(TriagedMessage.mailbox_id == mailbox_id,
                           TriagedMessage.message_id.in_(ids[i:i + cfg["TRIAGE_BATCH"]]), *seen_as)
                    .values(state=QUEUED, job_id=job_id, lease_until=None, queued_at=now)
                    .returning(TriagedMessage.message_id)).scalars().all()
                if taken:
                    jobs.append((job_id, mailbox_id, list(taken)))
        s.commit()
    for job_id, mailbox_id, batch in jobs:
        queue.enqueue_batch(job_id, mailbox_id, batch)
    if jobs:
        log.info("triage sweep: queued %d messages again in %d jobs", sum(len(b) for _, _, b in jobs), len(jobs))
    return sum(len(b) for _, _, b in jobs)


def due_mailboxes() -> list[int]:
    """Active mailboxes whose last sync is older than the poll interval."""
    cfg = current_app.config
    now = utcnow()
    due = now - dt.timedelta(seconds=cfg["TRIAGE_POLL_SECONDS"])
    with get_db().sessions() as s:
        return list(s.scalars(select(Mailbox.id).where(
            Mailbox.status == ACTIVE, or_(Mailbox.backoff_until.is_(None), Mailbox.backoff_until <= now),
            or_(Mailbox.last_sync_at.is_(None), Mailbox.last_sync_at <= due))))
