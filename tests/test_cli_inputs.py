"""The command line for a person, and its limits: what `pitchlint analyze` reads and refuses
(directories, binary files, .json documents, empty input, a "Subject:" first line, emails over
the service's limit), the readable format on a terminal and JSON Lines in a pipe, answers
streaming out while JSON Lines are still coming in, batches bounded by count and characters,
`pitchlint evaluate` on files it can't score, and `pitchlint serve` on a port in use.

Behaviour is checked with the real shipped model, through click's runner (the session's model)
or the installed `pitchlint` command in a subprocess."""
from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pitchlint.cli import main

PITCH = "Hi Ana,\n\nSorry to chase again. Did my last four emails get through?\n\nTom"
GOOD = "Hi Ana,\n\nYour team mentioned slow month-end closes. Would a short checklist help?\n\nTom"
_SCRIPT = Path(sys.executable).with_name("pitchlint")
PITCHLINT = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "pitchlint.cli"]


@pytest.fixture(autouse=True)
def _one_model(monkeypatch, analyzer):
    """The command builds its own Analyzer; hand it the session's so the model loads once."""
    import pitchlint.model.runtime as runtime

    monkeypatch.setattr(runtime, "Analyzer", lambda *a, **k: analyzer)


@pytest.fixture
def no_model(monkeypatch):
    """For inputs that must be refused before the model loads."""
    import pitchlint.model.runtime as runtime

    def refuse(*a, **k):
        raise AssertionError("the model was loaded for an input that should have been refused first")

    monkeypatch.setattr(runtime, "Analyzer", refuse)


@pytest.fixture
def batches(monkeypatch, analyzer):
    """The session's model, recording each batch the command hands it."""
    import pitchlint.model.runtime as runtime

    seen: list[list[dict]] = []

    class Recording:
        name, version = analyzer.name, analyzer.version

        def analyze_batch(self, items):
            seen.append(list(items))
            return analyzer.analyze_batch(items)

    monkeypatch.setattr(runtime, "Analyzer", lambda *a, **k: Recording())
    return seen


def invoke(args, input=None, color=False):
    return CliRunner().invoke(main, args, input=input, color=color)


def lines(output):
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def refused(res, *words):
    """One clear line and a non-zero exit, never a traceback."""
    assert res.exit_code != 0, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    text = res.output.strip()
    assert text.startswith("Error: ") and len(text.splitlines()) == 1, text
    for w in words:
        assert w in text, (w, text)
    return text


def jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# ---- inputs the command refuses, before any model loads -----------------------------------

def test_a_directory_is_refused(tmp_path, no_model):
    refused(invoke(["analyze", str(tmp_path)]), "is a directory")
    refused(invoke(["analyze", str(tmp_path / "missing.jsonl")]), "no such file")


def test_binary_files_are_refused_as_not_text(tmp_path, no_model):
    elf = tmp_path / "program"
    elf.write_bytes(Path(sys.executable).resolve().read_bytes()[:65536])  # a real ELF executable
    noise = tmp_path / "noise.txt"
    noise.write_bytes(random.Random(16).randbytes(20000))
    for f in (elf, noise):
        refused(invoke(["analyze", str(f)]), "is not text")
    refused(invoke(["analyze", "-"], input=noise.read_bytes()), "standard input is not text")


def test_empty_input_is_refused(tmp_path, no_model):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    refused(invoke(["analyze", str(empty)]), "is empty")
    refused(invoke(["analyze", "-"], input="\n  \n\n"), "standard input is empty")
    refused(invoke(["analyze", "-"], input="[]"), "holds no email")


def test_a_plain_text_email_over_the_limit_is_refused_before_the_model_loads(tmp_path, no_model):
    big = tmp_path / "long.txt"
    big.write_text("We are the best agency in town. " * 32_768)  # 1 MB, as in the issue
    text = refused(invoke(["analyze", str(big)]), "over the limit of 100,000 characters", "--max-chars")
    assert "long.txt is 1,048,576 bytes" in text
    refused(invoke(["analyze", "-"], input=big.read_text()), "more than 100,000 characters")
    short = tmp_path / "short.txt"
    short.write_text("x" * 150)
    refused(invoke(["analyze", "--max-chars", "100", str(short)]),
            "short.txt is 150 characters; the limit is 100")
    eml = tmp_path / "long.eml"
    eml.write_text("From: rep@vendor.example\nSubject: hi\n\n" + "We are great. " * 10_000)
    refused(invoke(["analyze", str(eml)]), "the text of", "is 139,999 characters; the limit is 100,000")  # stripped


