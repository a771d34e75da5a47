"""Model files: every estimator round-trips, nothing executes, corruption is caught."""

from __future__ import annotations

import copy
import hashlib
import importlib
import io
import json
import pickle

import numpy as np
import pandas as pd
import pytest

import tsmirrors
from tsmirrors import _modelfile
from tsmirrors.data import make_planted
from tsmirrors.forecasting import (
    AR1Forecaster,
    ConvexAR,
    ConvexQuantileAR,
    NaiveForecaster,
    SGDNetAR,
)
from tsmirrors.models.convex import ConvexNetRegressor
from tsmirrors.models.sgd import SGDNetRegressor

Y = make_planted(80, random_state=0).series
Y = Y - Y.min() + 10.0  # positive, for target="log_return"
X1 = Y.to_numpy()[:-1, None]
T1 = Y.to_numpy()[1:]
X2 = np.column_stack([Y.to_numpy()[1:-1], Y.to_numpy()[:-2]])
T2 = Y.to_numpy()[2:]

REGRESSORS = {
    "relu-2layer-operator": (ConvexNetRegressor(activation="relu", beta=0.05), X1),
    "abs-depth3-sampled": (
        ConvexNetRegressor(
            activation="abs", depth=3, beta=0.1, n_features=40, sampling="uniform",
            random_state=3,
        ),
        X1,
    ),
    "symmetrized": (
        ConvexNetRegressor(
            activation="relu", depth=3, architecture="symmetrized", beta=0.1,
            n_features=30, sampling="uniform", random_state=1,
        ),
        X1,
    ),
    "sign": (ConvexNetRegressor(activation="sign", beta=0.2), X1),
    "random-state-instance": (
        ConvexNetRegressor(activation="abs", depth=3, beta=0.1, n_features=20,
                           random_state=np.random.RandomState(4)),
        X1,
    ),
    "leaky-dense": (
        ConvexNetRegressor(activation="leaky_relu", beta=0.1, solver="dense",
                           negative_slope=0.2),
        X1,
    ),
    "quantile": (ConvexNetRegressor(loss="quantile", quantile=0.8, beta=0.2), X1),
    "two-inputs": (ConvexNetRegressor(activation="abs", beta=0.1), X2),
    "sgd-squared": (
        SGDNetRegressor(n_neurons=6, epochs=3, random_state=0, optimizer="adam"), X1
    ),
    "sgd-quantile-standard": (
        SGDNetRegressor(architecture="standard", n_neurons=4, epochs=2,
                        loss="quantile", quantile=0.3, random_state=0),
        X1,
    ),
}

FORECASTERS = {
    "convex-ar": ConvexAR(lags=2, beta=0.01, target="log_return"),
    "convex-ar-level": ConvexAR(target="level", normalize=False, beta=1e-3,
                                activation="relu"),
    "convex-ar-standardize": ConvexAR(target="standardize", depth=3, n_features=30,
                                      random_state=2, beta=0.05),
    "convex-ar-auto": ConvexAR(beta="auto", lags=[1, 3], target="auto"),
    "convex-ar-direct": ConvexAR(strategy="direct", max_horizon=3, beta=0.05),
    "quantile-conformal": ConvexQuantileAR(
        quantiles=(0.1, 0.5, 0.9), calibration="conformal", calibration_size=20,
        max_horizon=2, beta=0.05,
    ),
    "quantile-lags": ConvexQuantileAR(quantiles=(0.2, 0.7), lags=2, beta=0.1),
    "ar1": AR1Forecaster(target="difference", quantiles=(0.05, 0.95)),
    "naive": NaiveForecaster(quantiles=(0.25, 0.75)),
    "sgd-ar": SGDNetAR(n_neurons=5, epochs=3, random_state=0),
}


def _assert_same_params(a, b):
    pa, pb = a.get_params(), b.get_params()
    assert pa.keys() == pb.keys()
    for key, value in pa.items():
        if isinstance(value, np.random.RandomState):
            sa, sb = value.get_state(), pb[key].get_state()
            assert sa[0] == sb[0] and np.array_equal(sa[1], sb[1]) and sa[2:] == sb[2:]
        else:
            assert value == pb[key], key


def _assert_same(before, after):
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(before, after, check_exact=True)
    elif isinstance(before, pd.Series):
        pd.testing.assert_series_equal(before, after, check_exact=True)
    else:
        assert np.array_equal(before, after)


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_regressor_round_trip_predicts_identically(tmp_path, name):
    est, X = REGRESSORS[name]
    model = copy.deepcopy(est).fit(X, T2 if X is X2 else T1)
    grid = np.linspace(X.min() - 1, X.max() + 1, 37)
    Xg = np.column_stack([grid] * X.shape[1])
    loaded = tsmirrors.load(tsmirrors.save(model, tmp_path / "m.tsm"))
    assert type(loaded) is type(model)
    _assert_same_params(loaded, model)
    assert np.array_equal(loaded.predict(Xg), model.predict(Xg))
    assert loaded.objective_ == model.objective_
    if isinstance(model, ConvexNetRegressor):
        assert np.array_equal(loaded.coef_, model.coef_)
        assert loaded.solver_result_.converged == model.solver_result_.converged


