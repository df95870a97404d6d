"""Training side: the same LightGBM model as an ONNX graph, so Lambda can serve it without LightGBM.

Why not ``onnxmltools.convert_lightgbm``: it only takes float32 input (its LightGBM converter accepts
``FloatTensorType`` alone), and LightGBM compares features with float64 thresholds. A feature that lies
between ``float32(threshold)`` and ``threshold`` then takes the other branch: on the real FTX month that
moved 92 of 45,031 probabilities by up to 0.012. Here the trees are written straight from LightGBM's own
model dump into ``ai.onnx.ml`` ``TreeEnsemble`` (opset 5), which takes float64 input, float64 thresholds
and float64 leaf values, so onnxruntime walks exactly the branches LightGBM walks and sums the same
doubles.

LightGBM's missing-value rules are carried over node by node: ``missing_type=NaN`` sends NaN the
default way; ``missing_type=None`` treats NaN as 0, so NaN follows ``0 <= threshold``; and, as LightGBM's
predict does, any ``|x| <= 1e-35`` is scored as exactly 0 (it matters on ``+-kZeroThreshold`` splits). ``zero_as_missing``
(``missing_type=Zero``), categorical splits, linear trees and random-forest averaging have no faithful ONNX
form here and are refused rather than approximated.

Multiclass (``objective=multiclass``, the regime detector): LightGBM grows ``num_class`` trees per round
and tree ``i`` scores class ``i % num_class``. :func:`export_multiclass_onnx` writes them into one
``TreeEnsemble`` with ``n_targets=num_class`` (each leaf tagged with its tree's class), giving the
``(m, num_class)`` raw scores, and a float64 ``Softmax`` over them gives LightGBM's class probabilities.

:func:`export_onnx` also proves itself before returning: it scores probe rows built from every split
threshold (the threshold, the doubles either side of it, NaN and 0) with both LightGBM and onnxruntime
and raises if any probability differs by more than :data:`MAX_ABS_DIFF`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from huracan.core.bars import FloatArray
from huracan.registry.model import MetaLabelModel

__all__ = [
    "INPUT_NAME",
    "MAX_ABS_DIFF",
    "META_FEATURES",
    "META_LIGHTGBM_SHA256",
    "META_NUM_CLASS",
    "META_SIGMOID",
    "ONNX_FILE",
    "OUTPUT_PROBABILITY",
    "OUTPUT_RAW",
    "OnnxExportError",
    "export_multiclass_onnx",
    "export_onnx",
    "onnx_artifacts",
    "probe_rows",
    "regime_onnx_artifacts",
]

ONNX_FILE = "model.onnx"
INPUT_NAME = "features"
OUTPUT_RAW = "raw_score"
OUTPUT_PROBABILITY = "probability"
#: ONNX metadata keys: the SHA256 of the LightGBM text it was made from, the feature names, the sigmoid.
META_LIGHTGBM_SHA256 = "huracan.lightgbm_model_sha256"
META_FEATURES = "huracan.features"
META_SIGMOID = "huracan.sigmoid"
#: Multiclass graphs only: the number of classes (columns of both outputs).
META_NUM_CLASS = "huracan.num_class"
#: The equality the export guarantees against LightGBM (the task's bar is 1e-6).
MAX_ABS_DIFF = 1e-9
_OPSET = 18
_ML_OPSET = 5
_MODE_LEQ = 0
#: LightGBM's ``kZeroThreshold`` (``1e-35f`` as a double): inputs this close to 0 are scored as 0.
_ZERO_THRESHOLD = float(np.float32(1e-35))


class OnnxExportError(ValueError):
    """The booster uses something ONNX cannot express exactly, or the exported graph disagrees."""


def _booster_of(model: Any) -> tuple[Any, str]:
    """A LightGBM Booster and its text for a Booster, a fitted LGBMClassifier or a MetaLabelModel."""
    import lightgbm

    own_text = getattr(model, "booster_text", None)  # a MetaLabelModel or a TrainedRegimeDetector
    if isinstance(model, MetaLabelModel) or isinstance(own_text, str):
        text_ = model.booster_text if isinstance(model, MetaLabelModel) else str(own_text)
        return lightgbm.Booster(model_str=text_), text_
    booster = getattr(model, "booster_", None) or model
    if not isinstance(booster, lightgbm.Booster):
        raise TypeError(f"expected a lightgbm.Booster, LGBMClassifier or MetaLabelModel, got {type(model).__name__}")
    text = booster.model_to_string()
    # Score what the registry stores: the booster rebuilt from its own text.
    return lightgbm.Booster(model_str=text), text


def _sigmoid_of(dump: Mapping[str, Any]) -> float:
    objective = str(dump.get("objective", ""))
    kind, *params = objective.split(" ")
    if kind == "binary":
        for p in params:
            if p.startswith("sigmoid:"):
                return float(p.split(":", 1)[1])
        return 1.0
    if kind in ("cross_entropy", "xentropy"):
        return 1.0
    raise OnnxExportError(f"only binary probability models can be exported, got objective {objective!r}")


class _Trees:
    """Accumulates TreeEnsemble (ai.onnx.ml v5) node and leaf arrays from LightGBM tree dicts."""

    def __init__(self, n_targets: int = 1) -> None:
        self.n_targets = n_targets
        self.featureids: list[int] = []
        self.splits: list[float] = []
        self.tracks_true: list[int] = []
        self.true_ids: list[int] = []
        self.true_leaf: list[int] = []
        self.false_ids: list[int] = []
        self.false_leaf: list[int] = []
        self.leaf_weights: list[float] = []
        self.leaf_targets: list[int] = []
        self.roots: list[int] = []
        #: Per target, the sum of the trees that never split.
        self.constants: list[float] = [0.0] * n_targets
        self._target = 0

    @property
    def constant(self) -> float:
        return self.constants[0]

    def add_tree(self, index: int, tree: Mapping[str, Any], target: int = 0) -> None:
        if "leaf_coeff" in tree or "leaf_features" in tree:
            raise OnnxExportError(f"tree {index} is a linear tree; ONNX TreeEnsemble has constant leaves only")
        if "leaf_value" in tree:  # a tree that never split: a constant
            self.constants[target] += float(tree["leaf_value"])
            return
        self._target = target
        self.roots.append(self._node(index, tree))

    def _child(self, index: int, child: Mapping[str, Any]) -> tuple[int, int]:
        if "leaf_value" in child:
            self.leaf_weights.append(float(child["leaf_value"]))
            self.leaf_targets.append(self._target)
            return len(self.leaf_weights) - 1, 1
        return self._node(index, child), 0

    def _node(self, index: int, node: Mapping[str, Any]) -> int:
        if node.get("decision_type") != "<=":
            raise OnnxExportError(f"tree {index}: only numerical '<=' splits export, got {node.get('decision_type')!r}")
        threshold = float(node["threshold"])
        missing = node.get("missing_type")
        if missing == "NaN":
            tracks = 1 if node["default_left"] else 0
        elif missing == "None":
            tracks = 1 if threshold >= 0.0 else 0  # LightGBM scores NaN as 0 for this feature
        else:
            raise OnnxExportError(f"tree {index}: missing_type {missing!r} (zero_as_missing) has no ONNX form")
        at = len(self.featureids)
        self.featureids.append(int(node["split_feature"]))
        self.splits.append(threshold)
        self.tracks_true.append(tracks)
        for lst in (self.true_ids, self.true_leaf, self.false_ids, self.false_leaf):
            lst.append(-1)
        # LightGBM: value <= threshold goes left, so left is the "true" branch of BRANCH_LEQ.
        self.true_ids[at], self.true_leaf[at] = self._child(index, node["left_child"])
        self.false_ids[at], self.false_leaf[at] = self._child(index, node["right_child"])
        return at


def _graph(trees: _Trees, n_features: int, sigmoid: float | None, metadata: Mapping[str, str]) -> bytes:
    """The graph: zero-snap the input, sum the trees per target, then the link in float64.

    ``sigmoid`` is the binary link's scale; None means multiclass (softmax over the targets).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    k = trees.n_targets
    constants = np.asarray(trees.constants, dtype=np.float64)
    has_constant = bool(np.any(constants != 0.0))
    raw_name = "tree_sum" if has_constant or not trees.roots else OUTPUT_RAW
    initializers = [
        numpy_helper.from_array(np.array([_ZERO_THRESHOLD], dtype=np.float64), "zero_threshold"),
        numpy_helper.from_array(np.array([0.0], dtype=np.float64), "zero"),
    ]
    # LightGBM's predict drops |x| <= kZeroThreshold as a zero before walking the trees; so does the graph.
    nodes = [
        helper.make_node("Abs", [INPUT_NAME], ["x_abs"]),
        helper.make_node("LessOrEqual", ["x_abs", "zero_threshold"], ["x_is_zero"]),
        helper.make_node("Where", ["x_is_zero", "zero", INPUT_NAME], ["x_clean"]),
    ]
    if trees.roots:
        nodes.append(
            helper.make_node(
                "TreeEnsemble",
                ["x_clean"],
                [raw_name],
                domain="ai.onnx.ml",
                aggregate_function=1,  # SUM
                post_transform=0,  # NONE: the link is applied below, in double
                n_targets=k,
                tree_roots=trees.roots,
                nodes_featureids=trees.featureids,
                nodes_splits=numpy_helper.from_array(np.asarray(trees.splits, dtype=np.float64)),
                nodes_modes=numpy_helper.from_array(np.full(len(trees.splits), _MODE_LEQ, dtype=np.uint8)),
                nodes_missing_value_tracks_true=trees.tracks_true,
                nodes_truenodeids=trees.true_ids,
                nodes_trueleafs=trees.true_leaf,
                nodes_falsenodeids=trees.false_ids,
                nodes_falseleafs=trees.false_leaf,
                leaf_targetids=trees.leaf_targets,
                leaf_weights=numpy_helper.from_array(np.asarray(trees.leaf_weights, dtype=np.float64)),
            )
        )
    if raw_name != OUTPUT_RAW:
        initializers.append(numpy_helper.from_array(constants, "constant_trees"))
        if not trees.roots:  # every tree is a constant: an (m, k) block of them, whatever X holds
            initializers.append(numpy_helper.from_array(np.array([0], dtype=np.int64), "zero_i"))
            initializers.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "one_i"))
            initializers.append(numpy_helper.from_array(np.array([k], dtype=np.int64), "k_i"))
            nodes.append(helper.make_node("Shape", [INPUT_NAME], ["x_shape"]))
            nodes.append(helper.make_node("Slice", ["x_shape", "zero_i", "one_i"], ["rows"]))
            nodes.append(helper.make_node("Concat", ["rows", "k_i"], ["out_shape"], axis=0))
            value = numpy_helper.from_array(np.array([0.0], dtype=np.float64))
            nodes.append(helper.make_node("ConstantOfShape", ["out_shape"], [raw_name], value=value))
        nodes.append(helper.make_node("Add", [raw_name, "constant_trees"], [OUTPUT_RAW]))
    if sigmoid is None:
        nodes.append(helper.make_node("Softmax", [OUTPUT_RAW], [OUTPUT_PROBABILITY], axis=1))
    else:
        initializers.append(numpy_helper.from_array(np.array([sigmoid], dtype=np.float64), "sigmoid_scale"))
        nodes.append(helper.make_node("Mul", [OUTPUT_RAW, "sigmoid_scale"], ["scaled"]))
        nodes.append(helper.make_node("Sigmoid", ["scaled"], [OUTPUT_PROBABILITY]))
    graph = helper.make_graph(
        nodes,
        "huracan_meta_label" if sigmoid is not None else "huracan_multiclass",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.DOUBLE, ["m", n_features])],
        [
            helper.make_tensor_value_info(OUTPUT_RAW, TensorProto.DOUBLE, ["m", k]),
            helper.make_tensor_value_info(OUTPUT_PROBABILITY, TensorProto.DOUBLE, ["m", k]),
        ],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET), helper.make_opsetid("ai.onnx.ml", _ML_OPSET)],
        producer_name="huracan.serving.onnx_export",
        ir_version=9,
    )
    helper.set_model_props(model, dict(metadata))
    onnx.checker.check_model(model, full_check=True)
    return bytes(model.SerializeToString())


