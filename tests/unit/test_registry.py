"""ModelRegistry on a local folder: publish, load, verify, refuse tampering, candidates, promote/rollback, export.

Models are small LightGBM boosters trained on the real FTX month (helpers in test_registry_model.py).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import pickle
import re
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from huracan.core.bars import BarArrays
from huracan.registry import (
    Calibration,
    LocalKeySigner,
    MetaLabelGate,
    MetaLabelModel,
    ModelNotFoundError,
    ModelRegistry,
    ModelVerificationError,
    PublicKeyVerifier,
)
from huracan.registry.cli import add_models_parser, run_models
from huracan.registry.store import LocalStore
from tests.unit.test_registry_model import FEATURES, make_dataset, train_booster

T0 = "2022-02-01T00:00:00Z"


@pytest.fixture(scope="module")
def data(ftx_month: BarArrays) -> tuple[np.ndarray, np.ndarray]:
    return make_dataset(ftx_month)


@pytest.fixture(scope="module")
def models(data) -> dict[str, MetaLabelModel]:
    """Three different models: A (champion), B (its successor), C (a calibrated challenger)."""
    X, y = data
    a = MetaLabelModel.from_lightgbm(train_booster(X[:5000], y[:5000], seed=1))
    b = MetaLabelModel.from_lightgbm(train_booster(X[:7000], y[:7000], seed=2))
    c = MetaLabelModel.from_lightgbm(
        train_booster(X[:7000], y[:7000], seed=3), calibration=Calibration.sigmoid(-2.5, 1.2)
    )
    return {"A": a, "B": b, "C": c}


def register(reg: ModelRegistry, model, day: int = 1, **kw) -> str:
    kw.setdefault("metrics", {"auc": 0.55, "ece": 0.03})
    return reg.register_model(
        model,
        code_git_sha="abc123",
        data_snapshot_id=f"snapshot_2022-02-0{day}",
        created_at=f"2022-02-0{day}T00:00:00Z",
        **kw,
    )


def version_dir(root: Path, model_id: str, name: str = "meta_label") -> Path:
    return root / name / model_id.removeprefix("sha256:")


def flip_byte(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if at is None else at
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


# --- round trip -------------------------------------------------------------------------------------


def test_register_load_verify_round_trip(tmp_path, models, data):
    X, _ = data
    writer = ModelRegistry(tmp_path)
    model_id = register(writer, models["C"], notes="first", windows={"train": ["2022-01-01T00:00:00Z", T0]})
    assert model_id == models["C"].model_id

    reader = ModelRegistry(tmp_path)
    loaded_id, loaded = reader.load_latest_model("meta_label")
    assert loaded_id == model_id == loaded.model_id
    assert reader.verify_model(model_id)
    np.testing.assert_array_equal(loaded.predict_proba(X[7000:]), models["C"].predict_proba(X[7000:]))
    assert loaded.calibration == models["C"].calibration
    assert loaded.metadata["version"] == 1 and loaded.metadata["created_at"] == T0

    folder = version_dir(tmp_path, model_id)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [
            "model.lgb.txt",
            "calibration.json",
            "features.json",
            "manifest.json",
            "manifest.sig",
            "model.sig",  # the OpenSSF Model Signing bundle over every other file
            "meta_label_v1.pkl",
        ]
    )
    manifest = json.loads((folder / "manifest.json").read_bytes())
    for name, entry in manifest["files"].items():
        blob = (folder / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)}
    assert manifest["name"] == "meta_label" and manifest["version"] == 1 and manifest["stage"] == "champion"
    assert manifest["metrics"] == {"auc": 0.55, "ece": 0.03}
    assert manifest["data_snapshot_id"] == "snapshot_2022-02-01" and manifest["code_git_sha"] == "abc123"
    assert manifest["windows"] == {"train": ["2022-01-01T00:00:00Z", T0]}
    assert manifest["lineage"] == {"previous_champion": None, "previous_champion_version": None}
    assert manifest["library_versions"]["lightgbm"] == lgb.__version__
    assert manifest["features"] == list(FEATURES) and manifest["notes"] == "first"
    assert manifest["signing"]["key_id"] == writer.signer.key_id
    latest = json.loads((tmp_path / "meta_label" / "latest.json").read_bytes())
    assert latest["model_id"] == model_id and latest["version"] == 1
    assert latest["manifest_sha256"] == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()


def test_seed_contract_with_a_plain_lgbm_classifier(tmp_path, data):
    """The seed's Engine <-> Hamilton snippet, verbatim apart from the paths."""
    X, y = data
    m = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, min_child_samples=50, verbose=-1, n_jobs=1)
    m.fit(X[:5000], y[:5000])
    registry = ModelRegistry(base_path=str(tmp_path / "models"), clock=lambda: datetime(2022, 2, 3, tzinfo=UTC))
    model_id = registry.register_model(
        model=m,
        code_git_sha="abc123",
        data_snapshot_id="snapshot_2025-11-06",
        metrics={"auc": 0.74, "ece": 0.055},
        notes="...",
    )
    registry.export_model(model_id=model_id, export_path=str(tmp_path / "shared" / "meta_label_latest.pkl"))

    hamilton = ModelRegistry(base_path=str(tmp_path / "models"))
    model_id2, model = hamilton.load_latest_model("meta_label")
    assert hamilton.verify_model(model_id2), "Model checksum mismatch!"
    assert model_id2 == model_id
    features = {f"Column_{i}": float(v) for i, v in enumerate(X[6000])}
    decision = MetaLabelGate(model=model, threshold=0.45).evaluate(features)
    assert decision.prob == pytest.approx(np.asarray(m.predict_proba(X[6000:6001]))[0, 1], abs=1e-12)
    assert decision.passed == (decision.prob > 0.45) and decision.model_id == model_id
    assert hamilton.show(model_id)["created_at"] == "2022-02-03T00:00:00Z"  # from the injected clock


