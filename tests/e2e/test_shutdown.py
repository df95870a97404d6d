"""Servers and threads stop when the command ends: normally, on an error, and on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from huracan.local.lambdas import LambdaSimpleBackend
from huracan.local.runtime import LocalRuntime

REPO = Path(__file__).resolve().parents[2]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_an_error_inside_the_runtime_stops_everything_it_started() -> None:
    invoke_before = LambdaSimpleBackend.invoke
    env_before = os.environ.get("AWS_ENDPOINT_URL")
    threads_before = {t.name for t in threading.enumerate()}
    rt = LocalRuntime(serve_api=True)
    with pytest.raises(RuntimeError, match="boom"), rt:
        assert _port_open(rt.aws.port) and _port_open(rt.api.port)
        api_port = rt.api.port
        raise RuntimeError("boom")
    assert not _port_open(rt.aws.port)
    assert not _port_open(api_port)
    assert LambdaSimpleBackend.invoke is invoke_before
    assert os.environ.get("AWS_ENDPOINT_URL") == env_before
    time.sleep(0.2)
    leftover = {t.name for t in threading.enumerate() if t.is_alive()} - threads_before
    assert not {n for n in leftover if "outcome-api" in n}


@pytest.mark.slow
def test_ctrl_c_during_the_demo_stops_the_servers() -> None:
    # the child gets Python's own Ctrl-C handler whatever this process inherited: a test run started as a
    # background job (make test runs tests/e2e beside the rest) has SIGINT ignored, and so would the demo
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "sys.argv[0] = 'huracan'; runpy.run_module('huracan.cli', run_name='__main__')",
            "demo",
            "--days",
            "3",
            "--no-progress",
            "--report-dir",
            "/tmp/huracan-sigint",
            "--workspace",
            "/tmp/huracan-sigint/run",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    port = None
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while port is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    assert port is not None, "the demo did not print its endpoint"
    time.sleep(2.0)  # mid-replay
    assert _port_open(port)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out[-2000:]
    assert "interrupted" in out
    assert not _port_open(port)
