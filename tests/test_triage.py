"""Inbox triage against a local fake of Gmail, Graph and their sign-in (tests/fakemail.py), with
the real client libraries, the real model, and jobs on the real Redis through RQ.

Redis: PITCHLINT_TEST_REDIS_URL (what .ci/run sets; the tests fail when it can't be reached),
else redis://127.0.0.1:6379/14 when it answers (the tests are skipped when it does not). Each
test has a queue of its own, and its keys are deleted afterwards. The tests marked db run again
on PostgreSQL (.ci/run).
"""
from __future__ import annotations

import os
import re
import uuid

import pytest

from .fakemail import FakeMail

ME = "dana@buyer.example"
DESPERATE = ("Hi Dana,\n\nSorry to chase again. Did my last three emails get through? I really need "
             "a reply before my manager reviews my pipeline on Friday, please let me know.\n\nTom")
ME_TALK = ("Hi Dana,\n\nWe are the leading sales enablement platform, trusted by over nine hundred "
           "companies worldwide. Our award-winning coaching suite includes call recording, scorecards, "
           "forecasting and a searchable content library. We were named a leader by every analyst "
           "firm this year.\n\nBest,\nTom")
THREAT = ("Hi Dana,\n\nIf we don't speak before the end of the month, your discount will be gone and "
          "the price goes up by a third. After Friday I will have to escalate this to your CEO.\n\nTom")
COLLEAGUE = ("Hi Dana,\n\nCan you send me the Q3 numbers before the board meeting? We need them by "
             "Thursday.\n\nThanks,\nSam")   # the model calls this me-talk: only the rules keep it unlabelled
GOOD = ("Hi Dana,\n\nSaw that Halden Freight posted two Tier 1 SOC analyst roles last week, both "
        "mentioning phishing triage as the main duty. When a team hires specifically for triage, it "
        "usually means the reported-phish queue has outgrown the people working it. Is triage volume "
        "the real driver behind those hires?\n\nMarcus")


def _redis_url() -> str:
    import redis

    url = os.environ.get("PITCHLINT_TEST_REDIS_URL")
    try:
        redis.Redis.from_url(url or "redis://127.0.0.1:6379/14", socket_connect_timeout=1).ping()
    except redis.RedisError as e:
        if url:
            pytest.fail(f"PITCHLINT_TEST_REDIS_URL={url} can't be reached: {e}")
        pytest.skip("no Redis at 127.0.0.1:6379 (set PITCHLINT_TEST_REDIS_URL)")
    return url or "redis://127.0.0.1:6379/14"


class Sleeps(list):
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def fake():
    with FakeMail() as f:
        yield f


@pytest.fixture
def tapp(make_app, fake):
    import redis
    from cryptography.fernet import Fernet

    url = _redis_url()
    name = f"pitchlint-test-{uuid.uuid4().hex[:10]}"
    sleeps = Sleeps()
    app = make_app(**fake.config(), TRIAGE_KEY=Fernet.generate_key().decode(), REDIS_URL=url,
                   TRIAGE_QUEUE=name, TRIAGE_SLEEP=sleeps, TRIAGE_BATCH=4, TRIAGE_SWEEP_GRACE_SECONDS=0,
                   SECRET_KEY="test-secret",
                   # the sign-in limit counts in the shared Redis for a minute: runs back to back
                   # (SQLite, then PostgreSQL) must not meet it
                   SIGNIN_ATTEMPTS_PER_MINUTE=10_000)
    app.sleeps = sleeps
    from pitchlint.service.triage import engine

    engine._senders = engine.TTLCache(engine.KNOWN_SENDER_SECONDS)  # per test, as mailbox ids repeat
    yield app
    conn = redis.Redis.from_url(url)
    keys = list(conn.scan_iter(f"*{name}*", count=1000))
    if keys:
        conn.delete(*keys)


@pytest.fixture
def user(tapp):
    from pitchlint.service.db import get_db
    from pitchlint.service.team.admin import add_user, create_team

    with tapp.app_context(), get_db().sessions() as s:
        team = create_team(s, "Buyer", "Ops", False, 30)
        u = add_user(s, ME, team, "member", "Dana", "correct horse battery", None)
        return u.id


def connect(app, fake, user_id, provider="gmail", address=ME, **settings):
    """A connected mailbox, as the Triage page leaves it."""
    from pitchlint.service.db import get_db
    from pitchlint.service.triage import crypto
    from pitchlint.service.triage.models import Mailbox

    token = fake.refresh_token("google" if provider == "gmail" else "microsoft", address)
    with app.app_context(), get_db().sessions() as s:
        mb = Mailbox(user_id=user_id, provider=provider, address=address,
                     refresh_token=crypto.encrypt(app.config, token), backfill_days=7, **settings)
        s.add(mb)
        s.commit()
        return mb.id


def sync(app, mailbox_id):
    from pitchlint.service.triage import jobs

    with app.app_context():
        return jobs.sync_job(mailbox_id)


