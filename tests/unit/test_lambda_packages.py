"""What the trimmed Lambda packages leave out is never needed (issue 10: function + layer <= 150 MB).

The ReportingLayer drops most of fontTools and Pillow's optional extensions (``layers/serving/Makefile``), and
the outcome API ships Chalice without its CLI dependencies (``functions/outcome_api/Makefile``). Each test
runs the real handler module in a fresh interpreter with exactly those files missing, so a change that starts
needing one of them fails here instead of in a Lambda cold start. The venv holds the same pinned versions
the packages are built from (checked first), so the files removed here are the files the build removes.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER_MAKEFILE = ROOT / "layers" / "serving" / "Makefile"
DAILY_APP = ROOT / "functions" / "daily_summary" / "app.py"
API_DIR = ROOT / "functions" / "outcome_api"
# What Lambda's python3.12 runtime provides besides the standard library (/var/runtime).
RUNTIME_DISTRIBUTIONS = ("boto3",)


def _makefile_words(name: str) -> list[str]:
    """The words of a ``NAME := ...`` line of the layer Makefile (continuation lines joined)."""
    text = LAYER_MAKEFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    m = re.search(rf"^{name} := (.*)$", text, re.MULTILINE)
    assert m, f"{name} not found in {LAYER_MAKEFILE}"
    return m.group(1).split()


def _pins(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            out[_canonical(name)] = version.split(";")[0].strip()
    return out


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return Path(spec.origin).parent


def _run(code: str, *args: str, pythonpath: list[Path], extra_env: dict[str, str] | None = None) -> dict[str, object]:
    """``code`` in a fresh interpreter (working directory: an empty folder); its last stdout line as JSON."""
    workdir = Path(os.environ.get("TMPDIR", "/tmp"))
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")}
    env |= {
        "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "HuracanTest",
        **(extra_env or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=workdir, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    got: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return got


# ------------------------------------------------------------------ ReportingLayer (daily summary)


def test_the_venv_has_the_reporting_layer_pins() -> None:
    pins = _pins(ROOT / "layers" / "reporting" / "requirements.txt")
    for dist in ("fonttools", "pillow", "matplotlib"):
        assert importlib.metadata.version(dist) == pins[dist], dist


@pytest.fixture(scope="module")
def trimmed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fontTools and Pillow from the venv, trimmed as the ReportingLayer build trims them."""
    site = tmp_path_factory.mktemp("reporting-site")
    fonttools = _package_dir("fontTools")
    for rel in _makefile_words("REPORTING_FONTTOOLS_KEEP"):
        assert (fonttools / rel).is_file(), f"fontTools {importlib.metadata.version('fonttools')} has no {rel}"
        (site / "fontTools" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(fonttools / rel, site / "fontTools" / rel)
    pil = _package_dir("PIL")
    dropped_ext = _makefile_words("REPORTING_PIL_DROP")
    dropped_libs = _makefile_words("REPORTING_PILLOW_LIBS_DROP")
    for ext in dropped_ext:
        assert list(pil.glob(f"{ext}.*.so")), f"Pillow has no extension {ext}: update REPORTING_PIL_DROP"
    libs = pil.parent / "pillow.libs"  # the manylinux wheel's bundled libraries, found through RPATH $ORIGIN
    for lib in dropped_libs:
        assert list(libs.glob(f"{lib}-*")), f"pillow.libs has no {lib}: update REPORTING_PILLOW_LIBS_DROP"
    shutil.copytree(
        pil, site / "PIL", ignore=shutil.ignore_patterns("__pycache__", *(f"{e}.*.so" for e in dropped_ext))
    )
    shutil.copytree(libs, site / "pillow.libs", ignore=shutil.ignore_patterns(*(f"{lib}-*" for lib in dropped_libs)))
    return site


RENDER = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)  # the handler module with everything it imports
from huracan.observability.insight_aggregator import build_daily_summary
from huracan.observability.report import PLOT_IDS, render_index, render_report
from huracan.observability.sample import sample_summary
import PIL.features
full = render_report(sample_summary("2024-01-03"))  # every section and plot, three days of records
empty = render_report(build_daily_summary("2024-01-04", "2024-01-04T23:00:00Z"))  # every "no data yet" plot
index = render_index([("2024-01-03", "headline a"), ("2024-01-04", "headline b")])
print(json.dumps({
    "plots": [sum(f'<figure id="{p}" class="plot"><svg' in page for page in (full, empty)) for p in PLOT_IDS],
    "index_days": index.count("/index.html"),
    "missing": [m for m in ("fontTools.ttLib", "fontTools.subset", "PIL._imagingft", "PIL._avif")
                if importlib.util.find_spec(m) is None],
    "codecs": [PIL.features.check(f) for f in ("avif", "webp", "freetype2", "littlecms2")],
    "files": {n: getattr(m, "__file__", None) for n, m in sys.modules.items() if n.split(".")[0] in ("fontTools", "PIL")},
}))
"""


def test_daily_summary_renders_its_report_without_what_the_reporting_layer_drops(
    trimmed_site: Path, tmp_path: Path
) -> None:
    # Given the trimmed fontTools / Pillow first on the path and an empty matplotlib cache (a new container)
    # When the handler module is imported and a full report, an empty one and the index are rendered
    got = _run(
        RENDER,
        str(DAILY_APP),
        pythonpath=[trimmed_site, ROOT],
        extra_env={"MPLCONFIGDIR": str(tmp_path / "mpl")},
    )
    # Then the trim was in force (the dropped modules cannot be found; what loaded came from the trimmed copy)
    assert got["missing"] == ["fontTools.ttLib", "fontTools.subset", "PIL._imagingft", "PIL._avif"]
    assert got["codecs"] == [False, False, False, False]
    files = got["files"]
    assert isinstance(files, dict) and files
    assert all(f is None or str(f).startswith(str(trimmed_site)) for f in files.values()), files
    # And every plot of both pages was drawn, and the index lists both days
    assert got["plots"] == [2] * 7
    assert got["index_days"] == 2


# ------------------------------------------------------------------ OutcomeApiFunction (Chalice --no-deps)


def _closure(roots: list[str]) -> set[str]:
    """Distributions ``roots`` need when installed, recursively (extras left out)."""
    seen: set[str] = set()
    todo = [_canonical(r) for r in roots]
    while todo:
        dist = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            requires = importlib.metadata.requires(dist) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for req in requires:
            if "extra ==" not in req:
                todo.append(_canonical(re.split(r"[<>=!~;\[ (]", req, maxsplit=1)[0]))
    return seen


def _chalice_only_modules() -> set[str]:
    """Top-level modules of Chalice's dependencies that neither the runtime nor the ServingLayer provides."""
    serving = list(_pins(ROOT / "layers" / "serving" / "requirements.txt"))
    chalice_only = _closure(["chalice"]) - _closure([*serving, *RUNTIME_DISTRIBUTIONS]) - {"chalice"}
    return {
        module
        for module, dists in importlib.metadata.packages_distributions().items()
        if any(_canonical(d) in chalice_only for d in dists)
    }


