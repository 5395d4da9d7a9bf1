"""Service commands: `pitchlint serve` and `pitchlint keys`."""
from __future__ import annotations

import os

import click


def _app_without_model():
    from . import create_app

    # No purge timer here: the workers run it; a command only does its own job.
    return create_app({"LOAD_MODEL_AT_START": False, "REQUIRE_KEYS": True, "PURGE_INTERVAL_SECONDS": 0})


def register(main: click.Group) -> None:
    register_team(main)
    from .triage.cli import register as register_triage

    register_triage(main)

    @main.command()
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8350, show_default=True, type=int)
    @click.option("--workers", default=2, show_default=True, type=int, help="worker processes")
    @click.option("--threads", default=1, show_default=True, type=int,
                  help="request threads per worker (1: gevent workers, the model on each worker's "
                       "main thread, the fastest; more: gthread workers)")
    def serve(host, port, workers, threads):
        """Run the service on a production WSGI server (gunicorn)."""
        from .config import _bool
        from .serve import check_port, run
        from .startup import prepare

        check_port(host, port)
        # Model, database and secret key checked (one line and exit 1 if one can't be used), and
        # the database migrated once here, so that workers starting together don't race on it.
        prepare(_app_without_model)
        run(host, port, workers, threads, _bool(os.environ.get("PITCHLINT_REQUIRE_KEYS"), None),
            log=lambda m: click.echo(m, err=True))

    @main.group()
    def keys():
        """Create, list and revoke API keys."""

    @keys.command("create")
    @click.option("--name", default=None, help="who or what will use the key (default: the user)")
    @click.option("--user", "email", default=None,
                  help="the user the key acts for (team history, feedback, exports)")
    def keys_create(name, email):
        from .db import get_db
        from .keys import create_key
        from .team.admin import AdminError, find_user

        if not name and not email:
            raise click.UsageError("give --name, --user EMAIL, or both")
        app = _app_without_model()
        with app.app_context():
            with get_db().sessions() as s:
                user = None
                if email:
                    try:
                        user = find_user(s, email)
                    except AdminError as e:
                        raise click.ClickException(str(e)) from None
                row, key = create_key(s, name or user.email, user_id=user.id if user else None)
        owner = f" for {email}" if email else ""
        click.echo(f"created key {row.id} ({row.name}){owner}. It is shown only now; store it safely:")
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


def _session():
    from .db import get_db

    app = _app_without_model()
    ctx = app.app_context()
    ctx.push()
    return get_db().sessions()


def _fail(e):
    raise click.ClickException(str(e)) from None


def _admin_error():
    """team.admin's error class, imported only when a command runs (it loads the database layer)."""
    from .team.admin import AdminError

    return AdminError