def test_a_json_file_that_is_not_emails_is_refused(tmp_path, no_model):
    f = tmp_path / "x.json"
    f.write_text('"just a string"')
    refused(invoke(["analyze", str(f)]), "holds a string, not an email")
    f.write_text("{not json")
    refused(invoke(["analyze", str(f)]), "is not valid JSON")


# ---- what it reads --------------------------------------------------------------------------

def test_a_json_array_is_a_list_of_emails(tmp_path):
    f = tmp_path / "emails.json"
    f.write_text(json.dumps([{"id": "a", "text": PITCH}, {"text": GOOD}, "not an email"], indent=2))
    out = lines(invoke(["analyze", str(f)]).output)
    assert [o["id"] for o in out] == ["a", "item-2", "item-3"]
    assert out[0]["tone"]["flags"] == ["desperate"] and "sentences" in out[1]
    assert out[2]["error"]["code"] == "invalid_item"
    f.write_text(json.dumps({"text": PITCH}, indent=2))  # one email, pretty-printed
    one = lines(invoke(["analyze", str(f)]).output)
    assert len(one) == 1 and one[0]["id"] == "emails.json" and one[0]["tone"]["flags"] == ["desperate"]
    batch = lines(invoke(["analyze", "-"], input=json.dumps({"emails": [{"text": PITCH}]}) + "\n").output)
    assert batch[0]["id"] == "line-1.1" and "sentences" in batch[0]  # a batch request's body


def test_a_subject_first_line_is_the_subject(tmp_path, batches):
    f = tmp_path / "pitch.txt"
    f.write_text("Subject: Quick question\n\n" + PITCH)
    out = lines(invoke(["analyze", str(f)]).output)
    assert batches[0][0]["subject"] == "Quick question" and batches[0][0]["text"] == PITCH
    assert out[0]["sentences"][0]["text"] == "Hi Ana,"
    assert not any("Subject" in s["text"] for s in out[0]["sentences"])


def test_a_whole_message_on_standard_input_is_read_as_one(tmp_path):
    raw = ("From: rep@vendor.example\nTo: buyer@shop.example\nSubject: Checking in\n"
           "Message-ID: <m1@vendor.example>\n\n" + PITCH + "\n")
    out = lines(invoke(["analyze", "-"], input=raw).output)
    assert out[0]["id"] == "<m1@vendor.example>" and out[0]["sentences"][0]["text"] == "Hi Ana,"
    box = "".join(f"From rep@vendor.example Mon Dec  1 10:0{i}:00 2026\nSubject: n{i}\n\n{PITCH}\n\n"
                  for i in range(3))
    out = lines(invoke(["analyze", "-"], input=box).output)  # an mbox on standard input
    assert len(out) == 3 and all("sentences" in o for o in out)


# ---- per-email limits, batches ---------------------------------------------------------------

def test_an_email_over_the_limit_gets_its_own_error_and_the_next_is_answered(tmp_path):
    f = jsonl(tmp_path / "in.jsonl", [{"id": "huge", "text": ("We are the best. " * 8_824)[:150_000]},
                                      {"id": "next", "text": PITCH}])
    res = invoke(["analyze", str(f)])
    assert res.exit_code == 0, res.output
    out = lines(res.stdout)
    assert out[0] == {"id": "huge", "error": {"code": "text_too_long",
                                              "message": "text is 150,000 characters; the limit is 100,000"}}
    assert out[1]["id"] == "next" and out[1]["tone"]["flags"] == ["desperate"]
    assert "raise it with --max-chars" in res.stderr
    small = invoke(["analyze", "--max-chars", "20", str(f)])
    assert [o["error"]["message"] for o in lines(small.stdout)] == [
        "text is 150,000 characters; the limit is 20", f"text is {len(PITCH)} characters; the limit is 20"]
    assert small.exit_code == 1  # every email failed