def test_the_outcome_api_pins_chalice_once_as_the_lock_does() -> None:
    pins = _pins(API_DIR / "requirements.txt")
    assert list(pins) == ["chalice"]
    assert pins == {"chalice": _pins(ROOT / "requirements.lock")["chalice"]}
    assert importlib.metadata.version("chalice") == pins["chalice"]


def _lazy_imports(package: Path) -> list[str]:
    """Modules the API imports inside functions (on a request rather than at import)."""
    out: list[str] = []
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                        out.append(node.module)
                    elif isinstance(node, ast.Import):
                        out += [a.name for a in node.names]
    return sorted(set(out))


SERVE = """
import importlib, importlib.abc, importlib.util, json, sys
blocked = set(json.loads(sys.argv[2]))

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"{name} is not in the OutcomeApiFunction package", name=name)
        return None

for name in [n for n in sys.modules if n.split(".")[0] in blocked]:  # e.g. a .pth hook at start-up
    del sys.modules[name]
sys.meta_path.insert(0, Blocked())
try:
    import yaml  # noqa: F401  (a Chalice CLI dependency: proves the blocker is in force)
    probe = "imported"
except ImportError:
    probe = "blocked"

spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
for module in json.loads(sys.argv[3]):
    importlib.import_module(module)

from huracan.api import handlers
from huracan.api.auth import MemoryReplayGuard, sign_headers
from huracan.api.service import LatestModelReader, OutcomeService
from huracan.registry import ModelRegistry

NOW = 1709294400.0

class Store:
    def __init__(self):
        self.rows = {}
    def create(self, attributes):
        self.rows[attributes["trade_id"]] = dict(attributes)
    def get(self, trade_id):
        return None

store = Store()
handlers.configure(handlers.ApiContext(
    outcomes=OutcomeService(store),
    latest=LatestModelReader(lambda: ModelRegistry(base_path=sys.argv[4])),
    key=lambda refresh: b"package-test-key",
    replay_guard=MemoryReplayGuard(lambda: NOW),
    clock=lambda: NOW,
))

def event(method, path, body, headers, query=None):
    return {
        "resource": path, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None, "body": body, "isBase64Encoded": False,
        "requestContext": {"resourcePath": path, "httpMethod": method, "stage": "api", "requestId": "r1",
                           "identity": {"sourceIp": "127.0.0.1"}},
    }

body = json.dumps({"trade_id": "live_pkg_1", "model_id": "sha256:" + "ab" * 32, "features": {"ret_1": 0.001},
                   "outcome": "WIN", "pnl_bps": 13.2, "duration_sec": 480})
signed = {"Content-Type": "application/json", **sign_headers(b"package-test-key", body.encode(), NOW)}
answers = [
    app.app(event("POST", "/api/trade_outcome", body, signed), None),
    app.app(event("POST", "/api/trade_outcome", body, {"Content-Type": "application/json"}), None),
    app.app(event("POST", "/api/trade_outcome", "x", {"Content-Type": "text/plain"}), None),
    app.app(event("GET", "/api/models/latest", None, {}, {"name": "meta_label"}), None),
]
print(json.dumps({
    "probe": probe,
    "status": [a["statusCode"] for a in answers],
    "stored": sorted(store.rows),
    "chalice_modules": sorted(n for n in sys.modules if n.split(".")[0] == "chalice"),
}))
"""