def probe_rows(dump: Mapping[str, Any], n_features: int, *, rows: int = 2048, seed: int = 0) -> FloatArray:
    """Rows that sit on every split's edge: each threshold, the doubles either side, NaN, 0 and +-inf-ish.

    Float rounding or a wrong missing-value rule shows up exactly there, so a random mix of these values
    exercises the branch decisions far harder than typical data does.
    """
    tiny = [_ZERO_THRESHOLD, -_ZERO_THRESHOLD, 1e-36, -1e-36]
    per_feature: list[list[float]] = [[0.0, float("nan"), -1e300, 1e300, *tiny] for _ in range(n_features)]

    def walk(node: Mapping[str, Any]) -> None:
        if "leaf_value" in node:
            return
        t = float(node["threshold"])
        per_feature[int(node["split_feature"])].extend(
            [t, float(np.nextafter(t, -np.inf)), float(np.nextafter(t, np.inf))]
        )
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in dump.get("tree_info", []):
        walk(tree["tree_structure"])
    rng = np.random.default_rng(seed)
    out = np.empty((rows, n_features), dtype=np.float64)
    for j, values in enumerate(per_feature):
        out[:, j] = rng.choice(np.asarray(values, dtype=np.float64), size=rows)
    return out


def _check(onnx_bytes: bytes, booster: Any, X: FloatArray) -> float:
    from huracan.serving.predictor import OnnxPredictor

    predictor = OnnxPredictor(onnx_bytes)
    got = predictor.raw_proba(X)
    want = np.asarray(booster.predict(X, num_threads=1), dtype=np.float64)
    return float(np.max(np.abs(got - want))) if len(X) else 0.0