def test_same_model_same_id_and_no_second_version(tmp_path, models, data):
    X, y = data
    reg = ModelRegistry(tmp_path)
    first = register(reg, models["A"])
    retrained = MetaLabelModel.from_lightgbm(train_booster(X[:5000], y[:5000], seed=1))
    again = register(reg, retrained, day=2, metrics={"auc": 0.99})
    assert again == first
    assert [s.version for s in reg.list_models()] == [1]
    assert reg.show(first)["metrics"]["auc"] == 0.55  # the card is immutable
    assert register(reg, models["B"], day=2) != first
    assert [s.version for s in reg.list_models()] == [1, 2]


# --- candidates, promote, rollback -------------------------------------------------------------------


def test_candidate_is_stored_with_its_verdict_but_never_latest(tmp_path, models):
    reg = ModelRegistry(tmp_path)
    a = register(reg, models["A"])
    verdict = {"ready": False, "reasons": ["auc 0.51 < 0.55"]}
    c = register(reg, models["C"], day=2, stage="candidate", readiness=verdict)
    assert ModelRegistry(tmp_path).load_latest_model()[0] == a
    card = reg.show(c)
    assert card["stage"] == "candidate" and card["readiness"] == verdict
    assert card["lineage"]["previous_champion"] == a
    summary = {s.model_id: s for s in reg.list_models("meta_label")}
    assert summary[c].stage == "candidate" and not summary[c].is_latest and summary[c].ready is False
    assert summary[a].is_latest
    # registering the same candidate again still does not publish it
    register(reg, models["C"], day=3, stage="candidate")
    assert reg.latest("meta_label").model_id == a  # type: ignore[union-attr]
    assert reg.verify_model(c)


def test_promote_and_rollback(tmp_path, models):
    reg = ModelRegistry(tmp_path)
    a = register(reg, models["A"])
    b = register(reg, models["B"], day=2)
    assert reg.show(b)["lineage"] == {"previous_champion": a, "previous_champion_version": 1}
    c = register(reg, models["C"], day=3, stage="candidate")
    assert reg.latest().model_id == b  # type: ignore[union-attr]

    pointer = reg.promote(c)
    assert pointer.model_id == c and pointer.previous == (b, a) and pointer.reason == "promote"
    assert ModelRegistry(tmp_path).load_latest_model()[0] == c
    assert reg.rollback("meta_label").model_id == b
    assert reg.rollback("meta_label").model_id == a
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        reg.rollback("meta_label")
    assert ModelRegistry(tmp_path).load_latest_model()[0] == a


def test_promote_and_rollback_refuse_a_damaged_target(tmp_path, models):
    reg = ModelRegistry(tmp_path)
    a = register(reg, models["A"])
    b = register(reg, models["B"], day=2)
    c = register(reg, models["C"], day=3, stage="candidate")
    flip_byte(version_dir(tmp_path, c) / "model.lgb.txt")
    with pytest.raises(ModelVerificationError, match=re.escape("model.lgb.txt")):
        reg.promote(c)
    flip_byte(version_dir(tmp_path, a) / "features.json")
    with pytest.raises(ModelVerificationError, match=re.escape("features.json")):
        reg.rollback()
    assert reg.latest().model_id == b  # type: ignore[union-attr]


