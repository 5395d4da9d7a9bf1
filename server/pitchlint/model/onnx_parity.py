"""How far the ONNX export agrees with the PyTorch runtime, and what it scores.

`pitchlint onnx parity` prints, on dev.jsonl and the corpus's validation split, the share of
sentence labels (focus and tone) and of email labels (focus and tone flags) that are identical
between the two runtimes, the largest difference between any two scores, both runtimes' headline
figures (the scorer's, against the gold labels), and whether an email's answer depends on what
else is in its batch (each email analysed alone against the whole set in batches).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from .. import scoring
from ..corpus import CORPUS_FILE, load_jsonl
from . import artifact

PARITY_TARGET = 0.99


@dataclass
class Agreement:
    emails: int
    sentences: int
    same_sentence_labels: int
    same_email_labels: int
    max_score_difference: float

    @property
    def sentence_share(self) -> float:
        return self.same_sentence_labels / self.sentences if self.sentences else 1.0

    @property
    def email_share(self) -> float:
        return self.same_email_labels / self.emails if self.emails else 1.0

    def to_dict(self) -> dict:
        return {**asdict(self), "sentence_share": round(self.sentence_share, 4),
                "email_share": round(self.email_share, 4)}


def _scores(answer: dict):
    yield answer["focus"]["scores"]["me_talk"]
    for v in answer["tone"]["scores"].values():
        yield v
    for s in answer["sentences"]:
        yield from s["focus"]["scores"].values()
        yield from s["tone"]["scores"].values()


def agreement(a: list[dict], b: list[dict]) -> Agreement:
    """Label and score agreement of two lists of contract answers for the same emails."""
    sentences = same_s = same_e = 0
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        same_e += (x["focus"]["label"], x["tone"]["flags"]) == (y["focus"]["label"], y["tone"]["flags"])
        if len(x["sentences"]) != len(y["sentences"]):
            raise ValueError("the two runtimes split an email differently")
        for s, t in zip(x["sentences"], y["sentences"]):
            sentences += 1
            same_s += (s["focus"]["label"], s["tone"]["label"]) == (t["focus"]["label"], t["tone"]["label"])
        worst = max([worst] + [abs(p - q) for p, q in zip(_scores(x), _scores(y))])
    return Agreement(len(a), sentences, same_s, same_e, round(worst, 4))


def items_of(records: list[dict]) -> list[dict]:
    return [{"text": r["text"], "subject": r.get("subject"), "mode": "read"} for r in records]


def validation_split(model_dir: Path) -> list[dict]:
    from .train import is_validation

    share = artifact.read_config(model_dir).get("training", {}).get("validation_share", 0.1)
    return [r for r in load_jsonl(CORPUS_FILE) if is_validation(r["id"], share)]


def batch_independence(analyzer, records: list[dict]) -> Agreement:
    """Each email alone (cold cache) against the same emails analysed together in batches."""
    items = items_of(records)
    analyzer.cache.clear()
    together = analyzer.analyze_batch(items)
    alone = []
    for item in items:
        analyzer.cache.clear()
        alone.append(analyzer.analyze_batch([item])[0])
    return agreement(together, alone)


def parity_report(model_dir: Path | str | None = None, export_dir: Path | str | None = None,
                  dev: Path | str | None = None, reference: str | None = None, log=print) -> dict:
    from .onnx_runtime import OnnxAnalyzer
    from .runtime import Analyzer

    model_dir = Path(model_dir or artifact.DEFAULT_MODEL_DIR)
    torch_an = Analyzer(model_dir, compute=reference)
    onnx_an = OnnxAnalyzer(model_dir, export_dir=export_dir)
    sets = []
    if dev and Path(dev).exists():
        sets.append((f"dev ({dev})", load_jsonl(dev)))
    elif dev:
        log(f"{dev} not found: dev set skipped")
    sets.append(("corpus validation split", validation_split(model_dir)))
    report = {"model": f"{torch_an.name} {torch_an.version}", "reference": f"torch {torch_an.compute}",
              "onnx": onnx_an.compute, "export": str(onnx_an.export_dir), "target": PARITY_TARGET,
              "sets": {}}
    for name, records in sets:
        log(f"{name}: {len(records)} emails")
        items = items_of(records)
        a = torch_an.analyze_batch(items)
        b = onnx_an.analyze_batch(items)
        head_a = scoring.score(records, [{"id": r["id"], **p} for r, p in zip(records, a)])["headline"]
        head_b = scoring.score(records, [{"id": r["id"], **p} for r, p in zip(records, b)])["headline"]
        report["sets"][name] = {
            "agreement": agreement(a, b).to_dict(),
            "headline": {"torch": head_a, "onnx": head_b},
            "batch_independence": batch_independence(onnx_an, records).to_dict(),
        }
    report["holds"] = all(s["agreement"]["sentence_share"] >= PARITY_TARGET
                          and s["agreement"]["email_share"] >= PARITY_TARGET
                          for s in report["sets"].values())
    return report


def format_report(report: dict) -> str:
    lines = [f"{report['model']}: {report['onnx']} ({report['export']}) against {report['reference']}"]
    for name, s in report["sets"].items():
        g, b = s["agreement"], s["batch_independence"]
        lines.append(f"  {name}: {g['emails']} emails, {g['sentences']} sentences")
        lines.append(f"    identical sentence labels  {g['sentence_share']:.2%} ({g['sentences'] - g['same_sentence_labels']} differ)")
        lines.append(f"    identical email labels     {g['email_share']:.2%} ({g['emails'] - g['same_email_labels']} differ)")
        lines.append(f"    largest score difference   {g['max_score_difference']:.4f}")
        lines.append(f"    alone vs in a batch        {b['sentences'] - b['same_sentence_labels']} sentence and "
                     f"{b['emails'] - b['same_email_labels']} email labels differ; largest score "
                     f"difference {b['max_score_difference']:.4f}")
        lines.append("    headline          torch    onnx")
        for k, v in s["headline"]["torch"].items():
            lines.append(f"      {k:26s} {v:.3f}   {s['headline']['onnx'][k]:.3f}")
    lines.append(f"parity target {report['target']:.0%} of sentence and email labels: "
                 f"{'holds' if report['holds'] else 'NOT MET'}")
    return "\n".join(lines)