def _feature_names(dump: Mapping[str, Any], feature_names: Sequence[str] | None) -> tuple[list[str], int]:
    names = list(feature_names) if feature_names is not None else list(dump.get("feature_names", []))
    n_features = int(dump["max_feature_idx"]) + 1
    if len(names) != n_features:
        raise OnnxExportError(f"{len(names)} feature names for a booster with {n_features} features")
    return names, n_features


def _proven(
    onnx_bytes: bytes,
    booster: Any,
    dump: Mapping[str, Any],
    check_rows: FloatArray | None,
    check: Callable[[bytes, Any, FloatArray], float],
) -> bytes:
    """The graph, once it scores the threshold probes (plus ``check_rows``) as LightGBM does, else raise."""
    n_features = int(dump["max_feature_idx"]) + 1
    probes = probe_rows(dump, n_features)
    if check_rows is not None:
        probes = np.vstack([probes, np.asarray(check_rows, dtype=np.float64).reshape(-1, n_features)])
    diff = check(onnx_bytes, booster, probes)
    if not diff <= MAX_ABS_DIFF:
        raise OnnxExportError(f"the ONNX graph differs from LightGBM by {diff:.3g} (> {MAX_ABS_DIFF:g})")
    return onnx_bytes


def export_onnx(
    booster: Any, *, feature_names: Sequence[str] | None = None, check_rows: FloatArray | None = None
) -> bytes:
    """ONNX bytes scoring exactly what ``booster.predict`` scores (raw score and probability, float64).

    ``booster`` is a ``lightgbm.Booster``, a fitted ``LGBMClassifier`` or a :class:`MetaLabelModel`.
    The graph records the SHA256 of the LightGBM text it came from, so a server can tie ``model.onnx``
    to the ``model.lgb.txt`` of the same signed manifest. Raises :class:`OnnxExportError` when the
    booster cannot be expressed exactly or the result differs from LightGBM on the threshold probes
    (plus ``check_rows``, e.g. the training matrix) by more than :data:`MAX_ABS_DIFF`.
    """
    lgb_booster, text = _booster_of(booster)
    dump = lgb_booster.dump_model()
    if int(dump.get("num_class", 1)) != 1 or int(dump.get("num_tree_per_iteration", 1)) != 1:
        raise OnnxExportError("only single-output binary models export (num_class 1)")
    if dump.get("average_output"):
        raise OnnxExportError("random-forest averaging (average_output) is not exported")
    sigmoid = _sigmoid_of(dump)
    names, n_features = _feature_names(dump, feature_names)
    trees = _Trees()
    for i, tree in enumerate(dump.get("tree_info", [])):
        trees.add_tree(i, tree["tree_structure"])
    metadata = {
        META_LIGHTGBM_SHA256: hashlib.sha256(text.encode("utf-8")).hexdigest(),
        META_FEATURES: json.dumps(names),
        META_SIGMOID: repr(sigmoid),
    }
    return _proven(_graph(trees, n_features, sigmoid, metadata), lgb_booster, dump, check_rows, _check)