def test_outcome_api_serves_requests_without_chalices_cli_dependencies(tmp_path: Path) -> None:
    # Given every module of a Chalice-only dependency blocked (what --no-deps leaves out of the package)
    blocked = _chalice_only_modules()
    assert {"yaml", "click", "pip", "setuptools", "inquirer"} <= blocked
    assert not blocked & {"botocore", "boto3", "jmespath", "dateutil", "urllib3", "six", "chalice", "huracan"}
    lazy = _lazy_imports(ROOT / "huracan" / "api")
    assert lazy  # handlers imports the S3/KMS adapters on the first model request
    # When the app module and the modules the API imports lazily load, and four requests go through the app
    got = _run(
        SERVE,
        str(API_DIR / "app.py"),
        json.dumps(sorted(blocked)),
        json.dumps(lazy),
        str(tmp_path / "registry"),
        pythonpath=[ROOT],
    )
    # Then the blocker was in force, and the answers are the API's own: created, unsigned, wrong media type,
    # nothing published (none is a 500 from a missing module)
    assert got["probe"] == "blocked"
    assert got["status"] == [201, 401, 415, 404]
    assert got["stored"] == ["live_pkg_1"]
    # And only chalice.app ran: the package needs nothing else of Chalice either
    assert got["chalice_modules"] == ["chalice", "chalice.app"]
