"""The Pitchlint web service: a Flask application factory.

    from pitchlint.service import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
"""
from __future__ import annotations

import os


def create_app(test_config: dict | None = None):
    # Imported here, not at the top: `pitchlint --help` and the commands that need no service
    # import this package (for `pitchlint serve`, `keys`, `admin`) and must start at once.
    from flask import Flask

    from . import (addins, api, config, cors, db, errors, health, limits, logs, metrics, model,
                   openapi, team, web)

    instance = os.environ.get("PITCHLINT_INSTANCE_PATH") or None
    app = Flask("pitchlint", instance_path=instance, instance_relative_config=True)
    app.config.from_mapping(config.from_environment())
    if test_config:
        app.config.update(test_config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    if app.config.get("REQUIRE_KEYS") is None:
        # Outside `pitchlint serve` (which decides by the address it binds), be strict.
        app.config["REQUIRE_KEYS"] = True

    logs.init_app(app)  # first: every later hook's log lines carry the request id
    metrics.init_app(app)
    errors.init_app(app)
    db.init_app(app)
    limits.init_app(app)
    cors.init_app(app)
    model.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    addins.init_app(app)
    team.init_app(app)
    web.init_app(app)
    from . import triage  # inbox triage: its pages, pushes and tables

    triage.init_app(app)
    return app
