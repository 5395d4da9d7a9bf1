"""The job queue for all mailbox work: RQ on Redis (PITCHLINT_REDIS_URL).

    sync job      find a mailbox's new messages (jobs.sync_job), one at a time per mailbox
    batch job     read, judge and label up to TRIAGE_BATCH messages (jobs.batch_job)

Batch jobs are retried by RQ (Retry: after an exception, and when the worker running them
died: RQ's abandoned-job cleanup); the sweep (engine.sweep) queues again whatever no live job
holds, so nothing is lost when Redis itself loses its data. `pitchlint worker` runs the jobs.
"""
from __future__ import annotations

import logging
import uuid

import redis

log = logging.getLogger("pitchlint.triage")

LIVE = {"queued", "started", "deferred", "scheduled"}
RETRY_INTERVALS = [10, 30, 60]


class QueueUnavailable(Exception):
    pass


class TriageQueue:
    def __init__(self, redis_url: str, name: str, job_timeout: int):
        from rq import Queue

        self.connection = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=10)
        self.queue = Queue(name, connection=self.connection)
        self.job_timeout = job_timeout

    @classmethod
    def from_config(cls, config: dict) -> "TriageQueue":
        if not config.get("REDIS_URL"):
            raise QueueUnavailable("no job queue: PITCHLINT_REDIS_URL is not set")
        return cls(config["REDIS_URL"], config["TRIAGE_QUEUE"], max(30, int(config["TRIAGE_LEASE_SECONDS"])))

    def ping(self) -> bool:
        try:
            return bool(self.connection.ping())
        except redis.RedisError:
            return False

    def workers(self) -> int:
        from rq import Worker

        try:
            return Worker.count(queue=self.queue)
        except redis.RedisError:
            return 0

    def depth(self) -> int:
        try:
            return self.queue.count
        except redis.RedisError:
            return 0

    def new_job_id(self, mailbox_id: int) -> str:
        return f"{self.queue.name}-{mailbox_id}-{uuid.uuid4().hex[:20]}"

    def enqueue_batch(self, job_id: str, mailbox_id: int, ids: list[str]) -> bool:
        """Queue a batch job; False when Redis is down (the sweep queues it again later)."""
        from rq import Retry

        from .jobs import batch_job

        try:
            self.queue.enqueue(batch_job, mailbox_id, ids, job_id=job_id,
                               retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                               job_timeout=self.job_timeout, result_ttl=600, failure_ttl=7 * 86400,
                               description=f"triage {len(ids)} messages of mailbox {mailbox_id}")
            return True
        except redis.RedisError as e:
            log.warning("triage: could not queue job %s (%s); the sweep will queue it again", job_id, e)
            return False

    def enqueue_sync(self, mailbox_id: int) -> bool:
        """Queue a sync of the mailbox unless one is already waiting or running."""
        from rq.job import Job

        from .jobs import sync_job

        job_id = f"{self.queue.name}-sync-{mailbox_id}"
        try:
            existing = Job.fetch_many([job_id], connection=self.connection)[0]
            if existing is not None and existing.get_status(refresh=False) in LIVE:
                return False
            self.queue.enqueue(sync_job, mailbox_id, job_id=job_id, job_timeout=self.job_timeout,
                               result_ttl=60, failure_ttl=86400, at_front=True,
                               description=f"sync mailbox {mailbox_id}")
            return True
        except redis.RedisError as e:
            log.warning("triage: could not queue a sync of mailbox %s (%s)", mailbox_id, e)
            return False

    def jobs_alive(self, job_ids: set[str]) -> set[str]:
        """The ids among `job_ids` that Redis holds as queued, running or waiting to retry."""
        from rq.job import Job

        ids = sorted(job_ids)
        alive = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for job_id, job in zip(chunk, Job.fetch_many(chunk, connection=self.connection)):
                if job is not None and job.get_status(refresh=False) in LIVE:
                    alive.add(job_id)
        return alive

    def _lock_key(self, mailbox_id: int) -> str:
        return f"pitchlint:{self.queue.name}:sync-lock:{mailbox_id}"

    def sync_lock(self, mailbox_id: int, holder: str, seconds: int) -> bool:
        return bool(self.connection.set(self._lock_key(mailbox_id), holder, nx=True, ex=seconds))

    def sync_unlock(self, mailbox_id: int, holder: str) -> None:
        key = self._lock_key(mailbox_id)
        try:
            if (self.connection.get(key) or b"").decode() == holder:
                self.connection.delete(key)
        except redis.RedisError:
            pass  # it expires


def get_queue(app) -> TriageQueue:
    """The app's queue (made once), QueueUnavailable when there is none configured."""
    q = app.extensions.get("pitchlint_triage_queue")
    if q is None:
        q = app.extensions["pitchlint_triage_queue"] = TriageQueue.from_config(app.config)
    return q
