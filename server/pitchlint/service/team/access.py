"""Who may see and do what. One place, used by the API, the pages and the CLI.

- member: their own samples; their own team's page (their samples only); no export, no settings.
- lead:   their team's samples, trends and exports.
- admin:  every team of their organisation, and its settings (history, retention).

Refusals: anything outside the caller's organisation does not exist for them (404, so ids
of other customers are not probed); inside it, a resource they may not use is a 403.
"""
from __future__ import annotations

from sqlalchemy import select

from ..errors import APIError
from .models import Sample, Team, User


def not_found(what: str, ident) -> APIError:
    return APIError(404, "not_found", f"no {what} {ident}")


def forbidden(message: str) -> APIError:
    return APIError(403, "forbidden", message)


MAX_ID = 2**31 - 1  # the databases' INTEGER; a larger number names nothing


def team_for(db_session, user: User, team_id: int, need: str = "view") -> Team:
    """The team, if `user` may `need` it ('view', 'export', 'manage'); else raises."""
    team = db_session.get(Team, team_id) if 0 < team_id <= MAX_ID else None
    if team is None or team.org_id != user.org_id:
        raise not_found("team", team_id)
    if user.role == "admin":
        return team
    if need == "manage":
        raise forbidden("only an admin of the organisation can change a team's settings")
    if user.team_id != team.id:
        raise forbidden("you can only see your own team")
    if need == "export" and user.role != "lead":
        raise forbidden("only the team's lead (or an admin) can export its samples")
    return team


def visible_teams(db_session, user: User) -> list[Team]:
    if user.role == "admin":
        return list(db_session.scalars(select(Team).where(Team.org_id == user.org_id)
                                       .order_by(Team.name)))
    return [user.team] if user.team is not None else []


def restrict_samples(query, user: User, team: Team | None = None):
    """Narrow a select() over Sample to what `user` may see (and to `team`, if given)."""
    if team is not None:
        query = query.where(Sample.team_id == team.id)
    if user.role == "admin":
        return query.where(Sample.team_id.in_(select(Team.id).where(Team.org_id == user.org_id)))
    if user.role == "lead":
        return query.where(Sample.team_id == user.team_id)
    return query.where(Sample.user_id == user.id)


def sample_for(db_session, user: User, sample_id: int) -> Sample:
    sample = db_session.get(Sample, sample_id) if 0 < sample_id <= MAX_ID else None
    if sample is None:
        raise not_found("sample", sample_id)
    team = db_session.get(Team, sample.team_id)
    if team is None or team.org_id != user.org_id:
        raise not_found("sample", sample_id)
    if user.role == "admin":
        return sample
    if user.role == "lead" and sample.team_id == user.team_id:
        return sample
    if sample.user_id == user.id:
        return sample
    raise forbidden("you can only see your own samples" if user.role == "member"
                    else "this sample belongs to another team")


def members_visible(db_session, user: User, team: Team) -> list[User]:
    if user.role == "member":
        return [user]
    return list(db_session.scalars(select(User).where(User.team_id == team.id).order_by(User.email)))
