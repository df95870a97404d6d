"""``huracan feed`` from another shell while a run holds the embedded stack, as the README and the demo say.

The emulator enforces IAM, so it knows only its own users' keys: the demo prints a line with the local platform
user's keys. That line works from a fresh shell; without the keys the answer is one sentence, not a traceback.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import subprocess
import sys
from pathlib import Path

from huracan.local.demo import _watch_line
from huracan.local.runtime import LocalRuntime

REPO = Path(__file__).resolve().parents[2]


def _fresh_env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp / "none"), **extra)
    return env


def test_the_printed_watch_line_works_from_a_fresh_shell(tmp_path: Path) -> None:
    with (
        contextlib.redirect_stdout(io.StringIO()),
        LocalRuntime(parameters={"HuracanProfile": "demo"}, skip_schedules={"IngestMarketFunctionEveryMinute"}) as rt,
    ):
        line = _watch_line(rt)
        words = shlex.split(line.split(": ", 1)[1])
        keys = dict(w.split("=", 1) for w in words if "=" in w and w.startswith("AWS_"))
        command = [w for w in words if not w.startswith("AWS_")]
        assert command[:2] == ["huracan", "feed"] and set(keys) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
        argv = [sys.executable, "-m", "huracan.cli", *command[1:], "--once"]
        ok = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=_fresh_env(tmp_path, keys), timeout=120)
        denied = subprocess.run(
            argv, capture_output=True, text=True, cwd=REPO, env=_fresh_env(tmp_path, {}), timeout=120
        )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert denied.returncode == 2 and "Traceback" not in denied.stderr
    assert "does not know these AWS credentials" in denied.stderr