# --- refusing damaged or forged models ---------------------------------------------------------------


@pytest.fixture
def published(tmp_path, models) -> tuple[Path, ModelRegistry, str, str]:
    """A published, then B published over it; ``hamilton`` loaded A before B arrived."""
    reg = ModelRegistry(tmp_path)
    a = register(reg, models["A"])
    hamilton = ModelRegistry(tmp_path)
    assert hamilton.load_latest_model()[0] == a
    b = register(reg, models["B"], day=2)
    return tmp_path, hamilton, a, b


@pytest.mark.parametrize(
    "victim",
    ["model.lgb.txt", "calibration.json", "features.json", "meta_label_v2.pkl", "manifest.json", "manifest.sig"],
)
def test_one_flipped_byte_in_any_file_is_refused(published, victim):
    root, hamilton, a, b = published
    flip_byte(version_dir(root, b) / victim)
    fresh = ModelRegistry(root)
    with pytest.raises(ModelVerificationError) as exc:
        fresh.load_latest_model("meta_label")
    expected_file = "manifest.json" if victim == "manifest.json" else victim
    assert expected_file in str(exc.value) and exc.value.file is not None and exc.value.file.endswith(expected_file)
    assert not fresh.verify_model(b)
    assert fresh.verify_model(a)
    # the registry that had A keeps serving A, and says why
    assert hamilton.load_latest_model("meta_label")[0] == a
    assert isinstance(hamilton.last_errors["meta_label"], ModelVerificationError)
    with pytest.raises(ModelVerificationError):
        hamilton.load_latest_model("meta_label", strict=True)


def test_truncated_file_is_refused_with_sizes(published):
    root, hamilton, a, b = published
    path = version_dir(root, b) / "model.lgb.txt"
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: size // 2])
    with pytest.raises(ModelVerificationError, match="size mismatch") as exc:
        ModelRegistry(root).load_latest_model()
    assert exc.value.expected == str(size) and exc.value.actual == str(size // 2)
    assert hamilton.load_latest_model()[0] == a


def test_tampered_file_with_rewritten_manifest_fails_the_signature(published, data):
    """An attacker who rewrites a file *and* its hash in the manifest still cannot sign the manifest."""
    root, hamilton, a, b = published
    folder = version_dir(root, b)
    calibration = b'{"a":50.0,"b":-40.0,"kind":"sigmoid"}\n'
    (folder / "calibration.json").write_bytes(calibration)
    manifest = json.loads((folder / "manifest.json").read_bytes())
    manifest["files"]["calibration.json"] = {
        "sha256": hashlib.sha256(calibration).hexdigest(),
        "size": len(calibration),
    }
    (folder / "manifest.json").write_bytes(json.dumps(manifest, indent=2, sort_keys=True).encode())
    latest = json.loads((root / "meta_label" / "latest.json").read_bytes())
    latest["manifest_sha256"] = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    (root / "meta_label" / "latest.json").write_text(json.dumps(latest))
    with pytest.raises(ModelVerificationError, match="bad signature"):
        ModelRegistry(root).load_latest_model()
    assert hamilton.load_latest_model()[0] == a


def test_signature_from_another_key_is_refused(published, tmp_path_factory):
    root, hamilton, a, b = published
    folder = version_dir(root, b)
    stranger = LocalKeySigner(tmp_path_factory.mktemp("stranger") / "key.pem")
    digest = hashlib.sha256((folder / "manifest.json").read_bytes()).digest()
    (folder / "manifest.sig").write_bytes(stranger.sign(digest))
    with pytest.raises(ModelVerificationError, match="bad signature"):
        ModelRegistry(root).load_latest_model()
    # a consumer holding only the stranger's public key refuses the genuine model A too
    verifier = PublicKeyVerifier(stranger.public_key_pem())
    assert not ModelRegistry(root, signer=verifier).verify_model(a)
    assert hamilton.load_latest_model()[0] == a


def test_consumer_with_the_publishers_public_key_verifies_offline(published):
    root, _, a, _ = published
    publisher = LocalKeySigner(root / ".signing" / "model_signing_key.pem")
    consumer = ModelRegistry(root, signer=PublicKeyVerifier(publisher.public_key_pem()))
    assert consumer.verify_model(a)
    assert consumer.load_latest_model()[1].model_id != a  # B is latest
    with pytest.raises(PermissionError, match="only a public key"):
        consumer.signer.sign(b"\x00" * 32)


@pytest.mark.parametrize("swap", ["other_manifest_hash", "other_model_id", "garbage", "wrong_name", "missing_manifest"])
def test_swapped_latest_json_is_refused(published, swap):
    root, hamilton, a, _b = published
    latest_path = root / "meta_label" / "latest.json"
    latest = json.loads(latest_path.read_bytes())
    a_manifest_sha = hashlib.sha256((version_dir(root, a) / "manifest.json").read_bytes()).hexdigest()
    if swap == "other_manifest_hash":
        latest["manifest_sha256"] = a_manifest_sha
    elif swap == "other_model_id":
        latest["model_id"] = a  # B's manifest hash, A's id
    elif swap == "wrong_name":
        latest["name"] = "other_model"
    elif swap == "missing_manifest":
        latest["model_id"] = "sha256:" + "0" * 64
    text = "{not json" if swap == "garbage" else json.dumps(latest)
    latest_path.write_text(text)
    fresh = ModelRegistry(root)
    with pytest.raises(ModelVerificationError, match=re.escape("latest.json")):
        fresh.load_latest_model()
    assert hamilton.load_latest_model()[0] == a
    # a publisher refuses to build lineage on a pointer it cannot trust (the swap is left for a human)
    with pytest.raises(ModelVerificationError, match=re.escape("latest.json")):
        register(ModelRegistry(root), _fresh_model(), day=3)
    assert latest_path.read_text() == text


def _fresh_model() -> MetaLabelModel:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, len(FEATURES)))
    return MetaLabelModel.from_lightgbm(train_booster(X, (X[:, 0] > 0).astype(float), rounds=3))


