"""The work on mailboxes, as the queue's jobs run it: sync (find new messages), triage a batch
of messages, and sweep (put back on the queue what a lost job left).

The database is the record of what is owed: every message found is a row before any job is
queued for it, and a job claims its rows (state `working`, a lease, its job id) before it
reads them. So a job run twice does nothing twice (a finished row is not claimed again, and a
label already on a message is not applied again); a job lost with its worker (SIGKILL) or with
Redis leaves rows that the sweep queues again once their lease has passed or their job is gone.
"""
from __future__ import annotations

import contextlib
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


def _renew(s, mailbox_id: int, ids: list[str], job_id: str) -> set[str]:
    """A fresh lease on the messages this job still holds (before it labels them: a job slowed
    down past its lease labels nothing that another job has taken over). Returns those ids."""
    if not ids:
        return set()
    lease = utcnow() + dt.timedelta(seconds=current_app.config["TRIAGE_LEASE_SECONDS"])
    held = set(s.execute(
        update(TriagedMessage)
        .where(TriagedMessage.mailbox_id == mailbox_id, TriagedMessage.message_id.in_(ids),
               TriagedMessage.job_id == job_id, TriagedMessage.state == WORKING)
        .values(lease_until=lease)
        .returning(TriagedMessage.message_id)).scalars())
    s.commit()
    return held


def _outcome(state: str, *, labels=None, reason=None, model_version=None, received_at=None) -> dict:
    return {"b_state": state, "b_labels": ",".join(labels) if labels else None, "b_reason": reason,
            "b_version": model_version, "b_received": received_at}


_FINISH = None


def _finish_all(s, mailbox_id: int, job_id: str, outcomes: dict[str, dict]) -> None:
    """Record the messages' outcomes, in one statement and one commit, for the messages this job
    still holds (one that lost its lease to a newer job leaves the outcome to that job)."""
    global _FINISH
    if not outcomes:
        return
    if _FINISH is None:
        from sqlalchemy import bindparam

        _FINISH = (update(TriagedMessage.__table__)
                   .where(TriagedMessage.__table__.c.mailbox_id == bindparam("b_mailbox"),
                          TriagedMessage.__table__.c.message_id == bindparam("b_message"),
                          TriagedMessage.__table__.c.job_id == bindparam("b_job"),
                          TriagedMessage.__table__.c.state == WORKING)
                   .values(state=bindparam("b_state"), labels=bindparam("b_labels"),
                           reason=bindparam("b_reason"), model_version=bindparam("b_version"),
                           received_at=bindparam("b_received"), done_at=bindparam("b_done"),
                           lease_until=None))
    now = utcnow()
    s.connection().execute(_FINISH, [{"b_mailbox": mailbox_id, "b_message": m, "b_job": job_id,
                                      "b_done": now, **o} for m, o in outcomes.items()])
    s.commit()


def _release(s, mailbox_id: int, ids: list[str], job_id: str) -> None:
    """Give rows back to the queue (the sweep queues them again when their mailbox may go on)."""
    if ids:
        s.execute(update(TriagedMessage)
                  .where(TriagedMessage.mailbox_id == mailbox_id, TriagedMessage.message_id.in_(ids),
                         TriagedMessage.job_id == job_id, TriagedMessage.state == WORKING)
                  .values(state=QUEUED, lease_until=None))
        s.commit()


def triage_batch(mailbox_id: int, ids: list[str], job_id: str) -> dict:
    """Read, judge and label the messages `ids` of a mailbox. Returns counts (for logs).

    The provider is asked in three batches whatever the number of messages (the messages; the
    threads and senders the rules need; the labels), the model reads all the job's messages at
    once, and the outcomes are written in one commit at the end. A job that fails or dies on the
    way loses nothing: what it did not record is done again by the next job, which finds any
    label it had applied already there and does not apply it again."""
    counts = {"labelled": 0, "skipped": 0, "gone": 0, "not_claimed": 0}
    with get_db().sessions() as s:
        mb = s.get(Mailbox, mailbox_id)
        if not usable(mb):  # deleted, disconnected, needs reconnecting, or backing off
            return counts
        claimed = _claim(s, mailbox_id, ids, job_id)
        counts["not_claimed"] = len(ids) - len(claimed)
        outcomes: dict[str, dict] = {}
        try:
            for m, attempts in claimed:
                if attempts > MAX_ATTEMPTS:
                    outcomes[m] = _outcome(SKIPPED, reason="error")
            todo = [m for m, _ in claimed if m not in outcomes]
            if todo:
                _triage(s, mb, todo, job_id, outcomes)
        except (ProviderError, crypto.TokenKeyError) as e:
            s.rollback()
            _finish_all(s, mailbox_id, job_id, outcomes)
            _release(s, mailbox_id, [m for m, _ in claimed if m not in outcomes], job_id)
            mb = s.get(Mailbox, mailbox_id)
            if mb is not None:
                _note_problem(s, mb, e)
        except BaseException:  # a job timeout, a stop: keep what is done, give back the rest
            s.rollback()
            with contextlib.suppress(Exception):
                _finish_all(s, mailbox_id, job_id, outcomes)
                _release(s, mailbox_id, [m for m, _ in claimed if m not in outcomes], job_id)
            raise
        else:
            _finish_all(s, mailbox_id, job_id, outcomes)
    for o in outcomes.values():
        counts[{LABELLED: "labelled", SKIPPED: "skipped", GONE: "gone"}[o["b_state"]]] += 1
    return counts


