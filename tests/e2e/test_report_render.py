"""The daily report rendered by a real browser: headless Chromium loads the page with no console errors,
and every plot is in the rendered DOM with drawn content. A screenshot is kept for people to look at.

Chromium is Debian's package (``apt-get install -y chromium``); the browser runs with networking
features off and a throw-away profile, on a ``file://`` URL, so nothing leaves the machine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from huracan.observability.report import PLOT_IDS, write_report
from huracan.observability.sample import sample_summary

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = Path("/tmp/huracan_report_screenshot.png")
DAY = "2024-01-03"


def _chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
        "--enable-logging=stderr", "--v=0", *extra, url,
    ]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _console_errors(stderr: str) -> list[str]:
    """Chromium prints page console messages as ``CONSOLE(line)``/``console.error`` log lines."""
    return [ln for ln in stderr.splitlines() if re.search(r"CONSOLE|Uncaught|console\.(error|warn)", ln)]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: apt-get install -y chromium")
    out = tmp_path_factory.mktemp("reports")
    page = write_report(out, sample_summary(DAY))
    proc = _chromium(page.as_uri(), tmp_path_factory.mktemp("profile"), "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return page, proc.stdout, proc.stderr


def test_console_capture_detects_an_error(tmp_path: Path) -> None:
    # Given a page that logs an error, the capture used below must see it (else "no errors" means nothing)
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom-canary')</script></body></html>")
    proc = _chromium(bad.as_uri(), tmp_path / "profile", "--dump-dom")
    assert any("boom-canary" in ln for ln in _console_errors(proc.stderr))


def test_report_renders_without_console_errors(rendered: tuple[Path, str, str]) -> None:
    _, dom, stderr = rendered
    assert _console_errors(stderr) == []
    assert "<h1>Huracan Engine — daily summary 2024-01-03</h1>" in dom


def test_every_plot_is_present_and_drawn(rendered: tuple[Path, str, str]) -> None:
    _, dom, _ = rendered
    for pid in PLOT_IDS:
        m = re.search(rf'<figure id="{pid}" class="plot">(.*?)</figure>', dom, re.S)
        assert m is not None, f"{pid} missing from the rendered DOM"
        body = m.group(1)
        assert "<svg" in body and body.count("<path") >= 3, f"{pid} has no drawing"
        assert "no data yet" not in body, f"{pid} rendered empty for a day with data"
    assert 'id="metrics-table"' in dom and 'id="narrative"' in dom


def test_screenshot(rendered: tuple[Path, str, str], tmp_path: Path) -> None:
    page, _, _ = rendered
    proc = _chromium(page.as_uri(), tmp_path / "profile", "--window-size=1200,3000", f"--screenshot={SCREENSHOT}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert SCREENSHOT.stat().st_size > 50_000
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