class CorruptingStore(LocalStore):
    """A store that damages one object on its way to disk (a bad disk / a broken upload)."""

    def __init__(self, root: Path, victim: str) -> None:
        super().__init__(root)
        self.victim = victim

    def put(self, key: str, data: bytes) -> None:
        if key.endswith("/" + self.victim):
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        super().put(key, data)


@pytest.mark.parametrize("victim", ["model.lgb.txt", "meta_label_v2.pkl", "manifest.sig"])
def test_failed_read_back_never_switches_latest(tmp_path, models, victim):
    reg = ModelRegistry(tmp_path)
    a = register(reg, models["A"])
    broken = ModelRegistry(tmp_path, store=CorruptingStore(tmp_path, victim), signer=reg.signer)
    with pytest.raises(ModelVerificationError):
        register(broken, models["B"], day=2)
    assert ModelRegistry(tmp_path).load_latest_model()[0] == a
    # registering B again through a healthy store repairs the damaged copy and publishes it (same version)
    b = register(reg, models["B"], day=2)
    assert ModelRegistry(tmp_path).load_latest_model()[0] == b
    assert [s.version for s in reg.list_models()] == [1, 2]


def test_no_model_and_unknown_ids(tmp_path):
    reg = ModelRegistry(tmp_path)
    with pytest.raises(ModelNotFoundError, match="nothing published yet"):
        reg.load_latest_model("meta_label")
    assert not reg.verify_model("sha256:" + "1" * 64)
    assert not reg.verify_model("not-an-id")
    assert not (tmp_path / ".signing").exists()  # verifying never mints a key


def test_card_that_is_not_json_is_refused_before_any_upload(tmp_path, models):
    reg = ModelRegistry(tmp_path)
    with pytest.raises(ValueError, match="plain JSON"):
        register(reg, models["A"], metrics={"auc": float("nan")})
    assert reg.list_models() == [] and reg.latest() is None


# --- export -----------------------------------------------------------------------------------------


