"""What `pitchlint serve` checks before gunicorn starts: a service that can't work fails at once
with one line naming the problem (exit status 1, no traceback), instead of workers that fail
to boot one after another.

- the model folder: config.json, tokenizer.json and weights.safetensors present and whole
  (the weights' header read and its sizes checked against the file; torch is not imported
  here, so the master stays small and forks cleanly);
- the database: reachable with PITCHLINT_DATABASE_URL, and migrated;
- the secret key: readable (PITCHLINT_SECRET_KEY, or the instance folder's secret_key).
"""
from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path


class StartupError(SystemExit):
    """One line for the operator; exit status 1."""

    def __init__(self, message: str):
        super().__init__(f"pitchlint: {message}")


def model_dir(configured: str | None) -> Path:
    from ..model import artifact

    return Path(configured or artifact.DEFAULT_MODEL_DIR)


def check_model(path: Path) -> None:
    """StartupError when the model folder is missing, incomplete or damaged."""
    hint = "set PITCHLINT_MODEL_DIR to a model folder, or rebuild it with `pitchlint train`"
    if not path.is_dir():
        raise StartupError(f"no model folder at {path}; {hint}")
    for name in ("config.json", "tokenizer.json", "weights.safetensors"):
        if not (path / name).is_file():
            raise StartupError(f"the model at {path} has no {name}; {hint}")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        missing = [k for k in ("name", "version", "network") if k not in config]
    except (OSError, ValueError) as e:
        raise StartupError(f"the model's config.json at {path} can't be read ({_why(e)}); {hint}") from None
    if missing:
        raise StartupError(f"the model's config.json at {path} lacks {', '.join(missing)}; {hint}")
    try:
        json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StartupError(f"the model's tokenizer.json at {path} can't be read ({_why(e)}); {hint}") from None
    problem = _weights_problem(path / "weights.safetensors")
    if problem:
        raise StartupError(f"the model's weights.safetensors at {path} is damaged ({problem}); {hint}")


def _weights_problem(path: Path) -> str | None:
    """Why a safetensors file can't be whole (its header and the sizes it states), or None."""
    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return f"{size} bytes, shorter than a header"
            (length,) = struct.unpack("<Q", head)
            if length > size - 8:
                return "its header runs past the end of the file"
            header = json.loads(f.read(length))
    except (OSError, ValueError) as e:
        return f"its header can't be read: {_why(e)}"
    if not isinstance(header, dict):
        return "its header is not a table of tensors"
    end = max((t["data_offsets"][1] for k, t in header.items()
               if k != "__metadata__" and isinstance(t, dict) and "data_offsets" in t), default=0)
    if 8 + length + end != size:
        return f"{size:,} bytes where its header needs {8 + length + end:,}"
    return None


def _why(e: Exception) -> str:
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return text[:160]


def database_problem(e: Exception, url: str | None) -> str:
    from sqlalchemy.engine import make_url

    where = "the SQLite database in the instance folder"
    if url:
        try:
            where = make_url(url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - an unparsable URL is itself the problem
            return (f"PITCHLINT_DATABASE_URL is not a database URL ({type(e).__name__}); use one "
                    "such as postgresql+psycopg://user@host/db")
    orig = getattr(e, "orig", None) or e
    lines = [l.strip() for l in str(orig).splitlines() if l.strip()]
    detail = lines[0] if lines else type(orig).__name__
    return (f"can't use the database at {where} ({detail[:200]}); check PITCHLINT_DATABASE_URL "
            "and that the database server is running")


def prepare(make_app) -> None:
    """Everything `pitchlint serve` checks and sets up before gunicorn starts. `make_app` builds
    the app without the model (which migrates the database).

    The checks run in a forked child: the master then imports neither the app nor its drivers,
    so each gevent worker imports them after gevent has patched the standard library (psycopg
    picks its cooperative wait functions at import; ssl must be patched before use)."""
    _metrics_dir()
    pid = os.fork()
    if pid == 0:  # the child: check, print one line if something is wrong, and leave
        code = 0
        try:
            check(make_app)
        except SystemExit as e:
            code = 1
            if e.code not in (None, 0, 1):
                print(e.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001 - an unforeseen failure still gets its traceback
            import traceback

            traceback.print_exc()
            code = 2
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(code if code > 0 else 1)


def _metrics_dir() -> None:
    """A fresh folder for the workers' metrics (metrics.py), set before any worker starts."""
    import tempfile

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:  # the operator's: emptied of a previous run's files
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pitchlint-metrics-")


def check(make_app) -> None:
    """StartupError naming the first thing that can't be used: model, database, secret key."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    model = model_dir(os.environ.get("PITCHLINT_MODEL_DIR") or None)
    check_model(model)
    check_onnx_export(model)
    from ..model.alone import alone_mode

    try:
        alone_mode()
    except ValueError as e:
        raise StartupError(str(e)) from None
    url = os.environ.get("PITCHLINT_DATABASE_URL") or None
    try:
        make_app()
    except (ArgumentError, SQLAlchemyError) as e:
        raise StartupError(database_problem(e, url)) from None
    except SecretKeyError as e:
        raise StartupError(str(e)) from None
    except ImportError as e:  # a URL naming a driver that is not installed
        if url:
            raise StartupError(database_problem(e, url)) from None
        raise


def check_onnx_export(model: Path) -> None:
    """With PITCHLINT_COMPUTE=onnx: StartupError when the ONNX export is missing, damaged or made
    from another version of the model."""
    from ..model.onnx_runtime import wants_onnx

    if not wants_onnx():
        return
    from ..model.onnx_export import StaleExport, check_export, default_export_dir

    try:
        manifest = check_export(os.environ.get("PITCHLINT_ONNX_DIR") or default_export_dir(model), model)
    except StaleExport as e:
        raise StartupError(f"PITCHLINT_COMPUTE=onnx: {e}") from None
    from ..model.onnx_runtime import Int8KernelsSaturate, check_int8_kernels

    try:
        check_int8_kernels(manifest)
    except Int8KernelsSaturate as e:
        raise StartupError(f"PITCHLINT_COMPUTE=onnx: {e}") from None
    from ..model.onnx_runtime import spin_mode

    try:
        spin_mode()
    except ValueError as e:
        raise StartupError(str(e)) from None


class SecretKeyError(RuntimeError):
    """The session-signing key can't be read."""


def read_secret_key(path: Path) -> str:
    """The instance folder's secret key, or SecretKeyError saying why not."""
    hint = "fix or delete it (a new one is made at start-up), or set PITCHLINT_SECRET_KEY"
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else "not UTF-8 text"
        raise SecretKeyError(f"can't read the secret key at {path} ({why}); {hint}") from None
