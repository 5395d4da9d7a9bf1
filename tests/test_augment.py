"""Training-time variations keep every label true (model/augment.py, train.Augmenter)."""
from __future__ import annotations

import random

import pytest

from pitchlint.corpus import CORPUS_FILE, load_jsonl
from pitchlint.labels import EMAIL_FOCUS, SENTENCE_FOCUS, TONES
from pitchlint.model.augment import NOISES, noisy, noisy_email, splice_positions
from pitchlint.model.encoder import base_encoder_dir
from pitchlint.model.features import WordPieces
from pitchlint.model.network import KIND_BODY, KIND_QUOTED, KIND_SIGNATURE
from pitchlint.model.train import Augmenter, prepare


@pytest.fixture(scope="module")
def corpus_sample():
    return load_jsonl(CORPUS_FILE)[:300]


@pytest.fixture(scope="module")
def pieces():
    return WordPieces(base_encoder_dir() / "tokenizer.json")


def test_each_noise_keeps_a_sentence_recognisable():
    rng = random.Random(3)
    sentence = "Hi Dana, I'm sorry to chase again, but did Marco see our proposal?"
    for fn in NOISES:
        out = fn(sentence, rng)
        assert out.strip()
        assert abs(len(out) - len(sentence)) <= 20
    assert noisy("Ok.", rng).strip()
    seen = {noisy(sentence, random.Random(i)) for i in range(60)}
    assert len(seen) > 20  # many different messy versions, not one


def test_noisy_email_keeps_the_sentence_count():
    sents = ["Hi Dana,", "We are the best.", "Would Tuesday work?", "Tom"]
    for seed in range(20):
        assert len(noisy_email(sents, random.Random(seed))) == len(sents)


def test_splice_positions_stay_in_the_body_and_beside_pressure():
    neutral = TONES.index("neutral")
    desperate = TONES.index("desperate")
    kinds = [KIND_BODY] * 5 + [KIND_SIGNATURE] * 2 + [KIND_QUOTED] * 3
    tones = [neutral, neutral, desperate, neutral, neutral] + [neutral] * 5
    near = 0
    for seed in range(200):
        for p in splice_positions(tones, kinds, neutral, KIND_BODY, random.Random(seed), 2):
            assert 1 <= p <= 5  # after the first line, never past the body
            near += p in (2, 3)
    assert near > 200  # most land beside the begging line
    assert splice_positions([neutral], [KIND_BODY], neutral, KIND_BODY, random.Random(0), 1) == []


def test_augmented_examples_keep_every_label_true(corpus_sample, pieces):
    examples = prepare(corpus_sample, pieces)
    aug = Augmenter(corpus_sample, examples, pieces, noise_share=0.5, splice_share=1.0, seed=5)
    assert aug.plain and aug.asks
    rng = random.Random(11)
    other, neutral = SENTENCE_FOCUS.index("other"), TONES.index("neutral")
    me_talk = SENTENCE_FOCUS.index("me_talk")
    spliced = noisy_seen = 0
    for ex in examples:
        out = aug(ex, rng)
        n = len(out.sentence_ids)
        assert len(out.focus) == len(out.tone) == len(out.kinds) == len(out.counted) == n
        assert out.email_focus == ex.email_focus
        # the email's tones are unchanged: only neutral lines come in
        assert {t for t in out.tone if t != neutral} == {t for t in ex.tone if t != neutral}
        added = n - len(ex.sentence_ids)
        assert added in (0, 1, 2)
        if added:
            spliced += 1
            # the original sentences keep their order and labels; what came in is plain
            original = list(zip(ex.focus, ex.tone))
            merged = list(zip(out.focus, out.tone))
            it = iter(merged)
            assert all(pair in it for pair in original)
            new_pairs = [p for p in merged]
            for pair in original:
                new_pairs.remove(pair)
            for f, t in new_pairs:
                assert t == neutral and (f == other or (f == me_talk and ex.email_focus == EMAIL_FOCUS.index("me_talk")))
        if out.sentence_ids[0] != ex.sentence_ids[0] and not added:
            noisy_seen += 1
    assert spliced > len(examples) * 0.5


def test_a_sentence_alone_keeps_its_labels_and_tells_the_email_story(corpus_sample, pieces):
    examples = prepare(corpus_sample, pieces)
    aug = Augmenter(corpus_sample, examples, pieces, noise_share=0.0, splice_share=0.0, seed=5,
                    solo_share=1.0)
    rng = random.Random(2)
    other, neutral = SENTENCE_FOCUS.index("other"), TONES.index("neutral")
    for ex in examples[:120]:
        out = aug(ex, rng)
        assert len(out.sentence_ids) == 1 and out.kinds == [KIND_BODY] and out.counted == [True]
        assert out.subject_ids == []
        k = ex.sentence_ids.index(out.sentence_ids[0])
        assert (out.focus[0], out.tone[0]) == (ex.focus[k], ex.tone[k])
        story = "me_talk" if SENTENCE_FOCUS[out.focus[0]] == "me_talk" else "customer_centric"
        assert out.email_focus == EMAIL_FOCUS.index(story)
        if any((f != other or t != neutral) and kind == KIND_BODY
               for f, t, kind in zip(ex.focus, ex.tone, ex.kinds)):
            assert out.focus[0] != other or out.tone[0] != neutral  # a pitch line is chosen


def test_real_mail_slices_weigh_more(pieces):
    from pitchlint.model.train import weigh_real_mail

    recs = [r for r in load_jsonl(CORPUS_FILE) if r["id"].split("-")[0] in ("s3", "s11")][:400]
    examples = prepare(recs, pieces)
    n = weigh_real_mail(examples, 1.5)
    assert n == sum(ex.id.startswith("s11-") for ex in examples) > 0
    for ex in examples:
        if ex.id.startswith("s11-"):
            assert ex.weights == [1.5] * len(ex.sentence_ids)
        else:
            assert ex.weights is None
