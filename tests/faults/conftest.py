"""The fault harness: `pitchlint serve` started for real (2 gevent workers, API keys required)
on PostgreSQL and Redis, each behind a TCP proxy the tests cut and restore, with a team that
keeps history and a member's key, so every analyze writes to the database."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .load import get_json
from .proxy import Proxy

# The fault tests get a database of their own (made on the server of PITCHLINT_TEST_DATABASE_URL),
# so they never share one with another test run.
SERVER_URL = os.environ.get("PITCHLINT_TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FAULTS_DB = "pitchlint_faults"
REDIS_PORT = 6379
REDIS_DB = 13


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pitchlint_command() -> list[str]:
    exe = Path(sys.executable).with_name("pitchlint")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pitchlint.cli"]


def url_via(url: str, port: int) -> str:
    """`url` reached through a local proxy's port."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


class Service:
    """One `pitchlint serve` process (the gunicorn master) and its log."""

    def __init__(self, env: dict, workdir: Path, workers: int = 2):
        self.port = free_port()
        self.log_path = workdir / f"serve-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            pitchlint_command() + ["serve", "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"pitchlint serve exited ({self.proc.returncode}):\n{self.log()}")
            try:
                status, body = get_json(self.port, "/readyz", timeout=2)
                if status == 200 and body["status"] == "ready" and len(self.workers()) >= 2:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"pitchlint serve not ready in {timeout} s:\n{self.log()}")

    def workers(self) -> list[int]:
        """The master's child processes (the workers)."""
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid and fields[0] not in ("Z", "X"):
                    out.append(int(d.name))
        return sorted(out)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout: float = 40.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def fresh_database() -> str:
    """The URL of an empty database for these tests (dropped and made again)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {FAULTS_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {FAULTS_DB}"))
    engine.dispose()
    return make_url(SERVER_URL).set(database=FAULTS_DB).render_as_string(hide_password=False)



def member_key(url: str) -> str:
    """A team with history on, a member in it and the member's key (in-process, no model)."""
    from pitchlint.service import create_app
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key
    from pitchlint.service.team import admin

    app = create_app({"DATABASE_URL": url, "LOAD_MODEL_AT_START": False, "REQUIRE_KEYS": True,
                      "PURGE_INTERVAL_SECONDS": 0, "SECRET_KEY": "faults"})
    with app.app_context(), get_db().sessions() as s:
        team = admin.create_team(s, "Faultline", "Sales", history=True)
        rep = admin.add_user(s, "rep@faultline.example", team, "member")
        _, key = create_key(s, "faults", user_id=rep.id)
    app.extensions["pitchlint_db"].engine.dispose()
    return key


def base_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PITCHLINT_", "PROMETHEUS_"))}
    env.update({"PITCHLINT_INSTANCE_PATH": str(tmp / "instance"), "PITCHLINT_SECRET_KEY": "faults",
                "PITCHLINT_PURGE_INTERVAL_SECONDS": "0", "PITCHLINT_TORCH_THREADS": "1"})
    return env


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """PostgreSQL and Redis proxies, the database prepared, the service started (and stopped)."""
    import redis

    from sqlalchemy.engine import make_url

    tmp = tmp_path_factory.mktemp("faults")
    database = fresh_database()
    pg = Proxy(int(make_url(database).port or 5432))
    rd = Proxy(REDIS_PORT)
    key = member_key(url_via(database, pg.port))
    redis.Redis(port=REDIS_PORT, db=REDIS_DB).flushdb()
    env = base_env(tmp)
    env.update({"PITCHLINT_DATABASE_URL": url_via(database, pg.port),
                "PITCHLINT_REDIS_URL": f"redis://127.0.0.1:{rd.port}/{REDIS_DB}",
                "PITCHLINT_REQUIRE_KEYS": "1",
                "PITCHLINT_RATE_LIMIT_PER_MINUTE": "100000",
                # The proof that nothing of an email reaches a log line runs at every level.
                "PITCHLINT_LOG_LEVEL": "DEBUG"})
    service = Service(env, tmp)
    try:
        service.wait_ready()
        yield {"service": service, "pg": pg, "redis": rd, "key": key,
               "headers": {"Authorization": f"Bearer {key}"}, "tmp": tmp}
    finally:
        pg.restore()
        rd.restore()
        service.stop()
        pg.cut()
        rd.cut()
        redis.Redis(port=REDIS_PORT, db=REDIS_DB).flushdb()