def test_export_round_trip_only_after_verification(published, tmp_path_factory, monkeypatch, data):
    root, _, a, b = published
    X, _ = data
    out = tmp_path_factory.mktemp("shared") / "meta_label_latest.pkl"
    reg = ModelRegistry(root)

    # nothing in the registry unpickles: loading, verifying and exporting work with pickle.load* disabled
    def refuse(*args, **kwargs):
        raise AssertionError("the registry must never unpickle")

    with monkeypatch.context() as m:
        m.setattr(pickle, "loads", refuse)
        m.setattr(pickle, "load", refuse)
        assert reg.load_latest_model()[0] == b
        assert reg.export_model(b, out) == out

    assert out.read_bytes() == (version_dir(root, b) / "meta_label_v2.pkl").read_bytes()
    with out.open("rb") as fh:
        exported = pickle.load(fh)
    assert isinstance(exported, MetaLabelModel) and exported.model_id == b
    assert exported.metadata["version"] == 2 and exported.metadata["name"] == "meta_label"
    np.testing.assert_array_equal(exported.predict_proba(X[:300]), reg.load_model(b).predict_proba(X[:300]))

    flip_byte(version_dir(root, a) / "meta_label_v1.pkl", at=40)
    refused = out.with_name("old.pkl")
    with pytest.raises(ModelVerificationError, match=re.escape("meta_label_v1.pkl")):
        reg.export_model(a, refused)
    assert not refused.exists()


# --- CLI ---------------------------------------------------------------------------------------------


def _cli(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="huracan")
    add_models_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["models", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = args.handler(args, out, err)
    assert args.handler is run_models
    return code, out.getvalue(), err.getvalue()


def test_cli_list_show_verify_promote_rollback_export(published, tmp_path_factory):
    root, _, a, b = published
    base = ["--base-path", str(root)]
    code, out, _ = _cli(*base, "list")
    assert code == 0 and a in out and b in out
    assert [line.startswith("*") for line in out.splitlines()[1:]] == [False, True]
    code, out, _ = _cli(*base, "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["version"], r["is_latest"]) for r in rows] == [(1, False), (2, True)]
    code, out, _ = _cli(*base, "show", a[7:19])  # a unique prefix is enough
    assert code == 0 and json.loads(out)["model_id"] == a
    assert _cli(*base, "verify", a)[0] == 0
    code, out, _ = _cli(*base, "rollback")
    assert code == 0 and a in out and ModelRegistry(root).latest().model_id == a  # type: ignore[union-attr]
    code, out, _ = _cli(*base, "promote", b)
    assert code == 0 and ModelRegistry(root).latest().model_id == b  # type: ignore[union-attr]
    target = tmp_path_factory.mktemp("cli") / "m.pkl"
    assert _cli(*base, "export", b, str(target))[0] == 0 and target.exists()
    code, pem, _ = _cli(*base, "public-key")
    assert code == 0 and pem.startswith("-----BEGIN PUBLIC KEY-----")
    pem_path = target.with_name("pub.pem")
    pem_path.write_text(pem)
    assert _cli(*base, "--public-key", str(pem_path), "verify", b)[0] == 0

    flip_byte(version_dir(root, a) / "calibration.json")
    code, _, err = _cli(*base, "verify", a)
    assert code == 1 and "calibration.json" in err and "sha256 mismatch" in err
    code, _, err = _cli(*base, "show", "ffff")
    assert code == 1 and "matches 0 stored models" in err


@pytest.mark.parametrize("damage", ["deleted", "one_byte", "other_key"])
def test_the_standard_format_signature_is_required_and_checked_by_model_signing(published, damage, tmp_path_factory):
    """``model.sig`` is declared inside the signed card: removing it, changing it or re-signing it with another key
    fails ``verify_model`` (which runs the ``model-signing`` package's own verifier)."""
    from huracan.registry import oms

    root, _hamilton, _a, b = published
    sig = version_dir(root, b) / "model.sig"
    assert ModelRegistry(root).verify_model(b)
    statement = oms.statement_of(sig.read_bytes())
    names = {r["name"] for r in statement["predicate"]["resources"]}
    assert {"manifest.json", "manifest.sig", "model.lgb.txt", "calibration.json", "features.json"} <= names
    assert "model.sig" not in names
    if damage == "deleted":
        sig.unlink()
    elif damage == "one_byte":
        data = sig.read_bytes()
        sig.write_bytes(data.replace(b'"sig": "', b'"sig": "A', 1) if b'"sig": "' in data else data[:-2] + b"x}")
    else:
        stranger = LocalKeySigner(tmp_path_factory.mktemp("stranger") / "key.pem")
        folder = version_dir(root, b)
        files = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "model.sig"}
        sig.write_bytes(oms.sign_version("meta_label", files, stranger))
    fresh = ModelRegistry(root)
    assert not fresh.verify_model(b)
    assert "model.sig" in str(fresh.last_errors[b])
