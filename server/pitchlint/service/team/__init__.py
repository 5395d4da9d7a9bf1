"""Teams: accounts and roles, opt-in history of flagged sentences (masked), feedback, trends,
exports, and the retention purge. See models.py for who is who, access.py for who sees what."""
from __future__ import annotations


def init_app(app) -> None:
    from . import api, purge

    app.config.setdefault("PURGE_INTERVAL_SECONDS", 3600)
    app.register_blueprint(api.bp)
    if not app.config.get("TESTING"):
        purge.start_scheduler(app, float(app.config["PURGE_INTERVAL_SECONDS"] or 0))
