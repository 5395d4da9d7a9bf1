#!/usr/bin/env python3
"""Exports stream: memory while exporting 100,000 samples stays flat.

    python benchmarks/export_memory.py [--samples 100000] [--database-url URL]

Fills a fresh database (SQLite in a temporary folder by default; pass a PostgreSQL URL to
measure that) with N kept samples of one team, then, in a separate process per run, downloads
`GET /v1/teams/<id>/export?format=csv|jsonl` with a lead's key through the app (the real
endpoint, streamed to /dev/null) and prints the bytes written, the time, and the process's
peak RSS above what it held just before the export started. The same is done for N/10 samples:
if the export streams, both peaks are about the same.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

SENTENCES = ["I have emailed you {n} times now and still nothing from you.",
             "We are the leading provider of payroll software in [name]'s region.",
             "If I don't hear back by Friday your discount of {n}% is gone for good.",
             "Sorry to bother you again, [name], I really need this meeting."]


def fill(url: str, n: int) -> tuple[int, str]:
    """A team with a lead and a member, and `n` samples; returns (team id, the lead's key)."""
    import datetime as dt

    from sqlalchemy import insert

    from pitchlint.service import create_app
    from pitchlint.service.db import get_db
    from pitchlint.service.keys import create_key
    from pitchlint.service.team import admin
    from pitchlint.service.team.models import Analysis, Sample

    app = create_app({"TESTING": True, "DATABASE_URL": url, "LOAD_MODEL_AT_START": False})
    with app.app_context(), get_db().sessions() as s:
        team = admin.create_team(s, "Bench", f"Sales {n}", history=True)
        lead = admin.add_user(s, f"lead{n}@bench.example", team, "lead")
        rep = admin.add_user(s, f"rep{n}@bench.example", team, "member")
        _, key = create_key(s, "bench", user_id=lead.id)
        start = dt.datetime.utcnow() - dt.timedelta(days=20)
        chunk = 5000
        for base in range(0, n, chunk):
            k = min(chunk, n - base)
            when = start + dt.timedelta(seconds=base)
            res = s.execute(insert(Analysis).returning(Analysis.id), [
                {"team_id": team.id, "user_id": rep.id, "created_at": when, "source": "compose",
                 "model_version": "bench", "email_focus": "me_talk", "email_tone": "desperate",
                 "sentences": 8, "flagged": 1} for _ in range(k)])
            ids = [r[0] for r in res]
            s.execute(insert(Sample), [
                {"analysis_id": aid, "team_id": team.id, "user_id": rep.id,
                 "created_at": when + dt.timedelta(seconds=i), "source": "compose",
                 "model_version": "bench", "position": 1,
                 "text": SENTENCES[(base + i) % 4].format(n=base + i),
                 "before": "Hi [name],", "after": SENTENCES[(base + i + 1) % 4].format(n=i),
                 "before_labels": {"focus": "other", "tone": "neutral"},
                 "after_labels": {"focus": "me_talk", "tone": "neutral"},
                 "focus": "me_talk", "tone": "desperate", "focus_score": 0.91, "tone_score": 0.88,
                 "scores": {"focus": {"me_talk": 0.91, "customer_centric": 0.02, "other": 0.07},
                            "tone": {"desperate": 0.88, "threatening": 0.02, "neutral": 0.1}}}
                for i, aid in enumerate(ids)])
            s.commit()
    app.extensions["pitchlint_db"].engine.dispose()
    return team.id, key


CHILD = r"""
import json, sys, time
sys.path.insert(0, {server!r})
from pitchlint.service import create_app
app = create_app({{"TESTING": True, "DATABASE_URL": {url!r}, "LOAD_MODEL_AT_START": False,
                  "REQUIRE_KEYS": True, "RATE_LIMIT_PER_MINUTE": 0}})
client = app.test_client()
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
# warm up: one small request so imports and the first connection are not counted
client.get("/v1/teams/{team}", headers={{"Authorization": "Bearer {key}"}})
before = rss_kb()
peak = before
t0 = time.perf_counter()
resp = client.get("/v1/teams/{team}/export?format={fmt}", headers={{"Authorization": "Bearer {key}"}},
                  buffered=False)
size = lines = 0
for i, chunk in enumerate(resp.response):
    size += len(chunk)
    lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    if i % 20 == 0:
        peak = max(peak, rss_kb())
resp.close()
elapsed = time.perf_counter() - t0
peak = max(peak, rss_kb())
print(json.dumps({{"status": resp.status_code, "bytes": size, "lines": lines, "seconds": elapsed,
                  "rss_before_mb": before / 1024, "rss_peak_mb": peak / 1024}}))
"""


def measure(url: str, team: int, key: str, fmt: str) -> dict:
    code = CHILD.format(server=str(ROOT / "server"), url=url, team=team, key=key, fmt=fmt)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pitchlint-export-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        eng = create_engine(url)
        with eng.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
        eng.dispose()
    print(f"database: {url.split('@')[-1]}")
    rows = []
    for n in (args.samples // 10, args.samples):
        t0 = time.perf_counter()
        team, key = fill(url, n)
        print(f"filled {n:,} samples in {time.perf_counter() - t0:.1f} s", flush=True)
        for fmt in ("csv", "jsonl"):
            r = measure(url, team, key, fmt)
            assert r["status"] == 200, r
            assert r["lines"] == n + (fmt == "csv"), (n, fmt, r["lines"])  # every sample came out
            rows.append((n, fmt, r))
            print(f"  {fmt:5s} {n:>7,} samples: {r['bytes'] / 1e6:6.1f} MB in {r['seconds']:5.1f} s "
                  f"({n / r['seconds']:,.0f} samples/s); RSS {r['rss_before_mb']:.0f} MB before, "
                  f"peak {r['rss_peak_mb']:.0f} MB (+{r['rss_peak_mb'] - r['rss_before_mb']:.1f} MB)",
                  flush=True)
    print("\nsamples  format  MB out  seconds  RSS growth")
    for n, fmt, r in rows:
        print(f"{n:>7,}  {fmt:6s} {r['bytes'] / 1e6:6.1f}  {r['seconds']:7.1f}  "
              f"+{r['rss_peak_mb'] - r['rss_before_mb']:.1f} MB")


if __name__ == "__main__":
    main()
