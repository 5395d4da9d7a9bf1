"""Storage: SQLAlchemy 2 models and sessions, schema managed by Alembic migrations.

SQLite in the instance folder by default; any SQLAlchemy URL (PostgreSQL in production) via
PITCHLINT_DATABASE_URL. The schema is brought to the latest migration when the app starts.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

from flask import current_app, g
from sqlalchemy import DateTime, ForeignKey, Integer, String, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # The user the key acts for (team history, feedback, exports); None: a service key.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                nullable=True, index=True)


# After a failed database call, calls that can do without the database (history writes, key
# checks of keys seen before) skip it for this long instead of each waiting on it in turn.
OUTAGE_COOLDOWN_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 3


class Database:
    def __init__(self, url: str):
        self.url = url
        # hide_parameters: an error's text never carries the values (masked sentences,
        # addresses) into a log line.
        kwargs = {"pool_pre_ping": True, "hide_parameters": True}
        if url.startswith("sqlite"):
            kwargs = {"hide_parameters": True,
                      "connect_args": {"check_same_thread": False, "timeout": 30}}
        elif url.startswith("postgresql"):
            # libpq waits forever for an unreachable host; a request must not.
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        self.engine = create_engine(url, **kwargs)
        self._failed_at = -1e9
        if url.startswith("sqlite"):
            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(conn, _record):
                cur = conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.close()
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            self.failed()
            raise
        return True

    def failed(self) -> None:
        """Note a failed call: `available()` says no for a moment (a cheap circuit breaker)."""
        self._failed_at = time.monotonic()

    def available(self) -> bool:
        """False just after a failed call: optional work skips the database for now."""
        return time.monotonic() - self._failed_at >= OUTAGE_COOLDOWN_SECONDS


def discard(db_session: Session) -> None:
    """Undo a session's work after a failed call. Rolling back on a connection that died raises
    too; then the connection is dropped instead (the pool makes a new one when the database is back)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        db_session.rollback()
    except SQLAlchemyError:
        try:
            db_session.invalidate()
        except SQLAlchemyError:
            pass


def database_url(app) -> str:
    url = app.config.get("DATABASE_URL")
    if url:
        return url
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.instance_path) / 'pitchlint.db'}"


def get_db() -> Database:
    return current_app.extensions["pitchlint_db"]


def session() -> Session:
    """The request's session, closed when the request ends."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    return g.db_session


def init_app(app) -> None:
    db = Database(database_url(app))
    db.upgrade()
    app.extensions["pitchlint_db"] = db

    @app.teardown_appcontext
    def _close(_exc):
        s = g.pop("db_session", None)
        if s is None:
            return
        try:
            s.close()
        except DBAPIError as e:
            # The connection died under the request (the database went away mid-write): closing
            # rolls back on it and fails. The answer is already made; drop the connection
            # instead of turning it into a 500 after the fact.
            log.warning("database connection lost while closing a session (%s); discarded",
                        type(e).__name__)
            try:
                s.invalidate()
            except DBAPIError:
                pass


from .team import models as _team_models  # noqa: E402,F401  (the tables live on this Base)

__all__ = ["ApiKey", "Base", "Database", "discard", "get_db", "init_app", "session", "utcnow"]
