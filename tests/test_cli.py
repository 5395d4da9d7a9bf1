"""The command line: analyze (JSONL, plain text, stdin, .eml, mbox), evaluate, keys."""
from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from email.message import EmailMessage

import pytest
from click.testing import CliRunner

from pitchlint.cli import main

from .conftest import DEV_FILE

PITCH = "Hi Ana,\n\nSorry to chase again. Did my last four emails get through?\n\nTom"


@pytest.fixture(autouse=True)
def _one_model(monkeypatch, analyzer):
    """The CLI builds its own Analyzer; hand it the session's so the model loads once."""
    import pitchlint.model.runtime as runtime

    monkeypatch.setattr(runtime, "Analyzer", lambda *a, **k: analyzer)


def run(args, input=None):
    res = CliRunner().invoke(main, args, input=input, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def lines(output):
    return [json.loads(l) for l in output.splitlines() if l.strip()]


def test_analyze_jsonl_keeps_order_and_reports_bad_lines(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join([json.dumps({"id": "one", "text": PITCH}),
                            json.dumps({"id": "two", "text": 7}),
                            "{not json",
                            json.dumps({"id": "four", "text": "   "}),
                            json.dumps({"id": "five", "text": "Hi, thanks!", "mode": "read"})]) + "\n")
    out = lines(run(["analyze", str(f)]).output)
    assert [o["id"] for o in out] == ["one", "two", "line-3", "four", "five"]
    assert out[0]["sentences"] and out[0]["model"]["version"]
    assert out[1]["error"]["code"] == "invalid_text"
    assert out[2]["error"]["code"] == "invalid_json"
    assert out[3]["error"]["code"] == "empty_text"
    assert "sentences" in out[4]


def test_analyze_plain_text_file_and_stdin(tmp_path):
    f = tmp_path / "pitch.txt"
    f.write_text(PITCH)
    out = lines(run(["analyze", str(f)]).output)
    assert len(out) == 1 and out[0]["id"] == "pitch.txt"
    assert out[0]["sentences"][1]["text"] == "Sorry to chase again."
    out = lines(run(["analyze", "-"], input=PITCH).output)
    assert out[0]["id"] == "stdin" and len(out[0]["sentences"]) == 4
    out = lines(run(["analyze", "-"], input=json.dumps({"id": "x", "text": PITCH}) + "\n").output)
    assert out[0]["id"] == "x"


def _message(subject, body, html=None):
    msg = EmailMessage()
    msg["From"] = "rep@vendor.example"
    msg["To"] = "buyer@shop.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash(subject))}@vendor.example>"
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def test_analyze_eml_and_html_only_and_mbox(tmp_path):
    eml = tmp_path / "m.eml"
    eml.write_bytes(bytes(_message("Quick one", PITCH)))
    out = lines(run(["analyze", str(eml)]).output)
    assert out[0]["sentences"][0]["text"] == "Hi Ana,"

    html_only = EmailMessage()
    html_only["Subject"] = "html"
    html_only.set_content("<p>Dear buyer,</p><p>We are the <b>best</b> agency.</p>"
                          "<blockquote>Old message here.</blockquote>", subtype="html")
    h = tmp_path / "h.eml"
    h.write_bytes(bytes(html_only))
    out = lines(run(["analyze", str(h)]).output)
    texts = [s["text"] for s in out[0]["sentences"]]
    assert texts[:2] == ["Dear buyer,", "We are the best agency."]
    assert out[0]["sentences"][-1]["quoted"] is True

    box_path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(box_path))
    for i in range(3):
        box.add(_message(f"pitch {i}", PITCH + f" Number {i}."))
    box.flush()
    box.close()
    out = lines(run(["analyze", str(box_path)]).output)
    assert len(out) == 3 and all("sentences" in o for o in out)


def test_evaluate_prints_the_scorers_table():
    if not DEV_FILE.exists():
        pytest.skip("shared/eval is not beside this checkout")
    res = run(["evaluate", str(DEV_FILE)])
    assert "email_focus" in res.output and "highlight" in res.output
    assert res.output.strip().splitlines()[-1].startswith("headline email_focus_macro_f1=")


@pytest.mark.db
def test_keys_create_list_revoke(tmp_path, monkeypatch):
    db = tmp_path / "keys.db"
    monkeypatch.setenv("PITCHLINT_DATABASE_URL", os.environ.get("PITCHLINT_TEST_DATABASE_URL") or f"sqlite:///{db}")
    if os.environ.get("PITCHLINT_TEST_DATABASE_URL"):
        from .conftest import _reset_postgres

        _reset_postgres(os.environ["PITCHLINT_TEST_DATABASE_URL"])
    out = run(["keys", "create", "--name", "ci laptop"]).output
    key = out.strip().splitlines()[-1]
    assert key.startswith("pl_") and "shown only now" in out
    listing = run(["keys", "list"]).output
    assert "ci laptop" in listing and "active" in listing and key not in listing
    assert "revoked key 1" in run(["keys", "revoke", "1"]).output
    assert "revoked" in run(["keys", "list"]).output
    bad = CliRunner().invoke(main, ["keys", "revoke", "99"])
    assert bad.exit_code != 0 and "no key" in bad.output


def test_the_installed_command_runs():
    out = subprocess.run([sys.executable, "-m", "pitchlint.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "analyze" in out.stdout and "serve" in out.stdout


def test_eml_subject_encoded_words_are_decoded(tmp_path):
    from pitchlint.mail import read_eml

    f = tmp_path / "enc.eml"
    f.write_bytes(b"Subject: =?utf-8?q?Caf=C3=A9_offer?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                  b"Hi, we sell coffee.\r\n")
    rec = read_eml(f)
    assert rec["subject"] == "Caf\u00e9 offer" and rec["text"] == "Hi, we sell coffee."
