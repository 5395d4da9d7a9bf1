"""The team lead's pages: server-rendered HTML (Jinja), plain CSS, no JavaScript needed.

    GET  /                            what the service is, its model, links (the landing page)
    GET  /signin, POST /signin        local accounts (Microsoft/Google links: web/sso.py); a
                                      failed sign-in is 401 with the same page
    POST /signout
    GET  /team                        the user's team (an admin without one: /teams)
    GET  /teams                       the teams the user can see
    GET  /teams/<id>/samples          flagged sentences, filtered and paged
    GET  /samples/<id>, POST          one sentence in its masked context; feedback on it
    GET  /teams/<id>/trends           weekly shares per label (inline SVG), per member, phrasings
    GET  /teams/<id>/settings, POST   history and retention (admins)
    GET  /teams/<id>/export.csv|.jsonl  the current filters' samples (leads and admins)

Access is decided by team/access.py, as for the API. Errors: a browser (Accept: text/html)
gets a small HTML page with the same status (signed out: the sign-in page); any other client
gets the service's JSON error shape.
"""
from __future__ import annotations

import datetime as dt
from functools import wraps
from urllib.parse import urlencode

from flask import (Blueprint, current_app, flash, get_flashed_messages, make_response, redirect,
                   render_template, request, url_for)
from sqlalchemy import func, select

from ...labels import SENTENCE_FOCUS, TONES
from ..db import session
from ..errors import APIError, error_response
from ..team import access, admin as team_admin, feedback as feedback_mod, trends as trends_mod
from ..team.api import MAX_RETENTION_DAYS, apply_settings, export_response
from ..team.identity import user_by_email
from ..team.models import SOURCES, Sample, SampleFeedback, Team, User, flags
from ..team.queries import LABELS, SampleFilter, model_versions, page_of
from .session import (check_csrf, csrf_token, current_user, login_user, logout_user, require_user,
                      safe_next)

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/web-static")