@pytest.mark.parametrize("name", sorted(FORECASTERS))
def test_forecaster_round_trip_predicts_identically(tmp_path, name):
    model = copy.deepcopy(FORECASTERS[name]).fit(Y)
    loaded = tsmirrors.load(tsmirrors.save(model, tmp_path / "m.tsm"))
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    steps = getattr(model, "max_horizon", None) or 3
    _assert_same(model.predict(steps), loaded.predict(steps))
    _assert_same(model.predict_point(steps), loaded.predict_point(steps))
    window = Y.iloc[-10:] * 1.01
    _assert_same(
        model.predict(steps, last_window=window),
        loaded.predict(steps, last_window=window),
    )
    if getattr(model, "quantiles", None) is not None:
        _assert_same(model.predict_quantiles(steps), loaded.predict_quantiles(steps))


def test_fitted_quantile_models_hold_no_solver_session():
    model = ConvexQuantileAR(quantiles=(0.1, 0.9), beta=0.1).fit(Y)
    for sub in model.models_.values():
        assert sub.solver_result_.state is None
    clone = copy.deepcopy(model)
    _assert_same(model.predict(1), clone.predict(1))


def test_integer_index_and_unfitted_models_round_trip(tmp_path):
    y = pd.Series(Y.to_numpy(), index=pd.RangeIndex(10, 10 + 2 * Y.size, 2))
    model = ConvexAR(beta=0.01).fit(y)
    loaded = tsmirrors.load(tsmirrors.save(model, tmp_path / "a.tsm"))
    _assert_same(model.predict(2), loaded.predict(2))
    fresh = tsmirrors.load(tsmirrors.save(ConvexAR(lags=3), tmp_path / "b.tsm"))
    assert fresh.get_params() == ConvexAR(lags=3).get_params()


def test_every_single_bit_flip_is_refused(tmp_path):
    model = ConvexAR(lags=2, beta=0.01).fit(Y)
    data = tsmirrors.save(model, tmp_path / "m.tsm").read_bytes()
    rng = np.random.default_rng(0)
    bad = tmp_path / "flipped.tsm"
    refused = 0
    for bit in rng.choice(8 * len(data), size=300, replace=False):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        bad.write_bytes(bytes(flipped))
        with pytest.raises(ValueError):
            tsmirrors.load(bad)
        refused += 1
    assert refused == 300
    # every bit of the magic line and the header (format version, checksum, size)
    head = data.index(b"\n", len(_modelfile.MAGIC)) + 1
    for bit in range(8 * head):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ValueError):
            _modelfile.loads(bytes(flipped))
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        tsmirrors.load(bad)