def _triage(s, mb: Mailbox, ids: list[str], job_id: str, outcomes: dict[str, dict]) -> None:
    from ..model import get_analyzer

    client = client_for(mb)
    got = client.get_many(ids, mb.label_ids or {}, mb.address)
    candidates: list[Incoming] = []
    for m in ids:
        msg = got.get(m)
        if msg is None:
            outcomes[m] = _outcome(GONE, reason="deleted")
            continue
        reason = cheap_reason(msg, mb.address, mb.label_own_domain)
        if reason:
            outcomes[m] = _outcome(SKIPPED, reason=reason, received_at=msg.received_at)
        else:
            candidates.append(msg)
    to_read = []
    for msg, reason in zip(candidates, _reasons(client, mb, candidates)):
        if reason == "deleted":
            outcomes[msg.id] = _outcome(GONE, reason="deleted")
        elif reason:
            outcomes[msg.id] = _outcome(SKIPPED, reason=reason, received_at=msg.received_at)
        else:
            to_read.append(msg)
    if not to_read:
        return
    analyzer = get_analyzer()
    version = analyzer.version
    to_label: list[tuple[Incoming, list[str]]] = []
    for msg, answer in zip(to_read, _analyse(analyzer, to_read)):
        if isinstance(answer, str):
            outcomes[msg.id] = _outcome(SKIPPED, reason=answer, model_version=version, received_at=msg.received_at)
            continue
        keys = labels_for(answer, mb.chosen_labels, mb.min_confidence)
        if not keys:
            outcomes[msg.id] = _outcome(SKIPPED, reason="not_flagged", model_version=version,
                                        received_at=msg.received_at)
        else:
            to_label.append((msg, keys))
    if not to_label:
        return
    held = _renew(s, mb.id, [msg.id for msg, _ in to_label], job_id)
    to_label = [(msg, keys) for msg, keys in to_label if msg.id in held]
    # A second run after a lost job finds a label it applied already there, and applies only
    # what is missing.
    gone = _apply_many(s, client, mb, [(msg, [k for k in keys if k not in msg.applied])
                                       for msg, keys in to_label])
    for msg, keys in to_label:
        if msg.id in gone:
            outcomes[msg.id] = _outcome(GONE, reason="deleted")
        else:
            outcomes[msg.id] = _outcome(LABELLED, labels=keys, model_version=version, received_at=msg.received_at)


def _reasons(client, mb: Mailbox, messages: list[Incoming]) -> list[str | None]:
    """Per message, the rules' reason to skip it that needs the provider: in a thread the user
    wrote in, from someone the user has written to (asked once an hour per sender), or gone.
    All the questions a job has go to the provider at once."""
    keys = {msg.id: (mb.id, mb.address, hashlib.sha256(msg.sender.encode()).hexdigest()) for msg in messages}
    known = {msg.id: _senders.get(keys[msg.id]) for msg in messages}
    ask_threads = [msg for msg in messages if msg.is_reply and msg.thread_id]
    ask_senders = list(dict.fromkeys(msg.sender for msg in messages if known[msg.id] is None))
    threads, wrote = client.lookups(ask_threads, ask_senders) if ask_threads or ask_senders else ({}, {})
    for msg in messages:
        if known[msg.id] is None and msg.sender in wrote:
            known[msg.id] = wrote[msg.sender]
            _senders.put(keys[msg.id], wrote[msg.sender])
    out = []
    for msg in messages:
        in_thread = threads.get(msg.id, False)
        out.append("deleted" if in_thread is None else "your_thread" if in_thread else
                   "known_sender" if known[msg.id] else None)
    return out


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


def _apply_many(s, client, mb: Mailbox, items: list[tuple[Incoming, list[str]]]) -> set[str]:
    """Apply the labels; returns the ids of the messages found gone. A label the user deleted
    is made again, once, and the messages that wanted it are labelled after."""
    items = [(msg, keys) for msg, keys in items if keys]
    if not items:
        return set()
    results = client.apply_many(items, mb.label_ids or {})
    redo = [(msg, keys) for msg, keys in items
            if results.get(msg.id) is not None and not isinstance(results[msg.id], MessageGone)]
    if redo:
        mb.label_ids = client.labels(None)
        s.commit()
        results.update(client.apply_many(redo, mb.label_ids))
    gone = set()
    for msg_id, error in results.items():
        if isinstance(error, MessageGone):
            gone.add(msg_id)
        elif error is not None:
            raise error
    return gone


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
