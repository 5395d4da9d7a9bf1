"""The team's web pages (server-rendered) and sign-in: local accounts, Microsoft, Google."""
from __future__ import annotations


def init_app(app) -> None:
    from . import pages, session, sso

    session.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(sso.bp)