def drain(app, sweep=False):
    """Run every job waiting (a worker in burst mode, in this process)."""
    from pitchlint.service.triage import engine
    from pitchlint.service.triage.queue import get_queue
    from pitchlint.service.triage.worker import worker_class

    with app.app_context():
        q = get_queue(app)
        if sweep:
            engine.sweep(q)
        worker_class()([q.queue], connection=q.connection).work(burst=True, logging_level="WARNING")
        failed = q.queue.failed_job_registry
        problems = [q.queue.fetch_job(j).latest_result().exc_string for j in failed.get_job_ids()]
        scheduled = q.queue.scheduled_job_registry.get_job_ids()
        assert not problems and not scheduled, (problems, scheduled)


def rows(app, mailbox_id=None):
    from sqlalchemy import select

    from pitchlint.service.db import get_db
    from pitchlint.service.triage.models import TriagedMessage

    with app.app_context(), get_db().sessions() as s:
        q = select(TriagedMessage)
        if mailbox_id is not None:
            q = q.where(TriagedMessage.mailbox_id == mailbox_id)
        return {r.message_id: r for r in s.scalars(q)}


def mailbox(app, mailbox_id):
    from pitchlint.service.db import get_db
    from pitchlint.service.triage.models import Mailbox

    with app.app_context(), get_db().sessions() as s:
        return s.get(Mailbox, mailbox_id)


def inbox(fake):
    """The fake mailbox with one of each kind of message; returns (box, {kind: id})."""
    box = fake.account(ME)
    started = box.send("ops@customer.example", "Renewal")
    ids = {
        "desperate": box.deliver("tom@vendor.example", "Following up", DESPERATE),
        "me_talk": box.deliver("rep@saas.example", "Our platform", ME_TALK),
        "threat": box.deliver("closer@deals.example", "Last chance", THREAT),
        "html_only": box.deliver("html@vendor.example", "Checking in",
                                 html="<html><body><p>" + DESPERATE.replace("\n\n", "</p><p>") + "</p></body></html>"),
        "latin1": box.deliver("eu@vendor.example", "Café", charset="iso-8859-1",
                              raw_body=("Hi Dana,\n\nSorry to chase again, café owners love us. Did my last "
                                        "three emails get through? I really need a reply, please.\n\nTom").encode("latin-1")),
        "attachment": box.deliver("deck@vendor.example", "Our deck", ME_TALK, attachment_bytes=5_000_000),
        "colleague": box.deliver("sam@buyer.example", "Q3 numbers", COLLEAGUE),
        "newsletter": box.deliver("news@digest.example", "This week", ME_TALK,
                                  headers={"List-Id": "<weekly.digest.example>", "Precedence": "bulk"}),
        "customer_reply": box.deliver("ops@customer.example", "Re: Renewal", COLLEAGUE, reply_to=started),
        "good": box.deliver("marcus@research.example", "SOC hires", GOOD),
    }
    box.send("old@friend.example", "Lunch?")
    ids["known_sender"] = box.deliver("old@friend.example", "Our platform", ME_TALK)
    return box, ids


PITCHES = {"desperate", "me_talk", "threat", "html_only", "latin1", "attachment"}
SKIPS = {"colleague": "own_domain", "newsletter": "bulk", "customer_reply": "your_thread",
         "known_sender": "known_sender", "good": "not_flagged"}


# --- the rules, end to end ---------------------------------------------------------------

@pytest.mark.db  # claims, leases and the sweep's updates on PostgreSQL too
@pytest.mark.parametrize("provider", ["gmail", "outlook"])
def test_only_pitches_get_labels(tapp, fake, user, provider):
    box, ids = inbox(fake)
    mid = connect(tapp, fake, user, provider)
    assert sync(tapp, mid) == len(ids)
    drain(tapp)
    got = rows(tapp, mid)
    for kind in PITCHES:
        row = got[ids[kind]]
        assert row.state == "labelled", (kind, row.state, row.reason, mailbox(tapp, mid).error)
        assert box.our_labels(ids[kind]), kind
        assert box.our_labels(ids[kind]) == sorted(
            "Pitchlint/" + {"me_talk": "Me-talk", "desperate": "Desperate", "threatening": "Threatening"}[k]
            for k in row.label_keys)
        assert row.model_version
    assert set(got[ids["desperate"]].label_keys) >= {"desperate"}
    assert set(got[ids["html_only"]].label_keys) >= {"desperate"}
    assert set(got[ids["latin1"]].label_keys) >= {"desperate"}
    assert "threatening" in got[ids["threat"]].label_keys
    for kind, reason in SKIPS.items():
        assert got[ids[kind]].state == "skipped" and got[ids[kind]].reason == reason, kind
        assert box.our_labels(ids[kind]) == [], kind
    assert box.attachment_downloads == 0  # a 5 MB attachment is never fetched
    assert not fake.hits(r"/attachments/")
    # each pitch got its labels in one call; nothing else was modified
    assert sorted(box.modify_calls) == sorted(ids[k] for k in PITCHES)
    assert set(box.modify_calls.values()) == {1}