LABEL_NAMES = {"me_talk": "me-talk", "desperate": "desperate", "threatening": "threatening"}
FOCUS_NAMES = {"me_talk": "me-talk", "customer_centric": "customer-centric", "other": "other"}
TONE_NAMES = {"desperate": "desperate", "threatening": "threatening", "neutral": "neutral"}
ROLE_NAMES = {"member": "member", "lead": "team lead", "admin": "admin"}
PER_PAGE_CHOICES = (25, 50, 100, 200)
TREND_WEEKS = (4, 8, 12, 26, 52)
SNIPPET = 160
SIGNIN_FAILED = "That email and password don't match an account. Check both and try again."
# `?error=` on /signin: only these fixed messages are shown, never text from the URL.
SIGNIN_ERRORS = {
    "expired": "Your session expired. Sign in again.",
    "sso_failed": "Sign-in with your work account didn't complete. Try again.",
    "no_account": "There is no Pitchlint account for that address. Ask your admin to add you.",
    "disabled": "This account is disabled. Ask your admin.",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


# ---- errors, headers, template helpers ---------------------------------------------------

def wants_html() -> bool:
    """A browser navigating (Accept names text/html), not an API client or a bare */*."""
    return any(mt in ("text/html", "application/xhtml+xml") and q > 0
               for mt, q in request.accept_mimetypes)


def _signin_url(nxt: str | None = None) -> str:
    return url_for("web.signin") + ("?" + urlencode({"next": nxt}) if nxt else "")


@bp.errorhandler(APIError)
def _page_error(e: APIError):
    if not wants_html():
        return error_response(e.status, e.code, e.message, e.headers)
    if e.status == 401:
        nxt = request.full_path if request.query_string else request.path
        return redirect(_signin_url(nxt if request.method == "GET" else None))
    titles = {400: "That request didn't work", 403: "You can't see this page",
              404: "Not found", 409: "That didn't work"}
    message = e.message
    if e.status == 404 and message.startswith("no team"):
        message = "There is no such team, or it isn't in your organisation."
    elif e.status == 404 and message.startswith("no sample"):
        message = "There is no such sample, or it isn't in your organisation. It may have " \
                  "passed the team's retention period."
    try:
        user = current_user()
    except Exception:  # the error page must render even when the database is the problem
        user = None
    return render_template("web/error.html", status=e.status, title=titles.get(e.status, "Error"),
                           message=message, code=e.code, user=user, team=None), e.status


@bp.after_request
def _headers(resp):
    for k, v in SECURITY_HEADERS.items():
        resp.headers.setdefault(k, v)
    if resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"  # pages show samples of private email
    return resp


def _when(ts: dt.datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M") if ts else ""


def _pct(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "–"
    value = round(100 * x, digits)
    return f"{value:.{digits}f}%" if value != int(value) or digits == 0 else f"{int(value)}%"


@bp.context_processor
def _template_globals():
    return {"csrf_token": csrf_token, "LABELS": LABELS, "LABEL_NAMES": LABEL_NAMES,
            "FOCUS_NAMES": FOCUS_NAMES, "TONE_NAMES": TONE_NAMES, "ROLE_NAMES": ROLE_NAMES,
            "when": _when, "pct": _pct}


def signed_in(view):
    """The signed-in user as the view's first argument; signed out: 401 (a browser is sent to
    the sign-in page by the error handler, and comes back here afterwards)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        return view(require_user(), *args, **kwargs)
    return wrapper


def page(template: str, user: User, team: Team | None, status: int = 200, **values):
    return render_template(template, user=user, team=team, **values), status


# ---- the landing page --------------------------------------------------------------------

@bp.get("/")
def home():
    """What this service is, its model, and where to go next: the API's documentation, the team
    pages, and how to point the browser extension here."""
    from ..model import model_identity

    base = (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")
    return render_template("web/home.html", user=current_user(), team=None, model=model_identity(),
                           base=base, keys_required=bool(current_app.config.get("REQUIRE_KEYS")),
                           # the one service origin the extension may call without asking
                           default_host=base == "http://127.0.0.1:8350")


# ---- sign-in -----------------------------------------------------------------------------

def _signin_page(nxt: str, email: str = "", error: str | None = None, status: int = 200):
    errors = [error] if error else []
    errors += get_flashed_messages(category_filter=["error"])
    if not errors and request.args.get("error"):
        errors.append(SIGNIN_ERRORS.get(request.args["error"], "Sign-in didn't work. Try again."))
    q = "?" + urlencode({"next": nxt})
    return render_template("web/signin.html", user=None, team=None, next=nxt, email=email,
                           errors=errors, notices=get_flashed_messages(category_filter=["info"]),
                           microsoft_url="/signin/microsoft" + q if _configured("MS") else None,
                           google_url="/signin/google" + q if _configured("GOOGLE") else None), status


def _configured(provider: str) -> bool:
    """Web sign-in with a provider needs its client id and secret (web/sso.py); the Outlook
    add-in alone sets MS_CLIENT_ID, and a link that can only fail is not shown."""
    cfg = current_app.config
    return bool(cfg.get(f"{provider}_CLIENT_ID") and cfg.get(f"{provider}_CLIENT_SECRET"))


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    nxt = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(nxt)
        return _signin_page(nxt)
    email = (request.form.get("email") or "").strip()
    try:
        check_csrf()
    except APIError:
        return _signin_page(nxt, email, "This form had expired. Sign in again.", 403)
    try:  # slow down password guessing: per address and per account, shared across workers
        current_app.extensions["pitchlint_signin_ip_limiter"].check(f"signin-ip:{request.remote_addr}")
        if email:
            current_app.extensions["pitchlint_signin_limiter"].check(f"signin-user:{email.lower()[:320]}")
    except APIError as e:
        resp = make_response(_signin_page(nxt, email, "Too many sign-in attempts. Wait a minute "
                                          "and try again.", 429))
        resp.headers.update(e.headers)
        return resp
    password = request.form.get("password") or ""
    user = None
    if email and len(email) <= 320:
        user = user_by_email(session(), email)
    if not team_admin.check_password(user, password[:1024]):
        return _signin_page(nxt, email, SIGNIN_FAILED, 401)
    login_user(user)
    return redirect(nxt, 303)


@bp.post("/signout")
def signout():
    check_csrf()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("web.signin"), 303)


# ---- teams -------------------------------------------------------------------------------

@bp.get("/team")
@signed_in
def my_team(user: User):
    if user.team_id is not None:
        return redirect(url_for("web.samples", team_id=user.team_id))
    return redirect(url_for("web.team_list"))


@bp.get("/teams")
@signed_in
def team_list(user: User):
    s = session()
    teams = access.visible_teams(s, user)
    counts = {}
    if teams:
        rows = s.execute(select(User.team_id, func.count()).where(User.team_id.in_([t.id for t in teams]))
                         .group_by(User.team_id))
        counts = dict(rows.all())
    return page("web/teams.html", user, None, teams_shown=teams, counts=counts)


@bp.get("/teams/<int:team_id>/samples")
@signed_in
def samples(user: User, team_id: int):
    s = session()
    team = access.team_for(s, user, team_id)
    base = access.restrict_samples(select(Sample), user, team)
    flt = SampleFilter.from_args(request.args)
    rows, total = page_of(s, base, flt)
    pages = max(1, -(-total // flt.per_page))
    first = (flt.page - 1) * flt.per_page + 1 if rows else 0
    members = access.members_visible(s, user, team) if user.role != "member" else []
    export_args = flt.query_args(page=None, per_page=None)
    here = request.full_path if request.query_string else request.path
    return page("web/samples.html", user, team, active="samples", rows=rows, total=total, flt=flt,
                first=first, last=first + len(rows) - 1 if rows else 0, pages=pages,
                prev_url=url_for("web.samples", team_id=team.id,
                                 **flt.query_args(page=flt.page - 1 if flt.page > 2 else None))
                if flt.page > 1 else None,
                next_url=url_for("web.samples", team_id=team.id, **flt.query_args(page=flt.page + 1))
                if flt.page < pages else None,
                members=members, versions=model_versions(s, base), sources=SOURCES,
                per_page_choices=PER_PAGE_CHOICES, filtered=bool(flt.query_args(page=None, per_page=None)),
                can_export=user.role in ("lead", "admin"),
                csv_url=url_for("web.export_csv", team_id=team.id, **export_args),
                jsonl_url=url_for("web.export_jsonl", team_id=team.id, **export_args),
                back=here, snippet=SNIPPET)


def _flagged(labels: dict | None) -> list[str]:
    """The flags of a context sentence, from its stored {"focus", "tone"}."""
    return flags(labels.get("focus"), labels.get("tone")) if labels else []


def _sample_page(user: User, sample: Sample, error: str | None = None, status: int = 200,
                 form: dict | None = None):
    s = session()
    team = s.get(Team, sample.team_id)
    history = list(s.execute(select(SampleFeedback, User.email)
                             .join(User, User.id == SampleFeedback.user_id, isouter=True)
                             .where(SampleFeedback.sample_id == sample.id)
                             .order_by(SampleFeedback.created_at.desc(), SampleFeedback.id.desc())))
    default_back = url_for("web.samples", team_id=sample.team_id)
    back = safe_next(request.args.get("back") or (form or {}).get("back"), default=default_back)
    scores = []
    for axis, names in (("focus", FOCUS_NAMES), ("tone", TONE_NAMES)):
        values = (sample.scores or {}).get(axis) or {}
        scores.append((axis, [(names.get(k, k), float(v), k == getattr(sample, axis))
                              for k, v in sorted(values.items(), key=lambda kv: -float(kv[1]))]))
    form = form or {}
    return page("web/sample.html", user, team, status, active="samples", sample=sample,
                before_flags=_flagged(sample.before_labels), after_flags=_flagged(sample.after_labels),
                history=history, back=back, scores=scores, error=error,
                focus_choices=SENTENCE_FOCUS, tone_choices=TONES,
                form_focus=form.get("focus") or sample.final_focus,
                form_tone=form.get("tone") or sample.final_tone, form_note=form.get("note") or "",
                notices=get_flashed_messages(category_filter=["info"]))


@bp.get("/samples/<int:sample_id>")
@signed_in
def sample(user: User, sample_id: int):
    return _sample_page(user, access.sample_for(session(), user, sample_id))


@bp.post("/samples/<int:sample_id>")
def sample_feedback(sample_id: int):
    check_csrf()
    user = require_user()
    s = session()
    smp = access.sample_for(s, user, sample_id)
    kind = request.form.get("kind")
    note = (request.form.get("note") or "").strip() or None
    focus = tone = None
    if kind == "wrong":
        focus = request.form.get("focus") or None
        tone = request.form.get("tone") or None
    try:
        feedback_mod.give(s, user, smp, kind, focus, tone, note)
    except APIError as e:
        s.rollback()
        if e.status not in (400, 409):
            raise
        message = e.message
        if e.code == "same_labels":
            message = (f"The model already labelled this sentence {FOCUS_NAMES[smp.focus]} and "
                       f"{TONE_NAMES[smp.tone]}. Pick the labels it should have, or choose Ignore.")
        return _sample_page(user, smp, message, e.status, dict(request.form))
    flash("Thanks: your feedback is saved." if kind == "wrong" else
          "Marked as ignored: it stays here but isn't worth coaching on.", "info")
    back = safe_next(request.form.get("back"), default="")
    target = url_for("web.sample", sample_id=smp.id) + ("?" + urlencode({"back": back}) if back else "")
    return redirect(target, 303)


# ---- trends ------------------------------------------------------------------------------

_TICK_STEP = {0.05: 0.01, 0.1: 0.02, 0.2: 0.05, 0.3: 0.1, 0.4: 0.1, 0.5: 0.1, 0.6: 0.2, 0.8: 0.2,
              1.0: 0.2}


def _nice_top(value: float) -> float:
    for top in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0):
        if value <= top + 1e-9:
            return top
    return 1.0


def line_chart(weeks: list[str], series: dict[str, list[float | None]], top: float, *,
               width: int = 1100, height: int = 300, small: bool = False) -> dict:
    """The geometry of a weekly line chart: one path per label (a gap where a week has no
    data), a dot per data point with its value as a tooltip, axes with week dates and
    percentages. Drawn by the `chart` macro as inline SVG."""
    left, right, top_pad, bottom = (40, 22, 10, 24) if small else (52, 30, 14, 32)
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    n = len(weeks)
    days = [dt.date.fromisoformat(w) for w in weeks]

    def x(i: int) -> float:
        return round(left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2), 1)

    def y(v: float) -> float:
        return round(top_pad + plot_h * (1 - v / top), 1)

    step = top / 2 if small else _TICK_STEP[top]
    count = round(top / step)
    y_ticks = [(y(step * k), _pct(step * k)) for k in range(count + 1)]
    every = max(1, -(-n // (4 if small else 13)))
    x_ticks = [(x(i), f"{d:%b} {d.day}") for i, d in enumerate(days) if (n - 1 - i) % every == 0]
    lines = []
    for label in LABELS:
        values = series.get(label) or [None] * n
        d, pen_down, points = [], False, []
        for i, v in enumerate(values):
            if v is None:
                pen_down = False
                continue
            d.append(f"{'L' if pen_down else 'M'}{x(i)},{y(v)}")
            pen_down = True
            points.append((x(i), y(v), f"week of {days[i]:%b} {days[i].day}: {_pct(v)} {LABEL_NAMES[label]}"))
        lines.append({"label": label, "d": " ".join(d), "points": points})
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top_pad,
            "bottom": height - bottom, "y_ticks": y_ticks, "x_ticks": x_ticks, "lines": lines,
            "small": small, "has_data": any(line["points"] for line in lines)}


def _period_share(flagged: list[int], sentences: list[int]) -> float | None:
    total = sum(sentences)
    return sum(flagged) / total if total else None


@bp.get("/teams/<int:team_id>/trends")
@signed_in
def trends(user: User, team_id: int):
    s = session()
    team = access.team_for(s, user, team_id)
    weeks = trends_mod.parse_weeks(request.args.get("weeks"))
    data = trends_mod.trends(s, user, team, weeks=weeks)
    team_series = data["series"]["team"]
    member_series = data["series"]["members"]
    values = [v for ser in team_series.values() for v in ser if v is not None]
    team_chart = line_chart(data["weeks"], team_series, _nice_top(max(values, default=0)))
    all_member_values = [v for m in member_series.values() for ser in m.values() for v in ser if v is not None]
    member_top = _nice_top(max(all_member_values, default=0))
    members = []
    for m in data["members"]:
        ser = member_series[m["id"]]
        sentences = data["sentences"]["members"][m["id"]]
        members.append({"id": m["id"], "name": m["name"] or m["email"] or f"user {m['id']}",
                        "email": m["email"], "series": ser, "sentences": sentences,
                        "total": sum(sentences),
                        "period": {label: _period_share(data["flagged"]["members"][m["id"]][label], sentences)
                                   for label in LABELS},
                        "chart": line_chart(data["weeks"], ser, member_top, width=360, height=160,
                                            small=True)})
    members.sort(key=lambda m: m["name"].lower())
    team_sentences = data["sentences"]["team"]
    return page("web/trends.html", user, team, active="trends", weeks=data["weeks"],
                week_days=[dt.date.fromisoformat(w) for w in data["weeks"]], n_weeks=weeks,
                week_choices=TREND_WEEKS, team_series=team_series, team_sentences=team_sentences,
                team_total=sum(team_sentences),
                team_period={label: _period_share(data["flagged"]["team"][label], team_sentences)
                             for label in LABELS},
                team_chart=team_chart, members=members, phrasings=data["phrasings"])


# ---- settings and exports ----------------------------------------------------------------

def _settings_page(user, team, status=200, error=None, history=None, retention=None):
    s = session()
    members = access.members_visible(s, user, team)  # settings are for admins: the whole team
    return page("web/settings.html", user, team, status, active="settings", error=error,
                history=team.history_enabled if history is None else history,
                retention=team.retention_days if retention is None else retention,
                max_retention=MAX_RETENTION_DAYS, members=members,
                notices=get_flashed_messages(category_filter=["info"]))


@bp.get("/teams/<int:team_id>/settings")
@signed_in
def settings(user: User, team_id: int):
    team = access.team_for(session(), user, team_id, need="manage")
    return _settings_page(user, team)


@bp.post("/teams/<int:team_id>/settings")
def save_settings(team_id: int):
    check_csrf()
    user = require_user()
    s = session()
    team = access.team_for(s, user, team_id, need="manage")
    history_raw = request.form.get("history")
    retention_raw = (request.form.get("retention_days") or "").strip()
    body: dict = {}
    if history_raw in ("on", "off"):
        body["history_enabled"] = history_raw == "on"
    if retention_raw:
        body["retention_days"] = int(retention_raw) if retention_raw.isdigit() else retention_raw
    try:
        if not body:
            raise APIError(400, "invalid_setting", "choose whether history is on or off")
        apply_settings(s, team, body)
    except APIError as e:
        s.rollback()
        if e.status not in (400, 409):
            raise
        message = e.message
        if "retention_days" in message:
            message = f"Retention must be a whole number of days from 1 to {MAX_RETENTION_DAYS}."
        return _settings_page(user, s.get(Team, team_id), 400, message,
                              history=history_raw == "on" if history_raw in ("on", "off") else None,
                              retention=retention_raw)
    flash(f"Saved. History is {'on' if team.history_enabled else 'off'}; samples are kept for "
          f"{team.retention_days} days.", "info")
    return redirect(url_for("web.settings", team_id=team.id), 303)


@bp.get("/teams/<int:team_id>/export.csv")
@signed_in
def export_csv(user: User, team_id: int):
    return export_response(user, access.team_for(session(), user, team_id, need="export"), "csv", request.args)


@bp.get("/teams/<int:team_id>/export.jsonl")
@signed_in
def export_jsonl(user: User, team_id: int):
    return export_response(user, access.team_for(session(), user, team_id, need="export"), "jsonl", request.args)