def test_a_line_longer_than_any_email_is_skipped_unread(tmp_path):
    f = tmp_path / "in.jsonl"
    with open(f, "w") as out:
        out.write(json.dumps({"id": "huge", "text": "x" * 4_100_000}) + "\n")
        out.write(json.dumps({"id": "next", "text": PITCH}) + "\n")
    out = lines(invoke(["analyze", str(f)]).stdout)
    assert out[0]["id"] == "line-1" and out[0]["error"]["code"] == "line_too_long"
    assert "line 1 is 4,100,027 bytes" in out[0]["error"]["message"] and out[1]["id"] == "next" and "sentences" in out[1]


def test_batches_are_bounded_by_count_and_by_characters(tmp_path, batches):
    f = jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": PITCH} for i in range(7)]
              + [{"id": "bad", "text": 3}, {"id": "last", "text": GOOD}])
    out = lines(invoke(["analyze", "--batch-size", "3", str(f)]).output)
    assert [o["id"] for o in out] == [str(i) for i in range(7)] + ["bad", "last"]
    assert [len(b) for b in batches] == [3, 3, 2]
    batches.clear()
    invoke(["analyze", "--batch-chars", str(2 * len(PITCH)), str(f)])
    assert [len(b) for b in batches] == [2, 2, 2, 1, 1]  # GOOD is longer than PITCH
    batches.clear()
    invoke(["analyze", "--batch-chars", "10", str(f)])  # each email is longer: each goes alone
    assert [len(b) for b in batches] == [1] * 8


