"""The team's web pages (server-rendered) and sign-in: local accounts, Microsoft, Google."""
from __future__ import annotations


def init_app(app) -> None:
    from . import pages, session, sso

    from ..limits import RateLimiter

    session.init_app(app)
    # Sign-in attempts per minute per account, and ten times that per address (people behind
    # one proxy share it); counted in Redis, shared by workers, when it is configured.
    app.config.setdefault("SIGNIN_ATTEMPTS_PER_MINUTE", 10)
    per_account = int(app.config["SIGNIN_ATTEMPTS_PER_MINUTE"])
    app.extensions["pitchlint_signin_limiter"] = RateLimiter(per_account, app.config.get("REDIS_URL"))
    app.extensions["pitchlint_signin_ip_limiter"] = RateLimiter(10 * per_account, app.config.get("REDIS_URL"))
    app.register_blueprint(pages.bp)
    app.register_blueprint(sso.bp)