def test_nothing_of_the_text_is_stored(tapp, fake, user):
    from sqlalchemy import text

    from pitchlint.service.db import get_db

    box, ids = inbox(fake)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    drain(tapp)
    with tapp.app_context(), get_db().engine.connect() as conn:
        dump = repr(conn.execute(text("SELECT * FROM triage_messages")).all()) + \
            repr(conn.execute(text("SELECT * FROM triage_mailboxes")).all())
    for phrase in ("chase again", "award-winning", "Q3 numbers", "Following up", "tom@vendor.example"):
        assert phrase not in dump
    token_rows = [t for t in fake.refresh_tokens if t in dump]
    assert token_rows == []  # the refresh token is stored encrypted


def test_reader_centred_and_settings(tapp, fake, user):
    box = fake.account(ME)
    good = box.deliver("marcus@research.example", "SOC hires", GOOD)
    colleague = box.deliver("sam@buyer.example", "Q3 numbers", ME_TALK)
    desperate = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user, labels="desperate,reader_centred", label_own_domain=True)
    sync(tapp, mid)
    drain(tapp)
    got = rows(tapp, mid)
    assert got[good].label_keys == ["reader_centred"]
    assert box.our_labels(good) == ["Pitchlint/Reader-centred"]
    assert got[colleague].state == "skipped" and got[colleague].reason == "not_flagged"  # me-talk not chosen
    assert got[desperate].label_keys == ["desperate"]


# --- the queue: idempotency, retries, lost work ------------------------------------------

@pytest.mark.db  # claims, leases and the sweep's updates on PostgreSQL too
def test_a_job_run_twice_labels_once(tapp, fake, user):
    from pitchlint.service.triage import engine

    box = fake.account(ME)
    msg = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    job_id = rows(tapp, mid)[msg].job_id
    with tapp.app_context():
        first = engine.triage_batch(mid, [msg], job_id)
        second = engine.triage_batch(mid, [msg], job_id)
        third = engine.triage_batch(mid, [msg], "another-job")
    assert first["labelled"] == 1 and second["not_claimed"] == 1 and third["not_claimed"] == 1
    drain(tapp)
    assert box.modify_calls == {msg: 1}
    assert sorted(label for _, label in box.label_events[msg]) == ["Pitchlint/Desperate", "Pitchlint/Me-talk"]


@pytest.mark.db  # claims, leases and the sweep's updates on PostgreSQL too
def test_a_job_lost_after_labelling_is_finished_without_labelling_again(tapp, fake, user):
    """A worker SIGKILLed between Gmail's modify and the database's commit: the message is
    claimed by a job that will never finish. Once its lease has passed the sweep queues it
    again, and the new job finds the label already there."""
    import datetime as dt

    from sqlalchemy import update

    from pitchlint.service.db import get_db
    from pitchlint.service.triage import engine
    from pitchlint.service.triage.models import TriagedMessage
    from pitchlint.service.triage.queue import get_queue

    box = fake.account(ME)
    msg = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    with tapp.app_context():
        get_queue(tapp).queue.empty()  # the job is gone with its worker
        with get_db().sessions() as s:
            assert [m for m, _ in engine._claim(s, mid, [msg], "dead-job")] == [msg]
        labels = engine.client_for(mailbox(tapp, mid)).labels(None)
        box.messages[msg].labels |= {labels["desperate"], labels["me_talk"]}  # its modify went through
        with get_db().sessions() as s:
            s.execute(update(TriagedMessage).values(lease_until=dt.datetime(2000, 1, 1)))
            s.commit()
    drain(tapp, sweep=True)
    row = rows(tapp, mid)[msg]
    assert row.state == "labelled" and row.label_keys == ["me_talk", "desperate"]
    assert box.modify_calls.get(msg) is None  # not labelled a second time


@pytest.mark.db  # claims, leases and the sweep's updates on PostgreSQL too
def test_jobs_lost_with_redis_are_queued_again(tapp, fake, user):
    from pitchlint.service.triage.queue import get_queue

    box = fake.account(ME)
    msgs = [box.deliver(f"rep{i}@vendor{i}.example", "Following up", DESPERATE) for i in range(6)]
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    with tapp.app_context():
        q = get_queue(tapp)
        assert q.depth() == 2  # 6 messages, batches of 4
        for job_id in q.queue.job_ids:  # Redis restarted without its data
            q.connection.delete(f"rq:job:{job_id}")
        q.queue.empty()
    drain(tapp)
    assert all(r.state == "queued" for r in rows(tapp, mid).values())
    drain(tapp, sweep=True)
    assert all(r.state == "labelled" for r in rows(tapp, mid).values())
    assert box.modify_calls == {m: 1 for m in msgs}