def onnx_artifacts(model: MetaLabelModel) -> dict[str, bytes]:
    """The registry hook (``ModelRegistry(extra_artifacts=onnx_artifacts)``): ``model.onnx`` for a version."""
    return {ONNX_FILE: export_onnx(model, feature_names=model.feature_names)}


def _check_multiclass(onnx_bytes: bytes, booster: Any, X: FloatArray) -> float:
    from huracan.serving.regime import OnnxRegimeDetector

    got = OnnxRegimeDetector(onnx_bytes).proba(X)
    want = np.asarray(booster.predict(X, num_threads=1), dtype=np.float64)
    return float(np.max(np.abs(got - want))) if len(X) else 0.0


def export_multiclass_onnx(
    booster: Any, *, feature_names: Sequence[str] | None = None, check_rows: FloatArray | None = None
) -> bytes:
    """ONNX bytes giving exactly ``booster.predict`` (``(m, num_class)`` probabilities) of a softmax booster.

    ``booster`` is a multiclass ``lightgbm.Booster`` or anything with its text as ``booster_text`` (a
    :class:`~huracan.learning.regime_detector.TrainedRegimeDetector`). Outputs ``raw_score`` and
    ``probability``, both ``(m, num_class)`` float64; proven against LightGBM like :func:`export_onnx`.
    """
    lgb_booster, text = _booster_of(booster)
    dump = lgb_booster.dump_model()
    objective = str(dump.get("objective", "")).split(" ")[0]
    if objective != "multiclass":
        raise OnnxExportError(f"only softmax multiclass models export here, got objective {objective!r}")
    k = int(dump.get("num_class", 1))
    if k < 2 or int(dump.get("num_tree_per_iteration", 1)) != k:
        raise OnnxExportError(f"a multiclass model needs num_class >= 2 trees per round, got {k}")
    if dump.get("average_output"):
        raise OnnxExportError("random-forest averaging (average_output) is not exported")
    names, n_features = _feature_names(dump, feature_names)
    trees = _Trees(n_targets=k)
    for i, tree in enumerate(dump.get("tree_info", [])):
        trees.add_tree(i, tree["tree_structure"], target=i % k)
    metadata = {
        META_LIGHTGBM_SHA256: hashlib.sha256(text.encode("utf-8")).hexdigest(),
        META_FEATURES: json.dumps(names),
        META_NUM_CLASS: str(k),
    }
    return _proven(_graph(trees, n_features, None, metadata), lgb_booster, dump, check_rows, _check_multiclass)


def regime_onnx_artifacts(
    booster_text: str, feature_names: Sequence[str], check_rows: FloatArray | None = None
) -> dict[str, bytes]:
    """``model.onnx`` for a regime detector version (pass it as ``register_files(extra_files=...)``)."""
    return {ONNX_FILE: export_multiclass_onnx(_Text(booster_text), feature_names=feature_names, check_rows=check_rows)}


class _Text:
    """A booster known only by its text (what the registry stores)."""

    def __init__(self, booster_text: str) -> None:
        self.booster_text = booster_text