class _Marker:
    """Unpickling this object creates a file: proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_crafted_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "m.tsm"
    for proto in (2, pickle.HIGHEST_PROTOCOL):
        bad.write_bytes(pickle.dumps({"format": "tsmirrors-model",
                                      "model": _Marker(marker)}, protocol=proto))
        with pytest.raises(ValueError, match="pickle"):
            tsmirrors.load(bad)
    assert not marker.exists()


def _container(arrays: dict, version: int = 1) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    payload = buf.getvalue()
    header = json.dumps({"format_version": version,
                         "sha256": hashlib.sha256(payload).hexdigest(),
                         "size": len(payload)}).encode()
    return _modelfile.MAGIC + header + b"\n" + payload


def _meta(model_doc) -> np.ndarray:
    doc = {"format": "tsmirrors-model", "version": tsmirrors.__version__,
           "model": model_doc}
    return np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8)


def test_a_valid_checksum_does_not_make_code_run(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "m.tsm"
    # an object array (a pickle inside the .npy) is never unpickled
    evil = np.empty(1, dtype=object)
    evil[0] = _Marker(marker)
    bad.write_bytes(_container({"__meta__": _meta({"array": "a0"}), "a0": evil}))
    with pytest.raises(ValueError, match="not a readable model file"):
        tsmirrors.load(bad)
    # classes outside tsmirrors' own are refused by name
    for key in ("os:system", "builtins:open", "subprocess:Popen"):
        doc = {"object": key, "state": {"dict": [["path", str(marker)]]}}
        bad.write_bytes(_container({"__meta__": _meta(doc)}))
        with pytest.raises(ValueError, match="refused class"):
            tsmirrors.load(bad)
    assert not marker.exists()


def test_load_checks_format_version_and_tsmirrors_version(tmp_path):
    path = tmp_path / "m.tsm"
    model = ConvexNetRegressor(beta=0.1).fit(np.arange(5.0)[:, None], np.arange(5.0))
    good = tsmirrors.save(model, path).read_bytes()
    path.write_bytes(_container({"__meta__": _meta(None)}, version=2))
    with pytest.raises(ValueError, match="format version 2.*upgrade tsmirrors"):
        tsmirrors.load(path)
    old = _modelfile.dumps({"format": "tsmirrors-model", "version": "99.1.0"}, model)
    path.write_bytes(old)
    with pytest.raises(ValueError, match="saved by tsmirrors 99.1.0"):
        tsmirrors.load(path)
    path.write_bytes(b"hello, world\n" + good)
    with pytest.raises(ValueError, match="not a tsmirrors model file"):
        tsmirrors.load(path)
    with pytest.raises(ValueError, match="no saved model"):
        tsmirrors.load(tmp_path / "missing.tsm")
    with pytest.raises(ValueError, match="not a regular file"):
        tsmirrors.load(tmp_path)


def test_save_refuses_what_it_cannot_store(tmp_path):
    model = NaiveForecaster()
    model.extra_ = object()
    with pytest.raises(TypeError, match="cannot save an object of type"):
        tsmirrors.save(model, tmp_path / "m.tsm")
    assert list(tmp_path.iterdir()) == []


def test_a_model_saved_before_a_parameter_existed_is_refused(tmp_path):
    from tsmirrors.forecasting import ConvexAR, ScaledQuantileAR

    y = 100 + np.cumsum(np.random.default_rng(0).normal(size=120))
    fits = [
        (ConvexAR(lags=1, beta=1.0, target="difference").fit(y), "drift"),
        (ScaledQuantileAR(quantiles=(0.1, 0.9)).fit(y), "long_run"),
    ]
    for model, name in fits:
        path = tmp_path / f"{type(model).__name__}.tsm"
        tsmirrors.save(model, path)
        assert type(tsmirrors.load(path)) is type(model)
        del model.__dict__[name]  # as an earlier version wrote it
        meta = {"format": "tsmirrors-model", "version": tsmirrors.__version__,
                "class": type(model).__name__}
        path.write_bytes(_modelfile.dumps(meta, model))
        with pytest.raises(ValueError, match=f"earlier tsmirrors.*{name}"):
            tsmirrors.load(path)


@pytest.mark.parametrize("architecture", ["deep_narrow", "symmetrized"])
def test_networks_that_moved_module_load_under_the_old_key(tmp_path, architecture):
    from tsmirrors.nets import DeepNarrowNet, SymmetrizedNet

    cls = {"deep_narrow": DeepNarrowNet, "symmetrized": SymmetrizedNet}[architecture]
    new_key = f"tsmirrors.nets.deep:{cls.__name__}"
    old_key = f"tsmirrors.nets.architectures:{cls.__name__}"
    model = SGDNetRegressor(architecture=architecture, depth=3, n_neurons=3,
                            epochs=2, random_state=0).fit(X1, T1)
    grid = np.linspace(X1.min() - 1, X1.max() + 1, 23)[:, None]
    path = tsmirrors.save(model, tmp_path / "new.tsm")
    # a file saved now names the class's module, and loads
    meta, arrays = _modelfile.read_checked(path.read_bytes(), "new")
    text = json.dumps(meta)
    assert f'"{new_key}"' in text and old_key not in text
    loaded = tsmirrors.load(path)
    assert type(loaded.net_) is cls
    assert np.array_equal(loaded.predict(grid), model.predict(grid))
    # a file written before the move names tsmirrors.nets.architectures
    old = text.replace(f'"{new_key}"', f'"{old_key}"')
    assert old.count(f'"{old_key}"') == 1
    arrays["__meta__"] = np.frombuffer(old.encode(), dtype=np.uint8)
    path.write_bytes(_container(arrays))
    loaded = tsmirrors.load(path)
    assert type(loaded.net_) is cls
    assert np.array_equal(loaded.predict(grid), model.predict(grid))
    # saving the loaded model again writes the current key
    again = tsmirrors.save(loaded, tmp_path / "again.tsm")
    assert new_key.encode() in again.read_bytes()
    assert type(tsmirrors.load(again).net_) is cls


def test_moved_networks_are_still_importable_from_architectures():
    from tsmirrors.nets import DeepNarrowNet, SymmetrizedNet, architectures, deep

    assert architectures.DeepNarrowNet is deep.DeepNarrowNet is DeepNarrowNet
    assert architectures.SymmetrizedNet is deep.SymmetrizedNet is SymmetrizedNet
    for key, moved in _modelfile._MOVED.items():
        assert moved in _modelfile._ALLOWED
        module, _, name = key.partition(":")
        assert getattr(importlib.import_module(module), name).__module__ == (
            moved.partition(":")[0]
        )