def test_a_job_asks_gmail_in_three_batch_requests(tapp, fake, user):
    """A job of four messages: their messages.get, then the rules' threads.get and sent-mail
    lookups, then their messages.modify, each set in one batch request."""
    box = fake.account(ME)
    started = box.send("ops@customer.example", "Renewal")
    msgs = [box.deliver("tom@vendor.example", "Following up", DESPERATE),
            box.deliver("rep@saas.example", "Our platform", ME_TALK),
            box.deliver("closer@deals.example", "Last chance", THREAT),
            box.deliver("ops@customer.example", "Re: Renewal", COLLEAGUE, reply_to=started)]
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    before, calls = len(fake.http_requests), len(fake.requests)
    drain(tapp)
    assert [(m, p) for _, m, p, _ in fake.http_requests[before:]] == [("POST", "/batch/gmail/v1")] * 3
    inside = [p.split("?")[0] for _, _, p, _ in fake.requests[calls:] if not p.startswith("/batch/")]
    assert sorted(inside) == sorted(
        [f"/gmail/v1/users/me/messages/{m}" for m in msgs]                      # one batch
        + [f"/gmail/v1/users/me/threads/{box.messages[msgs[3]].thread_id}"]      # the next
        + ["/gmail/v1/users/me/messages"] * 4                                    # (in:sent to:...)
        + [f"/gmail/v1/users/me/messages/{m}/modify" for m in msgs[:3]])         # the last
    got = rows(tapp, mid)
    assert [got[m].state for m in msgs] == ["labelled"] * 3 + ["skipped"]
    assert got[msgs[3]].reason == "your_thread"


def test_a_job_asks_graph_in_batches_and_retries_only_what_failed(tapp, fake, user):
    """Outlook: the same three rounds as JSON batches (POST /$batch); a PATCH answered 429 with
    Retry-After inside a batch is sent again alone, after that wait."""
    box = fake.account(ME)
    started = box.send("ops@customer.example", "Renewal")
    msgs = [box.deliver("tom@vendor.example", "Following up", DESPERATE),
            box.deliver("rep@saas.example", "Our platform", ME_TALK),
            box.deliver("closer@deals.example", "Last chance", THREAT),
            box.deliver("ops@customer.example", "Re: Renewal", COLLEAGUE, reply_to=started)]
    mid = connect(tapp, fake, user, "outlook")
    sync(tapp, mid)
    fake.fail(rf"^/graph/v1.0/me/messages/{msgs[1]}$", 429, times=1, retry_after="3", method="PATCH")
    before, calls = len(fake.http_requests), len(fake.requests)
    drain(tapp)
    assert [(m, p) for _, m, p, _ in fake.http_requests[before:]] == [("POST", "/graph/v1.0/$batch")] * 4
    assert 3.0 in tapp.sleeps
    patches = [(p.rsplit("/", 1)[1], status) for _, m, p, status in fake.requests[calls:] if m == "PATCH"]
    assert sorted(patches) == sorted([(msgs[0], 200), (msgs[1], 429), (msgs[2], 200), (msgs[1], 200)])
    got = rows(tapp, mid)
    assert [got[m].state for m in msgs] == ["labelled"] * 3 + ["skipped"]
    assert got[msgs[3]].reason == "your_thread" and box.modify_calls == {m: 1 for m in msgs[:3]}


def test_429_is_retried_after_retry_after(tapp, fake, user):
    box = fake.account(ME)
    msg = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    fake.fail(r"/modify\?", 429, times=1, retry_after="7")
    fake.fail(r"/messages/[^/?]+\?", 503, times=1)  # and a 5xx on reading it, without Retry-After
    drain(tapp)
    assert rows(tapp, mid)[msg].state == "labelled"
    assert 7.0 in tapp.sleeps          # Retry-After honoured
    assert 1.0 in tapp.sleeps          # back-off when there was none
    assert [h[3] for h in fake.hits(r"/modify\?")] == [429, 200]


def test_a_slow_answer_is_given_up_on_and_tried_again(tapp, fake, user):
    tapp.config["GMAIL_TIMEOUT_SECONDS"] = 2.0
    box = fake.account(ME)
    msg = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    fake.slow(r"/messages/[^/?]+\?format=full", 6.0, times=1)
    drain(tapp)
    assert rows(tapp, mid)[msg].state == "labelled"
    assert tapp.sleeps == [1.0]  # one back-off after the timeout, then the answer came


def test_a_long_retry_after_puts_the_mailbox_off_and_loses_nothing(tapp, fake, user):
    import datetime as dt

    from pitchlint.service.db import get_db
    from pitchlint.service.triage.models import Mailbox

    box = fake.account(ME)
    msg = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    fake.fail(r"/modify\?", 429, times=1, retry_after="600")
    drain(tapp)
    mb = mailbox(tapp, mid)
    assert mb.backoff_until is not None and "limiting requests" in mb.error
    assert rows(tapp, mid)[msg].state == "queued"
    assert 600 not in tapp.sleeps      # not slept inside the job
    drain(tapp, sweep=True)            # still backing off: nothing happens
    assert rows(tapp, mid)[msg].state == "queued"
    with tapp.app_context(), get_db().sessions() as s:
        s.get(Mailbox, mid).backoff_until = dt.datetime(2000, 1, 1)
        s.commit()
    drain(tapp, sweep=True)
    assert rows(tapp, mid)[msg].state == "labelled"


