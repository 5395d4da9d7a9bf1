"""`pitchlint worker` and `pitchlint triage status|run`."""
from __future__ import annotations

import os

import click


def _app(load_model: bool = False, threads: int | None = None):
    from .. import create_app

    cfg = {"LOAD_MODEL_AT_START": load_model, "REQUIRE_KEYS": True, "PURGE_INTERVAL_SECONDS": 0}
    if threads:
        cfg["TORCH_THREADS"] = threads
    return create_app(cfg)


def status_lines(app) -> list[str]:
    """What the Triage page shows, for every connected mailbox, as lines of text."""
    from sqlalchemy import select

    from ..db import get_db
    from ..team.models import User
    from .models import LABELS, Mailbox
    from .queue import QueueUnavailable, get_queue
    from .rules import REASONS
    from .web import summary, week_start

    lines = []
    with app.app_context():
        try:
            queue = get_queue(app)
            if queue.ping():
                lines.append(f"queue: {queue.queue.name} on Redis, {queue.depth()} jobs waiting, "
                             f"{queue.workers()} workers")
            else:
                lines.append("queue: Redis can't be reached; triage is off until it is back")
        except QueueUnavailable as e:
            lines.append(f"queue: none ({e}); triage is off")
        since = week_start()
        with get_db().sessions() as s:
            rows = s.execute(select(Mailbox, User.email).join(User, User.id == Mailbox.user_id)
                             .order_by(Mailbox.id)).all()
            if not rows:
                lines.append("no mailbox is connected (users connect theirs on the Triage page, /triage)")
            for mb, owner in rows:
                sm = summary(s, mb, since)
                state = "on" if mb.status == "active" else "needs connecting again"
                synced = f"{mb.last_sync_at:%Y-%m-%d %H:%M:%S} UTC" if mb.last_sync_at else "never"
                lines.append(f"mailbox {mb.id}  {mb.provider:7s} {mb.address}  (user {owner})  {state}; "
                             f"last sync {synced}; {sm['waiting']} waiting")
                counts = ", ".join(f"{name} {sm['labels'].get(k, 0)}" for k, name in LABELS.items())
                lines.append(f"    since {since:%Y-%m-%d}: {counts}; skipped {sm['skipped']}")
                for reason, n in sm["reasons"].most_common():
                    lines.append(f"      skipped {n}: {REASONS.get(reason, reason)}")
                if mb.error:
                    lines.append(f"    error: {mb.error}")
    return lines


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--burst", is_flag=True, help="run the jobs waiting now, then stop")
    @click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
                  help="worker processes on this machine (one per core is right for most)")
    @click.option("--threads", default=None, type=click.IntRange(1, 256),
                  help="PyTorch threads per worker  [default: PITCHLINT_TORCH_THREADS, else cores / workers]")
    def worker(burst, workers, threads):
        """Run inbox triage jobs from the queue (Redis at PITCHLINT_REDIS_URL).

        Run one `pitchlint worker` per machine, with --workers for its cores: each worker process
        reads with cores / workers PyTorch threads, so that together they use every core once
        (two workers of two threads each on two cores wait on each other)."""
        from . import worker as worker_mod
        from .queue import QueueUnavailable, get_queue

        threads = threads or int(os.environ.get("PITCHLINT_TORCH_THREADS") or 0) or \
            worker_mod.threads_per_worker(workers)
        os.environ["PITCHLINT_TORCH_THREADS"] = str(threads)
        if workers > 1:
            raise SystemExit(worker_mod.supervise(workers, threads, burst))
        app = _app(load_model=True, threads=threads)
        try:
            queue = get_queue(app)
        except QueueUnavailable as e:
            raise click.ClickException(f"{e}; e.g. PITCHLINT_REDIS_URL=redis://127.0.0.1:6379/0") from None
        click.echo(f"pitchlint worker: jobs from {queue.queue.name} on {app.config['REDIS_URL']} "
                   f"({threads} PyTorch thread{'s' if threads > 1 else ''})", err=True)
        worker_mod.run(app, burst=burst)

    @main.group()
    def triage():
        """Inbox triage: connected mailboxes and their work."""

    @triage.command("status")
    def status():
        """Connected mailboxes, last sync, this week's counts per label, errors."""
        for line in status_lines(_app()):
            click.echo(line)

    @triage.command("run")
    @click.argument("mailbox_ids", nargs=-1, type=int)
    def run_cmd(mailbox_ids):
        """Check MAILBOX_IDS (default: every active mailbox) for new mail now."""
        from sqlalchemy import select

        from ..db import get_db
        from .models import ACTIVE, Mailbox
        from .queue import QueueUnavailable, get_queue

        app = _app()
        with app.app_context():
            try:
                queue = get_queue(app)
            except QueueUnavailable as e:
                raise click.ClickException(str(e)) from None
            with get_db().sessions() as s:
                query = select(Mailbox).where(Mailbox.status == ACTIVE)
                if mailbox_ids:
                    query = query.where(Mailbox.id.in_(mailbox_ids))
                boxes = list(s.scalars(query))
            if not boxes:
                raise click.ClickException("no such active mailbox; see `pitchlint triage status`")
            for mb in boxes:
                queued = queue.enqueue_sync(mb.id)
                click.echo(f"mailbox {mb.id} {mb.address}: {'sync queued' if queued else 'a sync is already waiting'}")
