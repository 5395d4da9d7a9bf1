"""Trends: the share of a team's analysed sentences that were flagged, by week, per member and
per label (after feedback corrections), and the most common flagged phrasings."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict

from sqlalchemy import func, select

from .models import Analysis, Sample, User
from .queries import LABELS, final_focus, final_tone


def week_of(day) -> dt.date:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    elif isinstance(day, dt.datetime):
        day = day.date()
    return day - dt.timedelta(days=day.weekday())


def _restrict_analyses(q, user, team):
    q = q.where(Analysis.team_id == team.id)
    if user.role == "member":
        q = q.where(Analysis.user_id == user.id)
    return q


def trends(db_session, user, team, weeks: int = 12, today: dt.date | None = None) -> dict:
    """{"weeks": [...], "members": [...], "series": {...}, "phrasings": [...]}.

    `series["team"][label]` and `series["members"][user_id][label]` are lists aligned with
    `weeks`: flagged sentences with that label / sentences analysed that week (None: no data).
    """
    from .access import restrict_samples

    today = today or dt.date.today()
    first = week_of(today) - dt.timedelta(weeks=weeks - 1)
    start = dt.datetime.combine(first, dt.time())
    week_list = [first + dt.timedelta(weeks=i) for i in range(weeks)]
    index = {w: i for i, w in enumerate(week_list)}

    day = func.date(Analysis.created_at)
    denom: dict[int, list[int]] = defaultdict(lambda: [0] * weeks)
    q = _restrict_analyses(select(Analysis.user_id, day, func.sum(Analysis.sentences))
                           .where(Analysis.created_at >= start), user, team).group_by(Analysis.user_id, day)
    for uid, d, n in db_session.execute(q):
        i = index.get(week_of(d))
        if i is not None:
            denom[uid][i] += int(n or 0)

    sday = func.date(Sample.created_at)
    counts: dict[int, dict[str, list[int]]] = defaultdict(lambda: {l: [0] * weeks for l in LABELS})
    q = restrict_samples(select(Sample.user_id, sday, final_focus(), final_tone(), func.count())
                         .where(Sample.created_at >= start), user, team) \
        .group_by(Sample.user_id, sday, final_focus(), final_tone())
    for uid, d, focus, tone, n in db_session.execute(q):
        i = index.get(week_of(d))
        if i is None:
            continue
        if focus == "me_talk":
            counts[uid]["me_talk"][i] += n
        if tone in ("desperate", "threatening"):
            counts[uid][tone][i] += n

    def share(num: list[int], den: list[int]) -> list[float | None]:
        return [round(a / b, 4) if b else None for a, b in zip(num, den)]

    member_ids = sorted(set(denom) | set(counts))
    users = {u.id: u for u in db_session.scalars(select(User).where(User.id.in_(member_ids)))} if member_ids else {}
    team_den = [sum(denom[u][i] for u in member_ids) for i in range(weeks)]
    team_counts = {l: [sum(counts[u][l][i] for u in member_ids) for i in range(weeks)] for l in LABELS}
    series = {
        "team": {l: share(team_counts[l], team_den) for l in LABELS},
        "members": {u: {l: share(counts[u][l], denom[u]) for l in LABELS} for u in member_ids},
    }
    return {
        "weeks": [w.isoformat() for w in week_list],
        "sentences": {"team": team_den, "members": {u: denom[u] for u in member_ids}},
        "flagged": {"team": team_counts, "members": {u: counts[u] for u in member_ids}},
        "members": [{"id": u, "email": users[u].email if u in users else None,
                     "name": users[u].name if u in users else None} for u in member_ids],
        "series": series,
        "phrasings": common_phrasings(db_session, user, team, start),
    }


def parse_weeks(raw: str | None, default: int = 12) -> int:
    """The `weeks` argument of the trends page and API (1 to 104)."""
    from ..errors import APIError

    raw = (raw or "").strip() or str(default)
    weeks = int(raw) if raw.isdigit() else 0
    if not 1 <= weeks <= 104:
        raise APIError(400, "invalid_filter", "'weeks' must be a whole number from 1 to 104")
    return weeks


_NUM = re.compile(r"\d+")


def phrasing_key(text: str) -> str:
    return " ".join(_NUM.sub("#", text.lower()).split()).strip(" .!?,;:")


def common_phrasings(db_session, user, team, since: dt.datetime, limit: int = 15) -> list[dict]:
    """The flagged sentences that recur most (numbers and case ignored), with their labels."""
    from .access import restrict_samples

    q = restrict_samples(select(Sample.text, final_focus(), final_tone())
                         .where(Sample.created_at >= since), user, team)
    counter: Counter = Counter()
    example: dict[str, str] = {}
    labels: dict[str, Counter] = defaultdict(Counter)
    for text, focus, tone in db_session.execute(q.execution_options(yield_per=2000)):
        key = phrasing_key(text)
        if not key:
            continue
        counter[key] += 1
        example.setdefault(key, text)
        if focus == "me_talk":
            labels[key]["me_talk"] += 1
        if tone in ("desperate", "threatening"):
            labels[key][tone] += 1
    return [{"text": example[k], "count": n, "labels": [l for l, _ in labels[k].most_common()]}
            for k, n in counter.most_common(limit) if n >= 2]
