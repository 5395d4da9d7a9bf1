"""The mail-client add-ins' server side: the Outlook add-in's files and token sign-in, and the
Gmail add-on's card endpoints. Each part registers itself here."""
from __future__ import annotations

from . import gmail, outlook, settings


def init_app(app) -> None:
    """Read the add-in settings and register the Outlook and Gmail blueprints."""
    settings.init_app(app)
    outlook.init_app(app)
    gmail.init_app(app)