def test_an_expired_access_token_is_refreshed(tapp, fake, user):
    box = fake.account(ME)
    first = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    drain(tapp)
    fake.expire_access_tokens()
    second = box.deliver("rep@vendor.example", "Last chance", THREAT)
    sync(tapp, mid)
    drain(tapp)
    assert rows(tapp, mid)[second].state == "labelled"
    assert len(fake.hits(r"^/google/token", "POST")) == 2
    assert rows(tapp, mid)[first].state == "labelled"


@pytest.mark.parametrize("provider", ["gmail", "outlook"])
def test_a_revoked_grant_stops_the_mailbox_and_says_so(tapp, fake, user, provider):
    from pitchlint.service.triage.cli import status_lines

    box = fake.account(ME)
    msg = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user, provider)
    sync(tapp, mid)
    fake.revoke(ME)
    drain(tapp)
    mb = mailbox(tapp, mid)
    assert mb.status == "reconnect" and "Connect it again" in mb.error
    assert rows(tapp, mid)[msg].state == "queued"  # kept for when it is connected again
    calls = len(fake.requests)
    box.deliver("rep@vendor.example", "Last chance", THREAT)
    assert sync(tapp, mid) == 0
    drain(tapp, sweep=True)
    assert len(fake.requests) == calls  # its jobs stop
    assert any("needs connecting again" in line for line in status_lines(tapp))
    assert any("Connect it again" in line for line in status_lines(tapp))
    client = tapp.test_client()
    _signin(client)
    page = client.get("/triage").get_data(as_text=True)
    assert "needs connecting again" in page and "Connect it again" in page


def test_a_message_deleted_before_its_job_runs(tapp, fake, user):
    box = fake.account(ME)
    kept = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    gone = box.deliver("rep@vendor.example", "Last chance", THREAT)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    box.delete(gone)
    drain(tapp)
    got = rows(tapp, mid)
    assert got[gone].state == "gone" and got[gone].reason == "deleted"
    assert got[kept].state == "labelled"
    assert mailbox(tapp, mid).error is None


@pytest.mark.db  # claims, leases and the sweep's updates on PostgreSQL too
def test_a_mailbox_deleted_while_its_jobs_are_queued(tapp, fake, user):
    from pitchlint.service.db import get_db
    from pitchlint.service.triage.models import Mailbox

    box = fake.account(ME)
    for i in range(5):
        box.deliver(f"rep{i}@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    with tapp.app_context(), get_db().sessions() as s:
        s.delete(s.get(Mailbox, mid))
        s.commit()
    calls = len(fake.requests)
    drain(tapp, sweep=True)
    assert len(fake.requests) == calls
    assert rows(tapp) == {}
    assert box.modify_calls == {}


# --- sync ----------------------------------------------------------------------------------

@pytest.mark.db  # claims, leases and the sweep's updates on PostgreSQL too
@pytest.mark.parametrize("provider", ["gmail", "outlook"])
def test_sync_reads_only_what_is_new(tapp, fake, user, provider):
    box = fake.account(ME)
    old = box.deliver("a@vendor.example", "Old", DESPERATE, received=__import__("time").time() - 30 * 86400)
    first = box.deliver("b@vendor.example", "Recent", DESPERATE)
    mid = connect(tapp, fake, user, provider)
    assert sync(tapp, mid) == 1  # the backfill: the last 7 days only
    drain(tapp)
    assert old not in rows(tapp, mid) and rows(tapp, mid)[first].state == "labelled"
    second = box.deliver("c@vendor.example", "New", THREAT)
    box.send("someone@else.example", "Sent mail is not triaged")
    assert sync(tapp, mid) == 1
    assert sync(tapp, mid) == 0
    drain(tapp)
    assert rows(tapp, mid)[second].state == "labelled"
    box.history_floor = 10**9  # the cursor is too old now: sync again from the last sync
    third = box.deliver("d@vendor.example", "Newer", DESPERATE)
    assert sync(tapp, mid) == 1
    drain(tapp)
    assert rows(tapp, mid)[third].state == "labelled"
    assert box.modify_calls == {first: 1, second: 1, third: 1}


def test_labels_deleted_by_the_user_are_made_again(tapp, fake, user):
    box = fake.account(ME)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    box.gmail_labels = {k: v for k, v in box.gmail_labels.items() if not k.startswith("Pitchlint/")}
    msg = box.deliver("tom@vendor.example", "Following up", DESPERATE)
    sync(tapp, mid)
    drain(tapp)
    assert rows(tapp, mid)[msg].state == "labelled"
    assert box.our_labels(msg) == ["Pitchlint/Desperate", "Pitchlint/Me-talk"]


# --- the page, connecting, disconnecting ---------------------------------------------------

def _signin(client):
    page = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/signin", data={"email": ME, "password": "correct horse battery",
                                        "csrf_token": token, "next": "/triage"})
    assert resp.status_code == 303