def register_team(main: click.Group) -> None:
    @main.group()
    def admin():
        """Organisations, teams, users and roles."""

    @admin.command("create-team")
    @click.option("--org", required=True, help="the organisation (created if new)")
    @click.option("--name", required=True, help="the team's name")
    @click.option("--history/--no-history", default=False, show_default=True,
                  help="keep flagged sentences (masked) for the team's lead")
    @click.option("--retention-days", default=30, show_default=True, type=click.IntRange(1, 3650))
    def create_team_cmd(org, name, history, retention_days):
        from .team.admin import create_team

        with _session() as s:
            try:
                team = create_team(s, org, name, history, retention_days)
            except _admin_error() as e:
                _fail(e)
            click.echo(f"created team {team.id} {org}/{team.name} (history "
                       f"{'on' if team.history_enabled else 'off'}, retention {team.retention_days} days)")

    @admin.command("add-user")
    @click.option("--email", required=True)
    @click.option("--team", "team_ident", default=None, help="team id, name or 'Org/Team'")
    @click.option("--org", default=None, help="for an admin without a team: the organisation")
    @click.option("--role", type=click.Choice(["member", "lead", "admin"]), default="member", show_default=True)
    @click.option("--name", default="", help="display name")
    @click.option("--password", is_flag=True, help="set a password for local sign-in (asked for)")
    def add_user_cmd(email, team_ident, org, role, name, password):
        """Add a user. Microsoft and Google sign-in match them by e-mail address."""
        from .team.admin import add_user, find_team

        pw = click.prompt("password (12+ characters)", hide_input=True, confirmation_prompt=True) \
            if password else None
        with _session() as s:
            try:
                team = find_team(s, team_ident) if team_ident else None
                user = add_user(s, email, team, role, name, pw, org)
            except _admin_error() as e:
                _fail(e)
            where = f"team {user.team.org.name}/{user.team.name}" if user.team else f"organisation {user.org.name}"
            click.echo(f"added {user.email} as {user.role} of {where}")

    @admin.command("set-role")
    @click.argument("email")
    @click.argument("role", type=click.Choice(["member", "lead", "admin"]))
    def set_role_cmd(email, role):
        from .team.admin import find_user, set_role

        with _session() as s:
            try:
                user = set_role(s, find_user(s, email), role)
            except _admin_error() as e:
                _fail(e)
            click.echo(f"{user.email} is now {user.role}")

    @admin.command("set-password")
    @click.argument("email")
    def set_password_cmd(email):
        """Set (or reset) a user's local password; signs them out everywhere."""
        from .team.admin import find_user, set_password

        pw = click.prompt("new password (12+ characters)", hide_input=True, confirmation_prompt=True)
        with _session() as s:
            try:
                user = set_password(s, find_user(s, email), pw)
            except _admin_error() as e:
                _fail(e)
            click.echo(f"password set for {user.email}")

    @admin.command("set-history")
    @click.argument("team_ident")
    @click.argument("state", type=click.Choice(["on", "off"]))
    @click.option("--retention-days", default=None, type=click.IntRange(1, 3650))
    def set_history_cmd(team_ident, state, retention_days):
        """Turn a team's history on or off (and optionally set its retention)."""
        from .team.admin import find_team

        with _session() as s:
            try:
                team = find_team(s, team_ident)
            except _admin_error() as e:
                _fail(e)
            team.history_enabled = state == "on"
            if retention_days:
                team.retention_days = retention_days
            s.commit()
            click.echo(f"team {team.id} {team.org.name}/{team.name}: history {state}, "
                       f"retention {team.retention_days} days")

    @admin.command("list")
    def list_cmd():
        """Every organisation, team and user."""
        from sqlalchemy import select

        from .team.models import Organisation, Team, User

        with _session() as s:
            orgs = list(s.scalars(select(Organisation).order_by(Organisation.name)))
            if not orgs:
                click.echo("no organisations yet: pitchlint admin create-team --org ORG --name TEAM")
            for org in orgs:
                click.echo(f"{org.name}")
                for u in s.scalars(select(User).where(User.org_id == org.id, User.team_id.is_(None))):
                    click.echo(f"    {u.role:6s} {u.email}")
                for t in s.scalars(select(Team).where(Team.org_id == org.id).order_by(Team.name)):
                    click.echo(f"  team {t.id} {t.name}: history {'on' if t.history_enabled else 'off'}, "
                               f"retention {t.retention_days} days")
                    for u in s.scalars(select(User).where(User.team_id == t.id).order_by(User.email)):
                        click.echo(f"    {u.role:6s} {u.email}{' (disabled)' if u.disabled_at else ''}")

    @main.command()
    def purge():
        """Delete history past each team's retention now (the service also does it hourly)."""
        from .team.purge import purge as run_purge

        with _session() as s:
            counts = run_purge(s)
        click.echo(f"purged {counts['samples']} samples and {counts['analyses']} analyses past retention")

    @main.command()
    @click.option("--team", "team_ident", required=True, help="team id, name or 'Org/Team'")
    @click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl", show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, writable=True), default="-",
                  help="file to write (default: standard output)")
    @click.option("--label", type=click.Choice(["me_talk", "desperate", "threatening"]), default=None)
    @click.option("--source", type=click.Choice(["compose", "read"]), default=None)
    @click.option("--member", default=None, help="a member's e-mail address")
    @click.option("--from", "date_from", default=None, help="YYYY-MM-DD")
    @click.option("--to", "date_to", default=None, help="YYYY-MM-DD (inclusive)")
    @click.option("--model-version", default=None)
    @click.option("--feedback", type=click.Choice(["wrong", "ignored", "none"]), default=None,
                  help="only samples with this feedback (wrong: the corrected ones)")
    def export(team_ident, fmt, out, label, source, member, date_from, date_to, model_version, feedback):
        """Export a team's flagged samples (corrections applied); JSONL is the GUIDE's format,
        ready for `pitchlint train --extra`."""
        import sys

        from sqlalchemy import func, select

        from .errors import APIError
        from .team import export as ex
        from .team.admin import find_team, find_user
        from .team.models import Sample
        from .team.queries import SampleFilter

        with _session() as s:
            try:
                team = find_team(s, team_ident)
                member_id = find_user(s, member).id if member else None
                flt = SampleFilter.from_args({"label": label, "source": source, "from": date_from,
                                              "to": date_to, "model_version": model_version,
                                              "feedback": feedback, "member": member_id})
            except (_admin_error(), APIError) as e:
                _fail(getattr(e, "message", e))
            base = flt.apply(select(Sample).where(Sample.team_id == team.id))
            total = s.scalar(select(func.count()).select_from(base.subquery()))
            stream = sys.stdout if out == "-" else open(out, "w", encoding="utf-8", newline="")
            try:
                with click.progressbar(length=total, label=f"exporting {total:,} samples",
                                       file=sys.stderr, show_eta=True) as bar:
                    for chunk in ex.stream(s, ex.export_query(base), fmt):
                        stream.write(chunk)
                        bar.update(chunk.count("\n"))  # about one line a sample
            finally:
                if stream is not sys.stdout:
                    stream.close()
            if out != "-":
                click.echo(f"wrote {total:,} samples to {out}", err=True)
