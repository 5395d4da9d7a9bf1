"""Shared fixtures. The service runs against SQLite by default and against PostgreSQL when
PITCHLINT_TEST_DATABASE_URL is set; the model is always the real shipped one."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV_FILE = SHARED / "eval" / "dev.jsonl"


@pytest.fixture(scope="session")
def analyzer():
    # OnnxAnalyzer subclasses runtime.Analyzer: import it while that name is still the class,
    # before a test stands in for it (monkeypatch.setattr(runtime, "Analyzer", ...)).
    import pitchlint.model.onnx_runtime  # noqa: F401
    from pitchlint.model.runtime import Analyzer

    return Analyzer()


def _database_url(tmp_path) -> str:
    url = os.environ.get("PITCHLINT_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'test.db'}"
    return url


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def make_app(tmp_path, analyzer):
    """Build an app with a test config; the analyzer is shared so the model loads once."""
    apps = []

    def _make(**overrides):
        from pitchlint.service import create_app

        url = _database_url(tmp_path)
        if not url.startswith("sqlite") and not apps:
            _reset_postgres(url)
        cfg = {"TESTING": True, "DATABASE_URL": url, "LOAD_MODEL_AT_START": False,
               "REQUIRE_KEYS": False, "RATE_LIMIT_PER_MINUTE": 0, "CORS_ORIGINS": []}
        cfg.update(overrides)
        app = create_app(cfg)
        app.extensions["pitchlint_analyzer"] = analyzer
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.extensions["pitchlint_db"].engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api_key(app):
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key

    with app.app_context(), get_db().sessions() as s:
        _, key = create_key(s, f"test-{uuid.uuid4().hex[:6]}")
    return key