def _csrf(client, path="/triage"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _consent(fake, location: str) -> str:
    """The person agreeing at Google's or Microsoft's page: the callback URL with a code."""
    import requests

    resp = requests.get(location, allow_redirects=False, verify=str(fake.ca_bundle), timeout=10)
    assert resp.status_code == 302
    target = resp.headers["Location"]
    return target[target.index("/triage/"):]


@pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")  # msal, as in web/sso.py
def test_connect_gmail_and_outlook_from_the_page(tapp, fake, user):
    from pitchlint.service.triage import crypto

    fake.account(ME).deliver("tom@vendor.example", "Following up", DESPERATE)
    client = tapp.test_client()
    _signin(client)
    page = client.get("/triage").get_data(as_text=True)
    assert "Connect Gmail" in page and "Connect Outlook" in page and "No mailbox is connected" in page
    assert "No worker is running" in page
    fake.next_consent = {"google": ME, "microsoft": "dana@outlook-buyer.example"}
    resp = client.get("/triage/connect/google")
    assert resp.status_code == 302 and "access_type=offline" in resp.location and "gmail.modify" in resp.location
    done = client.get(_consent(fake, resp.location))
    assert done.status_code == 303
    resp = client.get("/triage/connect/microsoft")
    assert resp.status_code == 302 and "Mail.ReadWrite" in resp.location and "offline_access" in resp.location
    done = client.get(_consent(fake, resp.location))
    assert done.status_code == 303, done.get_data(as_text=True)
    page = client.get("/triage").get_data(as_text=True)
    assert f"Connected {ME}" in page
    assert ME in page and "dana@outlook-buyer.example" in page and "Run now" in page
    boxes = {mb.provider: mb for mb in [mailbox(tapp, 1), mailbox(tapp, 2)]}
    assert boxes["outlook"].address == "dana@outlook-buyer.example"
    for mb in boxes.values():
        plain = crypto.decrypt(tapp.config, mb.refresh_token)
        assert plain in fake.refresh_tokens and plain not in mb.refresh_token
    drain(tapp)  # connecting queued a first sync of each
    drain(tapp)
    assert [r.state for r in rows(tapp, boxes["gmail"].id).values()] == ["labelled"]
    page = client.get("/triage").get_data(as_text=True)
    assert re.search(r"Desperate</th><td>1</td>", page)


@pytest.mark.db  # claims, leases and the sweep's updates on PostgreSQL too
def test_settings_run_now_and_disconnect(tapp, fake, user):
    from pitchlint.service.triage.queue import get_queue

    box = fake.account(ME)
    box.deliver("tom@vendor.example", "Following up", DESPERATE)
    mid = connect(tapp, fake, user)
    granted = [t for t, (p, a) in fake.refresh_tokens.items() if (p, a) == ("google", ME)]
    client = tapp.test_client()
    _signin(client)
    resp = client.post(f"/triage/{mid}/settings", data={
        "csrf_token": _csrf(client), "label_threatening": "on", "min_confidence": "80"})
    assert resp.status_code == 303
    mb = mailbox(tapp, mid)
    assert mb.chosen_labels == ["threatening"] and mb.min_confidence == 0.8 and not mb.label_own_domain
    assert client.post(f"/triage/{mid}/settings", data={"min_confidence": "80"}).status_code == 403  # CSRF
    resp = client.post(f"/triage/{mid}/run", data={"csrf_token": _csrf(client)})
    assert resp.status_code == 303
    with tapp.app_context():
        assert get_queue(tapp).depth() == 1
    drain(tapp)  # the sync; its batch job is now queued
    assert rows(tapp, mid)
    resp = client.post(f"/triage/{mid}/disconnect", data={"csrf_token": _csrf(client)})
    assert resp.status_code == 303
    page = client.get("/triage").get_data(as_text=True)
    assert "Disconnected" in page and "No mailbox is connected" in page and "withdrawn at Google" in page
    assert mailbox(tapp, mid) is None and rows(tapp) == {}  # tokens gone, records gone
    # ... and withdrawn at Google: the stored refresh token was posted to its revoke endpoint,
    # and neither it nor the access tokens made from it work any more
    assert [h[3] for h in fake.hits(r"^/google/revoke$", "POST")] == [200] and fake.revoked == [ME]
    assert len(granted) == 1 and granted[0] not in fake.refresh_tokens
    assert not [t for t, (p, a, _) in fake.access_tokens.items() if (p, a) == ("google", ME)]
    calls = len(fake.requests)
    drain(tapp, sweep=True)  # its queued jobs stop
    assert len(fake.requests) == calls and box.modify_calls == {}


def test_disconnect_when_google_cannot_be_told(tapp, fake, user):
    """Google's revoke endpoint failing: the token is deleted here all the same, and the page
    says where to withdraw the permission by hand. Outlook: the page says where, always."""
    mid = connect(tapp, fake, user)
    outlook = connect(tapp, fake, user, "outlook", address="dana@outlook-buyer.example")
    fake.fail(r"^/google/revoke$", 503)
    client = tapp.test_client()
    _signin(client)
    client.post(f"/triage/{mid}/disconnect", data={"csrf_token": _csrf(client)})
    page = client.get("/triage").get_data(as_text=True)
    assert "Google could not be told" in page and "myaccount.google.com/permissions" in page
    assert mailbox(tapp, mid) is None
    client.post(f"/triage/{outlook}/disconnect", data={"csrf_token": _csrf(client)})
    page = client.get("/triage").get_data(as_text=True)
    assert "myapps.microsoft.com" in page and mailbox(tapp, outlook) is None
    assert not fake.revoked


def test_another_users_mailbox_is_not_found(tapp, fake, user):
    from pitchlint.service.db import get_db
    from pitchlint.service.team.admin import add_user, find_team

    with tapp.app_context(), get_db().sessions() as s:
        other = add_user(s, "eve@buyer.example", find_team(s, "Buyer/Ops"), "member", "Eve", None, None).id
    theirs = connect(tapp, fake, other, address="eve@buyer.example")
    client = tapp.test_client()
    _signin(client)
    resp = client.post(f"/triage/{theirs}/disconnect", data={"csrf_token": _csrf(client)},
                       headers={"Accept": "text/html"})
    assert resp.status_code == 404 and mailbox(tapp, theirs) is not None


def test_triage_is_off_without_a_queue(make_app, fake):
    from pitchlint.service.db import get_db
    from pitchlint.service.team.admin import add_user, create_team

    app = make_app(**fake.config(), REDIS_URL=None, TRIAGE_KEY=None, SECRET_KEY="x")
    with app.app_context(), get_db().sessions() as s:
        add_user(s, ME, create_team(s, "Buyer", "Ops", False, 30), "member", "Dana", "correct horse battery", None)
    client = app.test_client()
    _signin(client)
    page = client.get("/triage").get_data(as_text=True)
    assert "triage is off" in page.lower() and "PITCHLINT_TRIAGE_KEY" in page and "Connect Gmail" not in page
    assert client.get("/triage/connect/google", headers={"Accept": "text/html"}).status_code == 409
    assert client.get("/healthz").status_code == 200


def test_signed_out_is_sent_to_sign_in(tapp):
    resp = tapp.test_client().get("/triage", headers={"Accept": "text/html"})
    assert resp.status_code == 302 and "/signin" in resp.location


# --- pushes ----------------------------------------------------------------------------------

def test_graph_notifications(make_app, fake, tapp, user):
    from pitchlint.service.triage.push import client_state
    from pitchlint.service.triage.queue import get_queue

    mid = connect(tapp, fake, user, "outlook")
    client = tapp.test_client()
    resp = client.post("/triage/push/graph?validationToken=abc%20123")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "abc 123" and resp.mimetype == "text/plain"
    assert client.post("/triage/push/graph", json={"value": []}).status_code == 404  # not configured
    tapp.config["TRIAGE_GRAPH_NOTIFICATIONS"] = True
    with tapp.app_context():
        good = client_state(mid)
    assert client.post("/triage/push/graph", json={"value": [{"clientState": f"{mid}.forged"}]}).status_code == 202
    with tapp.app_context():
        assert get_queue(tapp).depth() == 0
    assert client.post("/triage/push/graph", json={"value": [{"clientState": good}]}).status_code == 202
    with tapp.app_context():
        assert get_queue(tapp).depth() == 1


def test_gmail_watch_and_graph_subscription_when_configured(tapp, fake, user):
    tapp.config.update(TRIAGE_GMAIL_TOPIC="projects/p/topics/t", TRIAGE_GRAPH_NOTIFICATIONS=True,
                       TRIAGE_PUSH_SERVICE_ACCOUNT="push@p.iam.gserviceaccount.com",
                       PUBLIC_URL="https://pitchlint.example")
    g = connect(tapp, fake, user, "gmail")
    o = connect(tapp, fake, user, "outlook", address="dana@outlook-buyer.example")
    sync(tapp, g)
    sync(tapp, o)
    sync(tapp, g)
    assert fake.account(ME).watches == 1  # renewed only when it is about to end
    sub = fake.account("dana@outlook-buyer.example").subscriptions
    assert len(sub) == 1 and sub[0]["notificationUrl"] == "https://pitchlint.example/triage/push/graph"
    assert mailbox(tapp, g).watch_expires_at is not None
    assert tapp.test_client().post("/triage/push/gmail", json={}).status_code == 401  # no OIDC token


def test_gmail_push_with_a_signed_token_queues_a_sync(tapp, fake, user):
    """Pub/Sub's push, its OIDC token signed by a local key published as Google publishes its
    certificates: only a token for this endpoint, from Google, minted for the configured
    service account and unexpired starts a sync."""
    import base64
    import json
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from pitchlint.service.triage.queue import get_queue

    from .signing import certificate_pem
    from .test_addins_text import LoopbackSite

    key, other = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    certs = LoopbackSite()
    certs.docs["/oauth2/v1/certs"] = (200, {"push-key": certificate_pem(key)})
    account = "push@p.iam.gserviceaccount.com"
    tapp.config.update(TRIAGE_GMAIL_TOPIC="projects/p/topics/t", TRIAGE_PUSH_SERVICE_ACCOUNT=account,
                       PUBLIC_URL="https://pitchlint.example", GOOGLE_CERTS_URL=f"{certs.url}/oauth2/v1/certs")
    mid = connect(tapp, fake, user)
    client = tapp.test_client()

    def token(signer=key, **overrides):
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": "https://pitchlint.example/triage/push/gmail",
                  "email": account, "email_verified": True, "sub": "1093", "iat": now - 5, "exp": now + 3600}
        claims.update(overrides)
        return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": "push-key"})

    def push(tok):
        data = base64.b64encode(json.dumps({"emailAddress": ME, "historyId": "4242"}).encode()).decode()
        return client.post("/triage/push/gmail", json={"message": {"data": data, "messageId": "1"},
                                                        "subscription": "projects/p/subscriptions/s"},
                           headers={"Authorization": f"Bearer {tok}"}).status_code

    def depth():
        with tapp.app_context():
            return get_queue(tapp).depth()

    try:
        assert push(token(other)) == 401                                   # not Google's key
        assert push(token(aud="https://elsewhere.example/triage/push/gmail")) == 401
        assert push(token(exp=int(time.time()) - 600, iat=int(time.time()) - 4000)) == 401
        assert push(token(iss="https://evil.example")) == 401
        assert push(token(email="someone@else.iam.gserviceaccount.com")) == 403
        assert push(token(email_verified=False)) == 403
        assert depth() == 0
        assert push(token()) == 204
        assert depth() == 1                                                # the sync, at once
        with tapp.app_context():
            job = get_queue(tapp).queue.jobs[0]
        assert job.func_name.endswith("sync_job") and job.args == (mid,)
        assert push(token()) == 204 and depth() == 1                       # not queued twice
    finally:
        certs.close()


