"""The `pitchlint` command: serve, analyze, train, evaluate, keys, corpus."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click


@click.group()
@click.version_option(package_name="pitchlint")
def main():
    """Pitchlint: catch me-talk, begging and threats in sales email."""


# --- analyze -----------------------------------------------------------------------------

def _looks_like_jsonl(text: str) -> bool:
    """The first non-empty line is a JSON object (later bad lines get their own errors)."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def read_inputs(source: str):
    """The emails to analyse: dicts with id/text/subject/mode, or `_error` for a bad line."""
    from . import mail

    if source != "-":
        path = Path(source)
        if not path.exists():
            raise click.UsageError(f"{source}: no such file")
        suffix = path.suffix.lower()
        if suffix == ".eml":
            return [mail.read_eml(path)]
        if suffix in (".mbox", ".mbx") or path.name == "mbox":
            return list(mail.iter_mbox(path))
        raw = path.read_bytes()
        name = path.name
    else:
        raw = sys.stdin.buffer.read()
        name = "stdin"
    text = raw.decode("utf-8", errors="surrogateescape")
    if re.match(rb"From \S+ .*\d\d:\d\d", raw):  # an mbox ("From addr date" first line)
        import tempfile

        with tempfile.NamedTemporaryFile("wb", suffix=".mbox", delete=False) as f:
            f.write(raw)
        try:
            return list(mail.iter_mbox(Path(f.name)))
        finally:
            os.unlink(f.name)
    if name.lower().endswith((".jsonl", ".ndjson")) or _looks_like_jsonl(text):
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                items.append({"id": f"line-{n}", "_error": ("invalid_json", f"line {n} is not JSON: {e}")})
                continue
            if not isinstance(obj, dict):
                items.append({"id": f"line-{n}", "_error": ("invalid_item", f"line {n} is not a JSON object")})
                continue
            obj.setdefault("id", f"line-{n}")
            items.append(obj)
        return items
    return [{"id": name, "text": text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")}]


def analyze_items(analyzer, items, batch_size: int = 64, progress: bool = False):
    """Yield one contract answer (with id) or error object per item, in order."""
    from .model.runtime import AnalyzeError

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc="analyzing", unit="email", file=sys.stderr)
    for k in range(0, len(items), batch_size):
        chunk = items[k:k + batch_size]
        good, out = [], [None] * len(chunk)
        for i, item in enumerate(chunk):
            if "_error" in item:
                code, msg = item["_error"]
                out[i] = {"id": item["id"], "error": {"code": code, "message": msg}}
            elif not isinstance(item.get("text"), str):
                out[i] = {"id": item.get("id"), "error": {"code": "invalid_text",
                                                          "message": "text must be a string"}}
            elif item.get("mode", "compose") not in ("compose", "read"):
                out[i] = {"id": item.get("id"), "error": {
                    "code": "invalid_mode", "message": f"mode must be 'compose' or 'read', got {item.get('mode')!r}"}}
            else:
                good.append(i)
        try:
            answers = analyzer.analyze_batch([chunk[i] for i in good])
            for i, a in zip(good, answers):
                out[i] = {"id": chunk[i].get("id"), **a}
        except AnalyzeError:
            for i in good:  # find the bad one(s) and answer the rest
                try:
                    out[i] = {"id": chunk[i].get("id"), **analyzer.analyze_batch([chunk[i]])[0]}
                except AnalyzeError as e:
                    out[i] = {"id": chunk[i].get("id"), "error": {"code": e.code, "message": e.message}}
        yield from out
        if bar:
            bar.update(len(chunk))
    if bar:
        bar.close()


@main.command()
@click.argument("source")
@click.option("--model", "model_dir", type=click.Path(), default=None, help="model directory")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-")
@click.option("--batch-size", default=64, show_default=True)
def analyze(source, model_dir, output, batch_size):
    """Analyse emails: JSON Lines (id, text), one plain-text email, .eml or mbox; '-' is stdin.

    Writes one JSON line per email in input order (the analyze contract, with "id")."""
    from .model.runtime import Analyzer

    items = read_inputs(source)
    analyzer = Analyzer(model_dir)
    for answer in analyze_items(analyzer, items, batch_size, progress=len(items) > 300):
        output.write(json.dumps(answer, ensure_ascii=False) + "\n")
    output.flush()


# --- evaluate ------------------------------------------------------------------------------

@main.command()
@click.argument("file", type=click.Path(exists=True))
@click.option("--model", "model_dir", type=click.Path(), default=None)
@click.option("--json", "as_json", is_flag=True, help="print the full result as JSON")
@click.option("--predictions", type=click.Path(), default=None, help="also write the predictions here")
def evaluate(file, model_dir, as_json, predictions):
    """Score the model on a GUIDE-format file and print the scorer's table."""
    from . import scoring
    from .corpus import load_jsonl
    from .model.runtime import Analyzer

    gold = load_jsonl(file)
    analyzer = Analyzer(model_dir)
    preds = list(analyze_items(analyzer, gold, progress=len(gold) > 300))
    if predictions:
        with open(predictions, "w", encoding="utf-8") as f:
            for p in preds:
                f.write(json.dumps(p, ensure_ascii=False) + "\n")
    res = scoring.score(gold, [p for p in preds if "error" not in p])
    if as_json:
        click.echo(json.dumps(res, indent=2))
        return
    click.echo(f"model: {analyzer.name} {analyzer.version}")
    click.echo(f"emails: {res['emails']}  missing predictions: {res['missing']}")
    for key in ("email_focus", "email_tone_primary", "sentence_focus", "sentence_tone"):
        t = res[key]
        per = "  ".join(f"{k}={v['f1']:.3f}" for k, v in t["labels"].items())
        click.echo(f"{key:20s} macro-F1 {t['macro_f1']:.3f}  acc {t['accuracy']:.3f}  ({per})")
    for f, v in res["email_tone_flags"].items():
        click.echo(f"email flag {f:12s} P {v['precision']:.3f}  R {v['recall']:.3f}  F1 {v['f1']:.3f}")
    h = res["highlight"]
    click.echo(f"highlight            P {h['precision']:.3f}  R {h['recall']:.3f}  F1 {h['f1']:.3f}")
    click.echo("headline " + " ".join(f"{k}={v:.3f}" for k, v in res["headline"].items()))


# --- train ---------------------------------------------------------------------------------

@main.command()
@click.option("--data", multiple=True, type=click.Path(exists=True),
              help="GUIDE-format training files (default: models/data/corpus.jsonl); when "
                   "fine-tuning, the base corpus mixed in")
@click.option("--extra", multiple=True, type=click.Path(exists=True),
              help="a team export (GUIDE format; other keys such as `pitchlint` are allowed): "
                   "fine-tunes the shipped model on it, unless --from-scratch")
@click.option("--from-scratch", is_flag=True,
              help="with --extra: rebuild from MiniLM on --data plus --extra instead of fine-tuning")
@click.option("--base-model", type=click.Path(exists=True, file_okay=False), default=None,
              help="the model to fine-tune (default: the shipped models/pitchlint-minilm)")
@click.option("--out", type=click.Path(), default=None,
              help="artifact directory (default: models/pitchlint-minilm; when fine-tuning "
                   "models/pitchlint-minilm-team, and never the starting or shipped model's)")
@click.option("--dev", type=click.Path(), default=None,
              help="GUIDE-format file scored for the card and the fine-tune's before/after, "
                   "never trained on (default: ../shared/eval/dev.jsonl)")
@click.option("--epochs", default=None, type=int, help="(default 4; fine-tuning 1)")
@click.option("--base-sample", default=None, type=int,
              help="fine-tuning: base-corpus emails mixed in per epoch (default 800; 0 = all)")
@click.option("--extra-repeat", default=None, type=int,
              help="fine-tuning: times each extra email is seen per epoch (default: about a "
                   "third of each epoch, at most 8)")
@click.option("--seed", default=None, type=int)
@click.option("--version", "version", default="",
              help="model version (default: today's date; fine-tuning: BASE_VERSION+ft.DATE)")
@click.option("--limit", default=0,
              help="train on the first N emails only (smoke runs); fine-tuning: of the base corpus")
def train(data, extra, from_scratch, base_model, out, dev, epochs, base_sample, extra_repeat,
          seed, version, limit):
    """Rebuild the model from models/data/ (seeded, CPU, progress bar with loss and ETA).

    With --extra EXPORT.jsonl (a team's corrected samples) it fine-tunes the shipped model
    instead, in a few minutes: the export's emails (repeated) mixed with a sample of the base
    corpus, one epoch at a lower learning rate, then calibrated as a full run is. It prints dev
    and export figures before and after (a table), and writes them to OUT/finetune_report.json
    and the model card. The export is checked against the GUIDE format first."""
    from .model import artifact
    from .model.train import FINETUNE_REPORT, TrainArgs, TrainInputError, finetune_args, format_report
    from .model.train import train as run

    if base_model and (not extra or from_scratch):
        raise click.UsageError("--base-model is for fine-tuning: give --extra (without --from-scratch)")
    finetuning = bool(extra) and not from_scratch
    if not finetuning and (base_sample is not None or extra_repeat is not None):
        raise click.UsageError("--base-sample and --extra-repeat are for fine-tuning (--extra)")
    args = finetune_args(base_model or artifact.DEFAULT_MODEL_DIR) if finetuning else TrainArgs()
    if data:
        args.data = list(data)
    args.extra = list(extra)
    if out:
        args.out = out
    if dev is not None:
        args.dev = dev
    if epochs:
        args.epochs = epochs
    if base_sample is not None:
        args.base_sample = base_sample
    if extra_repeat is not None:
        args.extra_repeat = extra_repeat
    if seed is not None:
        args.seed = seed
    args.version = version
    args.limit = limit
    try:
        report = run(args, log=lambda m: click.echo(m, err=True))
    except TrainInputError as e:
        raise click.ClickException(str(e)) from None
    if finetuning:
        click.echo(format_report(report))
        click.echo(f"report: {Path(args.out) / FINETUNE_REPORT}")
        return
    click.echo(json.dumps({k: v["headline"] for k, v in report.items() if isinstance(v, dict) and "headline" in v},
                          indent=2))


@main.command()
@click.option("--model", "model_dir", type=click.Path(exists=True), default=None)
def calibrate(model_dir):
    """Re-fit temperatures and thresholds of a trained model and regenerate its card."""
    from .model import artifact
    from .model.train import recalibrate

    report = recalibrate(model_dir or str(artifact.DEFAULT_MODEL_DIR), log=lambda m: click.echo(m, err=True))
    click.echo(json.dumps({k: v["headline"] for k, v in report.items()}, indent=2))


# --- corpus --------------------------------------------------------------------------------

@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def corpus(ctx):
    """Check, build and describe the training corpus (see `pitchlint corpus --help`)."""
    from .corpus import main as corpus_main

    sys.exit(corpus_main(ctx.args or ["--help"]))


def _register_late_commands():
    from .service import cli as service_cli

    service_cli.register(main)


_register_late_commands()

if __name__ == "__main__":
    main()
