"""`pitchlint serve` that can't work fails at start-up with one line naming the problem, exit
status 1 and no traceback: the model folder missing or damaged, the database URL wrong, the
secret key unreadable."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import base_env, free_port, pitchlint_command

pytestmark = pytest.mark.faults


def serve(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(pitchlint_command() + ["serve", "--port", str(free_port())], env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def damaged_model(tmp_path):
    from pitchlint.service.startup import model_dir

    dst = tmp_path / "damaged-model"
    shutil.copytree(model_dir(None), dst)
    weights = dst / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1_000_000])
    return dst


CASES = {
    "model folder missing": (lambda tmp: {"PITCHLINT_MODEL_DIR": str(tmp / "no-such-model")},
                             "no model folder at"),
    "model weights cut short": (lambda tmp: {"PITCHLINT_MODEL_DIR": str(damaged_model(tmp))},
                                "weights.safetensors"),
    "database unreachable": (lambda tmp: {"PITCHLINT_DATABASE_URL":
                                          "postgresql+psycopg://postgres@127.0.0.1:1/test"},
                             "can't use the database at postgresql+psycopg://postgres@127.0.0.1:1/test"),
    "database URL not a URL": (lambda tmp: {"PITCHLINT_DATABASE_URL": "postgres//oops"},
                               "PITCHLINT_DATABASE_URL"),
    "secret key unreadable": (lambda tmp: (tmp / "instance" / "secret_key").mkdir(parents=True) or
                              {"PITCHLINT_SECRET_KEY": ""}, "can't read the secret key at"),
}


@pytest.fixture(scope="module")
def attempts(tmp_path_factory):
    """Every case's `pitchlint serve`, run side by side (each fails in its start-up checks)."""
    from concurrent.futures import ThreadPoolExecutor

    def attempt(case):
        tmp = tmp_path_factory.mktemp("startup")
        make_env, _ = CASES[case]
        env = base_env(tmp)
        env.update(make_env(tmp))
        if not env.get("PITCHLINT_SECRET_KEY"):
            env.pop("PITCHLINT_SECRET_KEY", None)
        return serve(env)

    with ThreadPoolExecutor(len(CASES)) as pool:
        return dict(zip(CASES, pool.map(attempt, CASES)))


@pytest.mark.parametrize("case", list(CASES))
def test_start_up_fails_in_one_line(case, attempts):
    done, expected = attempts[case], CASES[case][1]
    lines = [l for l in (done.stdout + done.stderr).splitlines() if l.strip()]
    print(f"\n[fault] start-up, {case}: exit {done.returncode}: {lines}")
    assert done.returncode == 1
    assert len(lines) == 1 and lines[0].startswith("pitchlint: ") and expected in lines[0], lines
    assert "Traceback" not in done.stderr
