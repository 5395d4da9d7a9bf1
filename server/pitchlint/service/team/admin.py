"""Managing organisations, teams and users (the `pitchlint admin` commands and the pages)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from ..db import utcnow
from .identity import user_by_email
from .models import ROLES, Organisation, Team, User

_hasher = PasswordHasher()
MIN_PASSWORD = 12


class AdminError(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AdminError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """True when `password` is the user's; spends the same time when there is no such user."""
    if user is None or not user.password_hash or user.disabled_at is not None:
        try:
            _hasher.verify(_DUMMY, password + "x")
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY = _hasher.hash("not a password of anyone here")


def get_or_create_org(db_session, name: str) -> Organisation:
    name = (name or "").strip()
    if not name:
        raise AdminError("an organisation needs a name")
    org = db_session.scalars(select(Organisation).where(Organisation.name == name)).first()
    if org is None:
        org = Organisation(name=name, created_at=utcnow())
        db_session.add(org)
        db_session.flush()
    return org


def create_team(db_session, org_name: str, name: str, history: bool = False,
                retention_days: int = 30) -> Team:
    name = (name or "").strip()
    if not name:
        raise AdminError("a team needs a name")
    org = get_or_create_org(db_session, org_name)
    if db_session.scalars(select(Team).where(Team.org_id == org.id, Team.name == name)).first():
        raise AdminError(f"{org.name} already has a team called {name!r}")
    team = Team(org_id=org.id, name=name, history_enabled=history, retention_days=retention_days,
                created_at=utcnow())
    db_session.add(team)
    db_session.commit()
    return team


def find_team(db_session, ident: str) -> Team:
    """A team by id, by name (if unique) or by 'Organisation/Team'."""
    ident = str(ident).strip()
    if ident.isdigit():
        team = db_session.get(Team, int(ident))
        if team is None:
            raise AdminError(f"no team {ident}")
        return team
    q = select(Team)
    if "/" in ident:
        org, _, name = ident.partition("/")
        q = q.join(Organisation).where(Organisation.name == org.strip(), Team.name == name.strip())
    else:
        q = q.where(Team.name == ident)
    teams = list(db_session.scalars(q))
    if not teams:
        raise AdminError(f"no team {ident!r}; see `pitchlint admin list`")
    if len(teams) > 1:
        raise AdminError(f"{len(teams)} teams are called {ident!r}; say 'Organisation/Team' or the id")
    return teams[0]


def find_user(db_session, email: str) -> User:
    user = user_by_email(db_session, email)
    if user is None:
        raise AdminError(f"no user {email!r}; see `pitchlint admin list`")
    return user


def add_user(db_session, email: str, team: Team | None, role: str = "member", name: str = "",
             password: str | None = None, org_name: str | None = None) -> User:
    email = (email or "").strip()
    if "@" not in email or len(email) > 320:
        raise AdminError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if user_by_email(db_session, email) is not None:
        raise AdminError(f"{email} is already a user")
    if team is None and org_name is None:
        raise AdminError("a user needs a team (or, for an admin, an organisation)")
    if team is None and role != "admin":
        raise AdminError("only an admin can be outside every team")
    org = team.org if team is not None else get_or_create_org(db_session, org_name)
    user = User(org_id=org.id, team_id=team.id if team else None, email=email, name=name.strip(),
                role=role, password_hash=hash_password(password) if password else None,
                created_at=utcnow())
    db_session.add(user)
    db_session.commit()
    return user


def set_role(db_session, user: User, role: str) -> User:
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if role != "admin" and user.team_id is None:
        raise AdminError(f"{user.email} has no team; give them one before making them a {role}")
    user.role = role
    user.session_version += 1  # signed-in pages pick up the new role at the next sign-in
    db_session.commit()
    return user


def set_password(db_session, user: User, password: str) -> User:
    user.password_hash = hash_password(password)
    user.session_version += 1
    db_session.commit()
    return user
