"""Blind double labelling and adjudication (pitchlint.agreement): the held-out real_style_dev
set is built this way, so the tooling must be exact."""
from __future__ import annotations

import pytest

from pitchlint.agreement import as_records, disagreements_between, settle
from pitchlint.corpus import check_guide

BLIND = [{"id": "x-1", "source": "outreach", "subject": "Hi",
          "text": "Hi Dana,\n\nSorry to chase again. Would Tuesday work?\n\nTom",
          "sentences": [{"n": 0, "text": "Hi Dana,"}, {"n": 1, "text": "Sorry to chase again."},
                        {"n": 2, "text": "Would Tuesday work?"}, {"n": 3, "text": "Tom"}]}]
A = [{"id": "x-1", "focus": "me_talk", "tone": ["desperate"],
      "labels": [["other", "neutral"], ["me_talk", "desperate"], ["me_talk", "neutral"], ["other", "neutral"]]}]
B = [{"id": "x-1", "focus": "customer_centric", "tone": ["desperate"],
      "labels": [["other", "neutral"], ["me_talk", "desperate"], ["other", "neutral"], ["other", "neutral"]]}]


def test_labels_become_guide_records_with_exact_offsets():
    (rec,) = as_records(BLIND, A)
    assert not check_guide(rec)
    assert [rec["text"][s["start"]:s["end"]] for s in rec["sentences"]] == [s["text"] for s in BLIND[0]["sentences"]]
    assert rec["tone"] == ["desperate"]


def test_disagreements_are_offered_without_saying_whose_is_whose():
    items = disagreements_between(BLIND, A, B, seed=7)
    assert {(i["id"], i["n"]) for i in items} == {("x-1", 2), ("x-1", "email")}
    sentence = next(i for i in items if i["n"] == 2)
    assert sorted(sentence["options"]) == [["me_talk", "neutral"], ["other", "neutral"]]
    assert sentence["sentence"] == "Would Tuesday work?"
    orders = {tuple(map(tuple, next(i for i in disagreements_between(BLIND, A, B, seed=s) if i["n"] == 2)["options"]))
              for s in range(20)}
    assert len(orders) == 2  # both orders occur


def test_settle_applies_each_choice_and_refuses_gaps():
    items = disagreements_between(BLIND, A, B, seed=7)
    pick_other = next(k for k, o in enumerate(next(i for i in items if i["n"] == 2)["options"]) if o[0] == "other")
    pick_me = next(k for k, o in enumerate(next(i for i in items if i["n"] == "email")["options"]) if o == ["me_talk"])
    decisions = [{"id": "x-1", "n": 2, "choice": pick_other}, {"id": "x-1", "n": "email", "choice": pick_me}]
    (rec,) = settle(BLIND, A, B, decisions, seed=7)
    assert [(s["focus"], s["tone"]) for s in rec["sentences"]][2] == ("other", "neutral")
    assert rec["focus"] == "me_talk" and rec["tone"] == ["desperate"]
    with pytest.raises(ValueError, match="no decision"):
        settle(BLIND, A, B, decisions[:1], seed=7)
    with pytest.raises(ValueError, match="matches no disagreement"):
        settle(BLIND, A, B, decisions + [{"id": "x-1", "n": 0, "choice": 0}], seed=7)
