"""Cold start of every Lambda function: import time, model load time and package size (issue 7 / 10).

What is measured, and how it mirrors Lambda:

- **Package**: the ServingLayer is built by its own ``layers/serving/Makefile`` (what ``sam build`` runs,
  BuildMethod makefile) into a cache dir under /tmp keyed by the SHA256 of the requirements and the
  Makefile; later runs only refresh the copied ``huracan`` package. A function's own
  ``requirements.txt`` is installed the way SAM's pip builder does (with dependencies, manylinux
  x86_64 wheels for CPython 3.12), unless the function has a ``Makefile`` (template BuildMethod makefile:
  outcome_api installs Chalice without its CLI dependencies): then its ``build-<LogicalId>`` target builds
  the package, as ``sam build`` does. Size = function package (+ its requirements) + layer, unzipped.
  The daily summary also renders the sample report on its built layer in a fresh interpreter (a trimmed
  ReportingLayer that lost a file matplotlib needs fails here, not in Lambda).
- **Import**: ``python -X importtime`` of ``functions/<name>/app.py`` in a fresh subprocess with only
  the function dir, the layer and the runtime's boto3 on ``sys.path`` (Lambda's /var/task, /opt/python,
  /var/runtime), every environment variable the template sets given a dummy value. The interpreter is
  CPython 3.12 when one is found (the layer's wheels and .pyc are for 3.12), else this venv's Python
  with the repository on the path (then the figure is indicative only).
- **Model load**: a model trained on the real FTX month and published with ``model.onnx`` to a folder
  registry; in a fresh interpreter, ``app.model_provider()`` (pointer, signature, hashes, onnxruntime
  session) is timed after the import.

Budget (issue 7): import + model load <= 500 ms, package <= 150 MB, no pandas / scikit-learn imported.
Ends with one JSON line: {"benchmark": "cold_start", "figures": {...}}.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("HURACAN_COLD_START_CACHE", "/tmp/huracan-cold-start"))
LAYER_DIR = ROOT / "layers" / "serving"
FORBIDDEN = ("pandas", "sklearn", "scipy", "lightgbm", "matplotlib", "pyarrow")
RUNS = 3
PIP_PLATFORM = [
    "--implementation", "cp", "--python-version", "3.12", "--only-binary=:all:",
    "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
]  # fmt: skip
DUMMY_ENV = {
    "AWS_REGION": "eu-west-2",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_LAMBDA_FUNCTION_NAME": "cold-start-bench",
    "STAGE": "bench",
    "HURACAN_PROFILE": "seed",
    "SHADOW_TRADES_TABLE": "bench-shadow-trades",
    "TRADES_TABLE": "bench-trades",
    "DECISIONS_TABLE": "bench-decisions",
    "PRICES_TABLE": "bench-prices",
    "IDEMPOTENCY_TABLE": "bench-idempotency",
    "MARKET_STREAM_NAME": "bench-market",
    "DEAD_LETTER_QUEUE_URL": "https://sqs.eu-west-2.amazonaws.com/123456789012/bench-dlq",
    "TIMER_DLQ_URL": "https://sqs.eu-west-2.amazonaws.com/123456789012/bench-timer-dlq",
    "TIMER_STATE_MACHINE_ARN": "arn:aws:states:eu-west-2:123456789012:stateMachine:bench",
    "MODEL_BUCKET": "bench-models",
    "NOTIFICATIONS_TOPIC_ARN": "arn:aws:sns:eu-west-2:123456789012:bench",
    "MODEL_SIGNING_KEY_ID": "00000000-0000-0000-0000-000000000000",
    "HAMILTON_HMAC_SECRET_ARN": "arn:aws:secretsmanager:eu-west-2:123456789012:secret:bench",
    "PRICES_TTL_DAYS": "35",
    "DECISIONS_TTL_DAYS": "400",
    "POWERTOOLS_SERVICE_NAME": "huracan",
    "POWERTOOLS_METRICS_NAMESPACE": "Huracan",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}


def python312() -> str | None:
    """A CPython 3.12 interpreter (Lambda's runtime), if this machine has one."""
    candidates = [os.environ.get("HURACAN_PY312", ""), shutil.which("python3.12") or ""]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        candidates += [str(p / "bin" / "python3.12") for p in sorted(pyenv.glob("3.12*"))]
    for c in candidates:
        if c and Path(c).exists():
            ok = subprocess.run([c, "-c", "import sys; assert sys.version_info[:2] == (3, 12)"], capture_output=True)
            if ok.returncode == 0:
                return c
    return None


def dir_mb(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 1e6


def digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def build_layer(py: str | None, target: str = "build-ServingLayer", requirements: Path | None = None) -> Path:
    """A layer as ``sam build`` makes it (its Makefile target), cached by requirements + Makefile hash."""
    requirements = requirements or LAYER_DIR / "requirements.txt"
    key = digest(requirements, LAYER_DIR / "Makefile") + ("-py312" if py else "-nopyc")
    out = CACHE / f"layer-{target}-{key}"
    python = py or sys.executable
    if not (out / "python").is_dir():
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(
            ["make", "-s", "-f", str(LAYER_DIR / "Makefile"), target, f"ARTIFACTS_DIR={tmp}",
             f"PROJECT_ROOT={ROOT}", f"PYTHON={python}"],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    else:  # the dependencies are cached; the library is copied fresh, as the Makefile does
        library = out / "python" / "huracan"
        shutil.rmtree(library, ignore_errors=True)
        shutil.copytree(ROOT / "huracan", library, ignore=shutil.ignore_patterns("__pycache__", "tests", "*.pyc"))
        if py:
            subprocess.run(
                [py, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(library)],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
    return out


def pip_target(requirements: list[str], name: str) -> Path:
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    out = CACHE / f"{name}-{key}"
    if not out.is_dir():
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check",
             "--target", str(tmp), *PIP_PLATFORM, *requirements],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        tmp.rename(out)
    return out


def lock_pin(package: str) -> str:
    lock = (ROOT / "requirements.lock").read_text()
    m = re.search(rf"^{re.escape(package)}==([^\s;]+)", lock, re.M)
    return f"{package}=={m.group(1)}" if m else package


def function_makefile_build(fn: Path, py: str | None) -> Path | None:
    """The package ``sam build`` makes for a BuildMethod makefile function (its ``build-<LogicalId>``
    target), cached by the hash of the function's files; None for a function SAM builds with pip."""
    makefile = fn / "Makefile"
    if not makefile.is_file():
        return None
    target = re.search(r"^(build-\w+):", makefile.read_text(), re.M)
    if target is None:
        raise RuntimeError(f"{makefile} has no build-<LogicalId> target")
    sources = sorted(f for f in fn.iterdir() if f.is_file())
    out = CACHE / f"fn-{fn.name}-make-{digest(*sources)}{'-py312' if py else '-nopyc'}"
    if not out.is_dir():
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(
            ["make", "-s", "-f", str(makefile), target.group(1), f"ARTIFACTS_DIR={tmp}", f"PYTHON={py or sys.executable}"],
            cwd=fn, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        tmp.rename(out)
    return out


def function_requirements(fn: Path) -> Path | None:
    req = fn / "requirements.txt"
    if not req.is_file():
        return None
    lines = [ln.strip() for ln in req.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return pip_target(lines, f"fn-{fn.name}") if lines else None


def import_run(py: str, path: list[Path], code: str, env: dict[str, str]) -> tuple[dict[str, int], str, float]:
    """Run ``code`` under ``-X importtime``: cumulative microseconds per module, stdout, child CPU ms.

    The CPU time (user + sys of the whole child, interpreter start included) is far less sensitive than
    wall time to other processes competing for the machine's two cores.
    """
    # ``-c`` puts the working directory first on sys.path; run from the repository root, its huracan/ would
    # shadow the layer's byte-compiled copy, so the child starts in an empty folder.
    workdir = CACHE / "empty-cwd"
    workdir.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [py, "-X", "importtime", "-c", code],
        cwd=workdir,
        env={**env, "PYTHONPATH": os.pathsep.join(str(p) for p in path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ms = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3
    if proc.returncode != 0:
        raise RuntimeError(f"import failed:\n{proc.stderr[-3000:]}")
    cumulative: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)", line)
        if m:
            cumulative[m.group(4)] = int(m.group(2))
    return cumulative, proc.stdout, cpu_ms


def publish_model(registry_dir: Path) -> str:
    """Train on the real FTX month, publish with model.onnx to a folder registry (cached)."""
    marker = registry_dir / "model_id.txt"
    if marker.is_file():
        return marker.read_text().strip()
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from huracan.core.bars import BarArrays
    from huracan.core.features import BAR_FEATURES, MODEL_FEATURES, features_history
    from huracan.data import DEFAULT_MONTH, find_data_file, load_bars
    from huracan.learning.train import MetaLabelLearner
    from huracan.registry import Calibration, MetaLabelModel, ModelRegistry
    from huracan.serving import onnx_artifacts

    bars: BarArrays = load_bars(find_data_file(DEFAULT_MONTH))
    feats = features_history(bars)
    rng = np.random.default_rng(0)
    side = rng.choice([-1.0, 1.0], len(feats))
    i15 = BAR_FEATURES.index("ret_15_bps")
    X = np.column_stack(
        [feats, side, side * feats[:, i15], rng.uniform(0.3, 1, len(feats)), rng.integers(0, 2, len(feats))]
    )
    logc = np.log(bars.close)
    y = np.zeros(len(feats))
    y[:-15] = side[:-15] * (logc[15:] - logc[:-15]) > 0
    booster = MetaLabelLearner().fit(X, y, MODEL_FEATURES)  # the nightly job's parameters, 120 rounds
    model = MetaLabelModel.from_lightgbm(booster, calibration=Calibration.sigmoid(-3.0, 1.5))
    shutil.rmtree(registry_dir, ignore_errors=True)
    registry = ModelRegistry(registry_dir, extra_artifacts=onnx_artifacts)
    model_id = registry.register_model(model, code_git_sha="bench", data_snapshot_id="ftx_month", metrics={})
    # the regime detector the nightly job would publish from the same month (served only if it beats the rule)
    from huracan.learning.regime_detector import publish_regime_detector, train_regime_detector

    report = train_regime_detector(bars, history=feats)
    publish_regime_detector(registry, report, code_git_sha="bench", data_snapshot_id="ftx_month")
    print(f"regime detector: {report.detail}")
    marker.write_text(model_id)
    return model_id


LOAD_CODE = """
import importlib.util, json, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[-1] if False else {app!r})
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
t1 = time.perf_counter()
got = app.model_provider()
t2 = time.perf_counter()
regime = app.regime_provider()
t2r = time.perf_counter()
import numpy as np
from huracan.core.features import MODEL_FEATURES
X = np.zeros((100, len(MODEL_FEATURES)))
got[1](X)
t3 = time.perf_counter()
print(json.dumps({{"import_ms": (t1 - t0) * 1e3, "load_ms": (t2 - t1) * 1e3, "first_predict_ms": (t3 - t2r) * 1e3,
                  "regime_load_ms": (t2r - t2) * 1e3, "regime_id": regime[0] if regime else None,
                  "model_id": got[0], "modules": sorted(sys.modules)}}))
"""


RENDER_CODE = """
import json, time
t0 = time.perf_counter()
import app
from huracan.observability.report import PLOT_IDS, render_report
from huracan.observability.sample import sample_summary
t1 = time.perf_counter()
page = render_report(sample_summary("2024-01-03"))
t2 = time.perf_counter()
assert all(f'<figure id="{pid}" class="plot"><svg' in page for pid in PLOT_IDS), "a plot is missing"
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "render_ms": (t2 - t1) * 1e3}))
"""


def render_check(interp: str, path: list[Path], env: dict[str, str], figures: dict[str, float]) -> None:
    """The daily summary's report rendered on its built layer, with matplotlib's cache in a fresh folder as in
    a new Lambda container (/tmp is empty; the font list is rebuilt on first use)."""
    mpl_dir = CACHE / "mplconfig"
    shutil.rmtree(mpl_dir, ignore_errors=True)
    try:
        _, out, _ = import_run(interp, path, RENDER_CODE, {**env, "MPLCONFIGDIR": str(mpl_dir)})
    except RuntimeError as exc:
        print(f"daily_summary render: {exc}")
        figures["daily_summary_render_failed"] = 1
        return
    got = json.loads(out.strip().splitlines()[-1])
    figures["daily_summary_render_ms"] = round(got["render_ms"], 1)
    print(f"{'':18s} sample report rendered on the built layer in {got['render_ms']:.0f} ms (fresh matplotlib cache)")


def main() -> None:
    started = time.perf_counter()
    CACHE.mkdir(parents=True, exist_ok=True)
    py = python312()
    figures: dict[str, float] = {}
    print(f"interpreter: {py or sys.executable} ({'Lambda-like 3.12 + built layer' if py else 'venv fallback'})")
    layer = build_layer(py)
    layer_mb = dir_mb(layer)
    figures["serving_layer_mb"] = round(layer_mb, 1)
    print(f"ServingLayer ({layer.name}): {layer_mb:.1f} MB unzipped")
    runtime = pip_target([lock_pin("boto3")], "runtime-boto3")  # what Lambda's /var/runtime provides
    if py and not (runtime / ".compiled").exists():  # the runtime's own boto3 ships byte-compiled
        subprocess.run([py, "-m", "compileall", "-q", str(runtime)], check=True, stdout=subprocess.DEVNULL)
        (runtime / ".compiled").touch()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(DUMMY_ENV)
    # Lambda's code and layer are read-only: nothing may cache a .pyc that the next run would reuse.
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    reporting = build_layer(py, "build-ReportingLayer", ROOT / "layers" / "reporting" / "requirements.txt")
    figures["reporting_layer_mb"] = round(dir_mb(reporting), 1)
    serving_layer = layer
    for fn in sorted(p.parent for p in (ROOT / "functions").glob("*/app.py")):
        name = fn.name
        # template.yaml: the daily summary runs on the ReportingLayer (matplotlib), the rest on the ServingLayer
        layer = reporting if name == "daily_summary" else serving_layer
        built = function_makefile_build(fn, py)
        code_dir = built or fn  # what /var/task holds
        extra = None if built else function_requirements(fn)
        size = dir_mb(code_dir) + dir_mb(layer) + (dir_mb(extra) if extra else 0.0)
        figures[f"{name}_package_mb"] = round(size, 1)
        if py:
            path = [code_dir, *([extra] if extra else []), layer / "python", runtime]
            interp = py
        else:
            path = [code_dir, ROOT, *([extra] if extra else [])]
            interp = sys.executable
        times: list[float] = []
        cpu: list[float] = []
        forbidden: set[str] = set()
        try:
            for _ in range(RUNS):
                cumulative, _, cpu_ms = import_run(interp, path, "import app", env)
                times.append(cumulative["app"] / 1000)
                cpu.append(cpu_ms)
                forbidden |= {m for m in cumulative if m.split(".")[0] in FORBIDDEN}
        except RuntimeError as exc:
            print(f"{name}: {exc}")
            figures[f"{name}_import_failed"] = 1
            continue
        figures[f"{name}_import_ms"] = round(statistics.median(times), 1)
        figures[f"{name}_process_cpu_ms"] = round(statistics.median(cpu), 1)
        figures[f"{name}_forbidden_imports"] = len({m.split(".")[0] for m in forbidden})
        print(
            f"{name:18s} import {statistics.median(times):7.1f} ms (runs {', '.join(f'{t:.0f}' for t in times)}; "
            f"process CPU {statistics.median(cpu):.0f} ms), "
            f"package {size:6.1f} MB, forbidden modules: {sorted({m.split('.')[0] for m in forbidden}) or 'none'}"
        )
        if name == "daily_summary":
            render_check(interp, path, env, figures)

    layer = serving_layer
    # model load in evaluate_signals, after its import, in fresh interpreters
    registry_dir = CACHE / "registry"
    model_id = publish_model(registry_dir)
    fn = ROOT / "functions" / "evaluate_signals"
    path = [fn, layer / "python", runtime] if py else [fn, ROOT]
    load_env = {**env, "HURACAN_MODEL_PATH": str(registry_dir)}
    code = LOAD_CODE.format(app=str(fn / "app.py"))
    runs = []
    for _ in range(RUNS):
        _, out, cpu_ms = import_run(py or sys.executable, path, code, load_env)
        runs.append({**json.loads(out.strip().splitlines()[-1]), "cpu_ms": cpu_ms})
    assert all(r["model_id"] == model_id for r in runs), "the benchmark must serve the published model"
    load = statistics.median(r["load_ms"] for r in runs)
    total = statistics.median(r["import_ms"] + r["load_ms"] for r in runs)
    figures["model_load_ms"] = round(load, 1)
    if all(r["regime_id"] for r in runs):
        figures["regime_detector_load_ms"] = round(statistics.median(r["regime_load_ms"] for r in runs), 1)
        figures["evaluate_signals_import_plus_both_loads_ms"] = round(
            statistics.median(r["import_ms"] + r["load_ms"] + r["regime_load_ms"] for r in runs), 1
        )
        print(
            f"regime detector load {figures['regime_detector_load_ms']:.1f} ms; import + both loads "
            f"{figures['evaluate_signals_import_plus_both_loads_ms']:.1f} ms"
        )
    else:
        print("regime detector: none served (it did not beat the rule on this month), rule only")
    figures["evaluate_signals_import_plus_load_ms"] = round(total, 1)
    figures["evaluate_signals_import_plus_load_process_cpu_ms"] = round(statistics.median(r["cpu_ms"] for r in runs), 1)
    figures["first_predict_100_ms"] = round(statistics.median(r["first_predict_ms"] for r in runs), 2)
    loaded_forbidden = {m.split(".")[0] for r in runs for m in r["modules"] if m.split(".")[0] in FORBIDDEN}
    figures["evaluate_signals_forbidden_after_load"] = len(loaded_forbidden)
    model_bytes = (registry_dir / "meta_label" / model_id.split(":")[1] / "model.onnx").stat().st_size
    print(
        f"model {model_id[:19]}...: load {load:.1f} ms (pointer + signature + hashes + onnxruntime session; "
        f"model.onnx {model_bytes / 1e3:.0f} kB), import+load {total:.1f} ms, first predict(100) "
        f"{figures['first_predict_100_ms']:.2f} ms"
    )
    load_avg = os.getloadavg()[0]
    figures["load_average_1m"] = round(load_avg, 2)
    print(
        f"budget: import + load <= 500 ms, package <= 150 MB; load average {load_avg:.2f} on {os.cpu_count()} CPUs "
        f"(wall times scale with it); wall {time.perf_counter() - started:.1f} s"
    )
    print(json.dumps({"benchmark": "cold_start", "figures": figures}))


if __name__ == "__main__":
    main()
