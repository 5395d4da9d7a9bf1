"""Service commands: `pitchlint serve` and `pitchlint keys`."""
from __future__ import annotations

import os

import click


def _app_without_model():
    from . import create_app

    return create_app({"LOAD_MODEL_AT_START": False, "REQUIRE_KEYS": True})


def register(main: click.Group) -> None:
    @main.command()
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8350, show_default=True, type=int)
    @click.option("--workers", default=2, show_default=True, type=int, help="worker processes")
    @click.option("--threads", default=1, show_default=True, type=int,
                  help="request threads per worker (1: sync workers, the fastest for the model)")
    def serve(host, port, workers, threads):
        """Run the service on a production WSGI server (gunicorn)."""
        from .config import _bool
        from .serve import run

        # Migrate once here, so that workers starting together don't race on it.
        _app_without_model()
        run(host, port, workers, threads, _bool(os.environ.get("PITCHLINT_REQUIRE_KEYS"), None),
            log=lambda m: click.echo(m, err=True))

    @main.group()
    def keys():
        """Create, list and revoke API keys."""

    @keys.command("create")
    @click.option("--name", required=True, help="who or what will use the key")
    def keys_create(name):
        from .db import get_db
        from .keys import create_key

        app = _app_without_model()
        with app.app_context():
            with get_db().sessions() as s:
                row, key = create_key(s, name)
        click.echo(f"created key {row.id} ({row.name}). It is shown only now; store it safely:")
        click.echo(key)

    @keys.command("list")
    def keys_list():
        from .db import get_db
        from .keys import list_keys

        app = _app_without_model()
        with app.app_context(), get_db().sessions() as s:
            rows = list_keys(s)
        if not rows:
            click.echo("no keys yet: pitchlint keys create --name NAME")
        for r in rows:
            state = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
            used = f"last used {r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else "never used"
            click.echo(f"{r.id:4d}  {r.prefix}…  {r.name:30s} created {r.created_at:%Y-%m-%d %H:%M}  {state}  {used}")

    @keys.command("revoke")
    @click.argument("key_id")
    def keys_revoke(key_id):
        """Revoke KEY_ID (the number from `keys list`, or the key's prefix)."""
        from .db import get_db
        from .keys import revoke_key

        app = _app_without_model()
        with app.app_context(), get_db().sessions() as s:
            row = revoke_key(s, key_id)
        if row is None:
            raise click.ClickException(f"no key {key_id!r}; see `pitchlint keys list`")
        click.echo(f"revoked key {row.id} ({row.name})")