def test_bad_lines_are_reported_and_a_run_where_every_email_failed_exits_non_zero(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('{"id": "a", "text": 7}\n{not json\n{"id": "c", "mode": "shout", "text": "Hi"}\n')
    res = invoke(["analyze", str(f)])
    assert res.exit_code == 1
    assert [o["error"]["code"] for o in lines(res.stdout)] == ["invalid_text", "invalid_json", "invalid_mode"]
    assert "no email could be analysed (3 of 3 failed" in res.stderr
    f.write_text(f.read_text() + json.dumps({"id": "d", "text": PITCH}) + "\n")
    assert invoke(["analyze", str(f)]).exit_code == 0  # some answered: the run did its job


# ---- output for a person, and for a pipe ------------------------------------------------------

def test_the_readable_format_shows_each_flagged_sentence_and_the_verdict(tmp_path):
    f = tmp_path / "pitch.txt"
    f.write_text("Subject: Following up\n\n" + PITCH + "\n\nIf I do not hear back by Friday, I will "
                 "assume you are not serious about growth.\n")
    res = invoke(["analyze", "--format", "text", str(f)])
    assert res.exit_code == 0 and not res.output.lstrip().startswith("{")
    out = res.output
    assert "pitch.txt" in out and "Following up" in out
    assert "me-talk" in out and "desperate, threatening" in out  # the email's verdict
    assert "line 5  Sorry to chase again." in out  # line numbers count the subject line
    assert "desperate: " in out and "threatening: " in out  # each sentence's labels and message
    assert out.rstrip().splitlines()[-1] == "1 email · 1 with flagged sentences"
    assert "\x1b[" not in out
    coloured = invoke(["analyze", "--format", "text", str(f)], color=True).output
    assert "\x1b[" in coloured  # colour where the terminal has it
    errors = invoke(["analyze", "--format", "text", "-"], input='{"id": "x", "text": 5}\n')
    assert "error invalid_text" in errors.output and errors.exit_code == 1


def test_json_lines_when_piped_or_asked_for(tmp_path):
    f = tmp_path / "pitch.txt"
    f.write_text(PITCH)
    piped = lines(invoke(["analyze", str(f)]).output)  # the runner's output is not a terminal
    assert piped[0]["id"] == "pitch.txt" and piped[0]["model"]["version"]
    out = tmp_path / "out.jsonl"
    assert invoke(["analyze", "-o", str(out), str(f)]).exit_code == 0
    assert lines(out.read_text())[0]["id"] == "pitch.txt"


def test_a_terminal_gets_the_readable_format_by_default(tmp_path):
    import pty

    f = tmp_path / "pitch.txt"
    f.write_text(PITCH)
    master, slave = pty.openpty()
    proc = subprocess.Popen(PITCHLINT + ["analyze", str(f)], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    out = b"".join(chunks).decode()
    assert "Sorry to chase again." in out and "sentences flagged" in out
    assert "\x1b[" in out and '{"id"' not in out


# ---- streaming --------------------------------------------------------------------------------

FEEDER = """
import json, os, sys, time
gate = sys.argv[1]
email = {"text": "Hi Dana,\\n\\nSorry to chase again. Did my last three emails get through?\\n\\nTom"}
for i in range(150):
    sys.stdout.write(json.dumps({"id": f"early-{i}", **email}) + "\\n")
sys.stdout.flush()
deadline = time.time() + 90
while not os.path.exists(gate) and time.time() < deadline:
    time.sleep(0.05)
for i in range(150):
    sys.stdout.write(json.dumps({"id": f"late-{i}", **email}) + "\\n")
"""


def test_json_lines_are_answered_while_the_input_is_still_coming(tmp_path):
    """The first answers come out while the rest of standard input has not even been written:
    the command reads line by line and never waits for (or holds) the whole file."""
    gate = tmp_path / "go"
    feeder = subprocess.Popen([sys.executable, "-c", FEEDER, str(gate)], stdout=subprocess.PIPE)
    errors = open(tmp_path / "stderr", "w+b")
    proc = subprocess.Popen(PITCHLINT + ["analyze", "-"], stdin=feeder.stdout,
                            stdout=subprocess.PIPE, stderr=errors)
    feeder.stdout.close()
    try:
        first = proc.stdout.readline()
        feeder_still_waiting = feeder.poll() is None
        gate.touch()
        # the rest from the same buffered reader: readline() may already hold part of it, which
        # communicate() (reading the pipe underneath) would skip
        rest = proc.stdout.read()
        proc.wait(timeout=300)
        errors.seek(0)
        err = errors.read()
    finally:
        errors.close()
        gate.touch()
        feeder.wait(timeout=120)
        if proc.poll() is None:
            proc.kill()
    assert json.loads(first)["id"] == "early-0", err
    assert feeder_still_waiting, "the first answer came only after the whole input was written"
    ids = [json.loads(line)["id"] for line in rest.decode().splitlines()]
    assert len(ids) == 299 and ids[-1] == "late-149" and proc.returncode == 0


def test_reading_json_lines_is_lazy(tmp_path):
    """Asking for the first email reads about one line, not the file."""
    from pitchlint.inputs import read_emails

    f = tmp_path / "many.jsonl"
    with open(f, "w") as out:
        for i in range(50_000):
            out.write(json.dumps({"id": i, "text": PITCH}) + "\n")
    emails = read_emails(str(f))
    assert next(emails)["id"] == 0
    handle = next(h for h in os.listdir("/proc/self/fd")
                  if os.path.realpath(f"/proc/self/fd/{h}") == str(f.resolve()))
    position = int(open(f"/proc/self/fdinfo/{handle}").read().split()[1])
    assert position < 1 << 20 < f.stat().st_size  # read ahead one buffer at most
    assert sum(1 for _ in emails) == 49_999


# ---- evaluate -----------------------------------------------------------------------------------

def test_evaluate_refuses_files_it_cannot_score(tmp_path, no_model):
    bad = tmp_path / "notes.txt"
    bad.write_text("These are my notes, not JSON.\n")
    refused(invoke(["evaluate", str(bad)]), "not valid JSON", "GUIDE")
    unlabelled = jsonl(tmp_path / "emails.jsonl", [{"id": "a", "text": PITCH}])
    refused(invoke(["evaluate", str(unlabelled)]), "have no labels", "pitchlint analyze")
    broken = jsonl(tmp_path / "broken.jsonl", [{"id": "a", "text": PITCH, "focus": "me_talk",
                                                "tone": ["desperate"], "sentences": [{"start": 0}]}])
    refused(invoke(["evaluate", str(broken)]), "not a valid GUIDE-format file")
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 100)
    refused(invoke(["evaluate", str(binary)]), "not UTF-8 text")
    res = invoke(["evaluate", str(tmp_path)])
    assert res.exit_code == 2 and "is a directory" in res.output and "Traceback" not in res.output


# ---- serve ------------------------------------------------------------------------------------

def test_serve_on_a_port_in_use_says_so_before_serving(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PITCHLINT_INSTANCE_PATH": str(tmp_path),
               "PITCHLINT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
        res = subprocess.run(PITCHLINT + ["serve", "--port", str(port), "--workers", "1"],
                             capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in res.stderr and "--port" in res.stderr
    assert "serving on" not in res.stdout + res.stderr and "Traceback" not in res.stderr


def test_help_does_not_load_the_model_or_the_service():
    code = ("import sys; from pitchlint.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'flask', 'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
