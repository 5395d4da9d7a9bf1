"""The analyzer inside the app: loaded once per process, before the first request."""
from __future__ import annotations

import threading

from flask import current_app

from .errors import APIError

_lock = threading.Lock()


def _load(app):
    # PITCHLINT_COMPUTE=onnx: the ONNX export on ONNX Runtime (model/onnx_runtime.py).
    from ..model.onnx_runtime import load_analyzer

    from . import metrics

    an = load_analyzer(app.config.get("MODEL_DIR"), cache_size=app.config["CACHE_SIZE"],
                       threads=app.config.get("TORCH_THREADS") or None)
    metrics.model_loaded(an)
    return an


def get_analyzer():
    app = current_app
    an = app.extensions.get("pitchlint_analyzer")
    if an is not None:
        return an
    with _lock:
        an = app.extensions.get("pitchlint_analyzer")
        if an is None:
            try:
                an = _load(app)
            except FileNotFoundError as e:
                raise APIError(503, "model_not_ready", str(e)) from None
            app.extensions["pitchlint_analyzer"] = an
    return an


def init_app(app) -> None:
    app.extensions["pitchlint_analyzer"] = _load(app) if app.config.get("LOAD_MODEL_AT_START") else None


def model_identity() -> dict | None:
    """The model's name and version for pages that describe the service: the loaded analyzer's,
    or its config.json when no request has loaded it yet (a page does not load the model).
    None when there is no model where the service looks."""
    an = current_app.extensions.get("pitchlint_analyzer")
    if an is not None:
        return {"name": an.name, "version": an.version}
    import json
    from pathlib import Path

    from ..model.artifact import DEFAULT_MODEL_DIR

    try:
        cfg = json.loads((Path(current_app.config.get("MODEL_DIR") or DEFAULT_MODEL_DIR) / "config.json").read_text())
        return {"name": cfg["name"], "version": cfg["version"]}
    except (OSError, ValueError, KeyError):
        return None
