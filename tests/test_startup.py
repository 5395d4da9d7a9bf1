"""What `pitchlint serve` checks before it starts (service/startup.py); the real command's
one-line failures are in tests/faults/test_startup_failures.py."""
from __future__ import annotations

import shutil

import pytest

from pitchlint.service.startup import (SecretKeyError, StartupError, check_model, model_dir,
                                       read_secret_key)


@pytest.fixture
def model_copy(tmp_path):
    src = model_dir(None)
    dst = tmp_path / "model"
    dst.mkdir()
    for name in ("config.json", "tokenizer.json", "weights.safetensors"):
        shutil.copy(src / name, dst / name)
    return dst


def message(e) -> str:
    return str(e.value.code)


def test_the_shipped_model_passes(model_copy):
    check_model(model_copy)


def test_a_missing_or_incomplete_model_folder_is_named(tmp_path, model_copy):
    with pytest.raises(StartupError) as e:
        check_model(tmp_path / "nowhere")
    assert message(e).startswith("pitchlint: no model folder at ") and "PITCHLINT_MODEL_DIR" in message(e)
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(StartupError) as e:
        check_model(model_copy)
    assert "has no tokenizer.json" in message(e)


def test_damaged_model_files_are_named(model_copy):
    weights = model_copy / "weights.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])  # a copy cut short
    with pytest.raises(StartupError) as e:
        check_model(model_copy)
    assert "weights.safetensors" in message(e) and "damaged" in message(e)
    weights.write_bytes(b"\x00" * 4)
    with pytest.raises(StartupError):
        check_model(model_copy)
    weights.write_bytes(data)
    (model_copy / "config.json").write_text('{"name": "x"')
    with pytest.raises(StartupError) as e:
        check_model(model_copy)
    assert "config.json" in message(e) and "\n" not in message(e)


def test_an_unreadable_secret_key_is_named(tmp_path):
    path = tmp_path / "secret_key"
    path.mkdir()
    with pytest.raises(SecretKeyError) as e:
        read_secret_key(path)
    assert str(path) in str(e.value) and "PITCHLINT_SECRET_KEY" in str(e.value)
    path.rmdir()
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SecretKeyError) as e:
        read_secret_key(path)
    assert "not UTF-8 text" in str(e.value)
