"""`pitchlint onnx`: export the model to ONNX, check it, and measure its parity."""
from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def onnx():
    """The model as ONNX: for `PITCHLINT_COMPUTE=onnx` and the extension's on-device mode."""


@onnx.command("export")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="the model directory (default: models/pitchlint-minilm)")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="where to write the export (default: MODEL-onnx beside the model)")
@click.option("--encoder", type=click.Choice(["a8", "w8", "int8", "int8-static"]), default="a8", show_default=True,
              help="a8: int8 products, each token's activations quantized on their own (what ships: "
                   "fast, independent of the batch, 99%+ label parity); w8: int8 weights, fp32 "
                   "arithmetic (exact parity, slower); int8: MatMulNBits, activations quantized per "
                   "row and block; int8-static: activation scales fitted on the corpus (QDQ). The "
                   "last two are for comparison: see README")
@click.option("--calibration-emails", type=click.IntRange(10), default=400, show_default=True,
              help="int8-static: training-split emails whose sentences fit the activation scales")
@click.option("--ship/--no-ship", default=None,
              help="record the export in manifest/extension/model.json for the extension's build, "
                   "raising its version when the model changed, and write the extension's test "
                   "answers (default: when exporting the shipped model to its default place)")
def export_cmd(model_dir, out, encoder, calibration_emails, ship):
    """Write the model (encoder, context layers, heads) as ONNX with its tokenizer and manifest.

    Re-run it after every `pitchlint train`: then `node addin/extension/build.mjs` ships the new
    model with a new extension version, and `PITCHLINT_COMPUTE=onnx` serves it."""
    from . import artifact
    from .onnx_export import default_export_dir, export, lock_for_extension, write_device_samples

    model_dir = Path(model_dir or artifact.DEFAULT_MODEL_DIR).resolve()
    out_dir = Path(out or default_export_dir(model_dir)).resolve()
    log = lambda m: click.echo(m, err=True)  # noqa: E731
    shipped = model_dir == artifact.DEFAULT_MODEL_DIR.resolve() and out_dir == default_export_dir(model_dir)
    ship = shipped if ship is None else ship
    if ship and encoder == "a8":
        from .onnx_runtime import int8_products_are_exact

        if not int8_products_are_exact():
            # the extension's test answers come from running the a8 export here (write_device_samples)
            raise click.ClickException(
                "this CPU's int8 products saturate (no VNNI), so it cannot compute the answers the "
                "extension's a8 model is tested against: ship from a CPU with VNNI, or add --no-ship, or "
                "export --encoder w8")
    try:
        export(model_dir, out_dir, encoder=encoder, calibration_emails=calibration_emails, log=log)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    if ship:
        if encoder not in ("a8", "w8"):
            raise click.ClickException(f"the extension ships the a8 or w8 encoder; --encoder {encoder} is "
                                       "for comparison (add --no-ship)")
        lock_for_extension(out_dir, log=log)
        write_device_samples(out_dir, model_dir, log=log)
    click.echo(str(out_dir))


@onnx.command("check")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None)
@click.option("--export", "export_dir", type=click.Path(file_okay=False), default=None)
def check_cmd(model_dir, export_dir):
    """Check that the export's files are intact and made from the model as it is now."""
    from . import artifact
    from .onnx_export import StaleExport, check_export, default_export_dir

    model_dir = Path(model_dir or artifact.DEFAULT_MODEL_DIR)
    export_dir = Path(export_dir or default_export_dir(model_dir))
    try:
        m = check_export(export_dir, model_dir)
    except StaleExport as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{export_dir}: {m['name']} {m['version']}, encoder {m['encoder']['variant']}, up to date")


@onnx.command("parity")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None)
@click.option("--export", "export_dir", type=click.Path(file_okay=False), default=None)
@click.option("--dev", type=click.Path(), default=None,
              help="a GUIDE-format file (default: ../shared/eval/dev.jsonl, skipped if absent)")
@click.option("--reference", type=click.Choice(["auto", "bf16", "int8", "fp32"]), default="auto", show_default=True,
              help="the PyTorch runtime's arithmetic to compare with (auto: what the service runs)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def parity_cmd(model_dir, export_dir, dev, reference, as_json):
    """Share of sentence and email labels identical to the PyTorch runtime, and the largest score
    difference, on dev.jsonl and the corpus's validation split (target: 99%)."""
    from .onnx_export import StaleExport
    from .onnx_parity import format_report, parity_report
    from .onnx_runtime import Int8KernelsSaturate
    from .train import DEV_FILE

    try:
        report = parity_report(model_dir, export_dir, dev or DEV_FILE, reference,
                               log=lambda m: click.echo(m, err=True))
    except (StaleExport, Int8KernelsSaturate) as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))
    if not report["holds"]:
        raise SystemExit(1)


def register(main) -> None:
    main.add_command(onnx)