# --- the worker command -----------------------------------------------------------------

def test_status_command(tapp, fake, user):
    from pitchlint.service.triage.cli import status_lines

    box, ids = inbox(fake)
    mid = connect(tapp, fake, user)
    sync(tapp, mid)
    drain(tapp)
    text = "\n".join(status_lines(tapp))
    assert f"mailbox {mid}  gmail   {ME}" in text and "on; last sync" in text
    assert "Desperate 3" in text and "skipped 5" in text
    assert "from your own domain" in text and "a newsletter or automated mail" in text


def test_worker_processes_are_started_again_and_stopped_together(tmp_path):
    """pitchlint worker --workers N: N processes with cores / N threads each; one killed is
    started again; SIGTERM reaches every one, once, and the command waits for them."""
    import signal
    import subprocess
    import sys
    import time

    from pitchlint.service.triage.worker import threads_per_worker

    assert threads_per_worker(1) >= threads_per_worker(2) >= 1 and threads_per_worker(10_000) == 1
    log = tmp_path / "log"
    child = tmp_path / "child.py"  # stands in for `pitchlint worker`: says when it starts and stops
    child.write_text(
        "import os, signal, sys, time\n"
        f"LOG = {str(log)!r}\n"
        "def note(line):\n"
        "    with open(LOG, 'a') as f:\n"
        "        f.write(line + '\\n')\n"
        "signal.signal(signal.SIGTERM, lambda *a: (note(f'term {os.getpid()}'), sys.exit(0)))\n"
        "note(f'start {os.getpid()} {os.environ[\"PITCHLINT_TORCH_THREADS\"]} {os.environ[\"PITCHLINT_TORCH_ALONE\"]}')\n"
        "time.sleep(60)\n")
    sup = subprocess.Popen([sys.executable, "-c",
                            "import sys; from pitchlint.service.triage.worker import supervise; "
                            f"sys.exit(supervise(2, 3, restart_after=0.1, argv=[sys.executable, {str(child)!r}]))"])

    def lines(word):
        return [l.split() for l in (log.read_text().splitlines() if log.exists() else []) if l.startswith(word)]

    def wait_for(word, n):
        deadline = time.time() + 30
        while len(lines(word)) < n and time.time() < deadline:
            time.sleep(0.1)
        return lines(word)

    try:
        started = wait_for("start", 2)
        assert len(started) == 2 and {t for _, _, t, _ in started} == {"3"}  # the threads given
        assert {a for _, _, _, a in started} == {"0"}   # and kept while alone (for messages/s)
        os.kill(int(started[0][1]), signal.SIGKILL)
        assert len(wait_for("start", 3)) == 3  # started again
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(timeout=30) == 0
        alive = {pid for _, pid, _, _ in lines("start")} - {started[0][1]}
        assert sorted(pid for _, pid in lines("term")) == sorted(alive)  # each told once
    finally:
        if sup.poll() is None:
            sup.kill()
