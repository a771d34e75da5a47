"""The model file format: arrays plus JSON, checked before anything is built.

A model file is

    b"TSMIRRORS-MODEL\\n"
    a one-line JSON header: {"format_version": 1, "sha256": ..., "size": ...}
    the payload: an uncompressed ``.npz`` archive of ``size`` bytes.

The SHA-256 of the payload is verified before it is parsed. The archive is
read with ``numpy.load(allow_pickle=False)``: it holds plain numeric, boolean
or string arrays and one JSON document (``__meta__``, stored as bytes) that
describes the object tree. Objects are rebuilt only for the classes named in
:data:`_ALLOWED` (tsmirrors estimators, their fitted parts, and a few pandas
and torch types; a class that moved is also found under the key an earlier
version wrote, :data:`_MOVED`), by creating an empty instance and restoring
its attribute dictionary: no constructor, ``__setstate__`` or pickle runs on
load. A fitted attribute that an earlier version did not store is derived
from the saved parameters by the class's ``_fitted_state_from_params`` (a
function of the attribute dictionary), where the class has one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import math
from collections import OrderedDict

import numpy as np
import pandas as pd

__all__ = ["FORMAT_VERSION", "MAGIC", "dumps", "loads"]

MAGIC = b"TSMIRRORS-MODEL\n"
FORMAT_VERSION = 1
_MAX_HEADER = 4096

#: Classes that a model file may name, as "module:qualname".
_ALLOWED = frozenset(
    [
        "tsmirrors.models.convex:ConvexNetRegressor",
        "tsmirrors.models.sgd:SGDNetRegressor",
        "tsmirrors.models.baselines:AR1Regressor",
        "tsmirrors.models.baselines:NaiveLastValue",
        "tsmirrors.forecasting.models:ConvexAR",
        "tsmirrors.forecasting.quantile:ConvexQuantileAR",
        "tsmirrors.forecasting.baselines:AR1Forecaster",
        "tsmirrors.forecasting.baselines:NaiveForecaster",
        "tsmirrors.forecasting.models:SGDNetAR",
        "tsmirrors.forecasting.volatility:ScaledQuantileAR",
        "tsmirrors.forecasting.garch:GARCHForecaster",
        "tsmirrors.forecasting.transforms:_Level",
        "tsmirrors.forecasting.transforms:_Difference",
        "tsmirrors.forecasting.transforms:_LogReturn",
        "tsmirrors.forecasting.transforms:_Standardize",
        "tsmirrors.features.library:Library",
        "tsmirrors.features.units:DeepNarrowUnits",
        "tsmirrors.features.units:SymmetrizedUnits",
        "tsmirrors.features.activations:Activation",
        "tsmirrors.solvers._result:SolverResult",
        "tsmirrors.nets.architectures:StandardNet",
        "tsmirrors.nets.architectures:ParallelNet",
        "tsmirrors.nets.deep:DeepNarrowNet",
        "tsmirrors.nets.deep:SymmetrizedNet",
    ]
)
#: Classes that moved to another module: the key an earlier version wrote,
#: and the class's key now. Files naming the old key still load.
_MOVED = {
    "tsmirrors.nets.architectures:DeepNarrowNet": "tsmirrors.nets.deep:DeepNarrowNet",
    "tsmirrors.nets.architectures:SymmetrizedNet": (
        "tsmirrors.nets.deep:SymmetrizedNet"
    ),
}
#: Types that may appear as values (``index_type_`` of a forecaster).
_ALLOWED_TYPES = {
    "pandas:DatetimeIndex": pd.DatetimeIndex,
    "pandas:RangeIndex": pd.RangeIndex,
    "pandas:Index": pd.Index,
    "pandas:PeriodIndex": pd.PeriodIndex,
}
_BIT_GENERATORS = frozenset(["MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"])
_TORCH_MODULES = frozenset(
    f"torch.nn.modules.container:{name}"
    for name in ("ModuleList", "ModuleDict", "ParameterList", "ParameterDict")
)


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, a: np.ndarray) -> str:
        if a.dtype.hasobject:
            raise TypeError("cannot save an array of Python objects")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.ascontiguousarray(a)
        return name

    def enc(self, obj):  # noqa: C901 - one branch per supported type
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.generic):
            return {"scalar": self.array(np.asarray(obj))}
        if isinstance(obj, int):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, np.ndarray):
            return {"array": self.array(obj)}
        if isinstance(obj, OrderedDict):
            return {"odict": [[self.enc(k), self.enc(v)] for k, v in obj.items()]}
        if isinstance(obj, dict):
            return {"dict": [[self.enc(k), self.enc(v)] for k, v in obj.items()]}
        if isinstance(obj, list):
            return {"list": [self.enc(v) for v in obj]}
        if isinstance(obj, tuple):
            return {"tuple": [self.enc(v) for v in obj]}
        if isinstance(obj, (set, frozenset)):
            return {"set": [self.enc(v) for v in sorted(obj, key=repr)]}
        if isinstance(obj, type):
            for key, cls in _ALLOWED_TYPES.items():
                if obj is cls:
                    return {"type": key}
            raise TypeError(f"cannot save the type {obj!r}")
        if isinstance(obj, pd.Timestamp):
            return {"timestamp": str(obj.value), "unit": obj.unit,
                    "tz": None if obj.tz is None else str(obj.tz)}
        if isinstance(obj, pd.Timedelta):
            return {"timedelta": str(obj.value), "unit": obj.unit}
        if isinstance(obj, pd.offsets.BaseOffset):
            return {"offset": obj.freqstr}
        if isinstance(obj, pd.Index):
            return self.index(obj)
        if isinstance(obj, pd.Series):
            return {"series": self.enc(obj.to_numpy()), "index": self.index(obj.index),
                    "name": self.enc(obj.name)}
        if isinstance(obj, pd.DataFrame):
            return {"frame": [[self.enc(c), self.enc(obj[c].to_numpy())]
                              for c in obj.columns],
                    "index": self.index(obj.index)}
        if isinstance(obj, np.random.RandomState):
            return {"random_state": self.enc(obj.get_state(legacy=False))}
        if isinstance(obj, np.random.Generator):
            return {"generator": self.enc(obj.bit_generator.state)}
        mod = type(obj).__module__
        if mod.startswith("torch"):
            return self.torch(obj)
        return self.instance(obj)

    def index(self, idx: pd.Index):
        name = self.enc(idx.name)
        if isinstance(idx, pd.RangeIndex):
            return {"range": [idx.start, idx.stop, idx.step], "name": name}
        if isinstance(idx, pd.DatetimeIndex):
            return {"datetimes": self.array(idx.asi8), "unit": idx.unit,
                    "tz": None if idx.tz is None else str(idx.tz),
                    "freq": None if idx.freq is None else idx.freq.freqstr,
                    "name": name}
        values = idx.to_numpy()
        if values.dtype.hasobject:
            if not all(isinstance(v, str) for v in values):
                raise TypeError("cannot save an index of mixed Python objects")
            return {"strings": list(values), "name": name}
        return {"values": self.array(values), "name": name}

    def torch(self, obj):
        import torch

        if isinstance(obj, torch.Tensor):
            out = {"tensor": self.array(obj.detach().cpu().numpy()),
                   "requires_grad": bool(obj.requires_grad)}
            if isinstance(obj, torch.nn.Parameter):
                out["parameter"] = True
            return out
        if isinstance(obj, torch.dtype):
            return {"torch_dtype": str(obj).removeprefix("torch.")}
        if isinstance(obj, torch.nn.Module):
            key = f"{type(obj).__module__}:{type(obj).__qualname__}"
            if key in _TORCH_MODULES:
                return {"object": key, "state": self.enc(dict(vars(obj)))}
        return self.instance(obj)

    def instance(self, obj):
        cls = type(obj)
        key = f"{cls.__module__}:{cls.__qualname__}"
        if key not in _ALLOWED:
            raise TypeError(
                f"cannot save an object of type {cls.__module__}.{cls.__qualname__}"
            )
        return {"object": key, "state": self.enc(dict(vars(obj)))}


class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays

    def array(self, name) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise ValueError(f"the model file refers to a missing array {name!r}")
        return self.arrays[name]

    def dec(self, obj):  # noqa: C901 - mirrors _Encoder.enc
        if obj is None or isinstance(obj, (bool, str, int, float)):
            return obj
        if isinstance(obj, list):  # JSON lists only appear inside tagged values
            raise ValueError("malformed model file: a bare list")
        if not isinstance(obj, dict) or not obj:
            raise ValueError(f"malformed model file: unexpected {type(obj).__name__}")
        if "object" in obj:
            return self.instance(obj["object"], obj["state"])
        if "array" in obj:
            return self.array(obj["array"]).copy()
        if "scalar" in obj:
            return self.array(obj["scalar"])[()]
        if "float" in obj:
            if obj["float"] not in ("nan", "inf", "-inf"):
                raise ValueError(f"malformed model file: float {obj['float']!r}")
            return float(obj["float"])
        if "list" in obj:
            return [self.dec(v) for v in obj["list"]]
        if "tuple" in obj:
            return tuple(self.dec(v) for v in obj["tuple"])
        if "set" in obj:
            return {self.dec(v) for v in obj["set"]}
        if "dict" in obj:
            return {self.dec(k): self.dec(v) for k, v in obj["dict"]}
        if "odict" in obj:
            return OrderedDict((self.dec(k), self.dec(v)) for k, v in obj["odict"])
        if "type" in obj:
            if obj["type"] not in _ALLOWED_TYPES:
                raise ValueError(f"the model file names a refused type {obj['type']!r}")
            return _ALLOWED_TYPES[obj["type"]]
        if "timestamp" in obj:
            ts = pd.Timestamp(int(obj["timestamp"]), unit="ns", tz="UTC")
            ts = ts.tz_convert(obj["tz"]) if obj["tz"] else ts.tz_localize(None)
            return ts.as_unit(obj["unit"])
        if "timedelta" in obj:
            return pd.Timedelta(int(obj["timedelta"]), unit="ns").as_unit(obj["unit"])
        if "offset" in obj:
            return pd.tseries.frequencies.to_offset(obj["offset"])
        if "range" in obj or "datetimes" in obj or "strings" in obj or "values" in obj:
            return self.index(obj)
        if "series" in obj:
            return pd.Series(self.dec(obj["series"]), index=self.index(obj["index"]),
                             name=self.dec(obj["name"]), copy=True)
        if "frame" in obj:
            cols = [(self.dec(c), self.dec(v)) for c, v in obj["frame"]]
            frame = pd.DataFrame(dict(cols), index=self.index(obj["index"]))
            return frame[[c for c, _ in cols]]
        if "tensor" in obj or "torch_dtype" in obj:
            return self.torch(obj)
        if "random_state" in obj or "generator" in obj:
            return self.rng(obj)
        raise ValueError(f"malformed model file: unknown entry {sorted(obj)[:3]}")

    def index(self, obj) -> pd.Index:
        name = self.dec(obj["name"])
        if "range" in obj:
            start, stop, step = (int(v) for v in obj["range"])
            return pd.RangeIndex(start, stop, step, name=name)
        if "datetimes" in obj:
            values = self.array(obj["datetimes"]).astype("int64")
            unit = obj["unit"]
            idx = pd.DatetimeIndex(values.view(f"M8[{unit}]"), name=name)
            if obj["tz"]:
                idx = idx.tz_localize("UTC").tz_convert(obj["tz"])
            if obj["freq"]:
                idx = pd.DatetimeIndex(idx, freq=obj["freq"])
            return idx
        if "strings" in obj:
            return pd.Index([str(v) for v in obj["strings"]], name=name)
        return pd.Index(self.array(obj["values"]).copy(), name=name)

    def rng(self, obj):
        state = self.dec(obj.get("random_state", obj.get("generator")))
        name = state.get("bit_generator") if isinstance(state, dict) else None
        if name not in _BIT_GENERATORS:
            raise ValueError(f"the model file names a refused bit generator {name!r}")
        if "random_state" in obj:
            rs = np.random.RandomState()
            rs.set_state(state)
            return rs
        bits = getattr(np.random, name)()
        bits.state = state
        return np.random.Generator(bits)

    def torch(self, obj):
        import torch

        if "torch_dtype" in obj:
            dtype = getattr(torch, str(obj["torch_dtype"]), None)
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f"unknown torch dtype {obj['torch_dtype']!r}")
            return dtype
        t = torch.from_numpy(self.array(obj["tensor"]).copy())
        if obj.get("parameter"):
            return torch.nn.Parameter(t, requires_grad=bool(obj["requires_grad"]))
        return t.requires_grad_(bool(obj["requires_grad"]))

    def instance(self, key, state):
        if isinstance(key, str):
            key = _MOVED.get(key, key)
        if not isinstance(key, str) or not (key in _ALLOWED or key in _TORCH_MODULES):
            raise ValueError(f"the model file names a refused class {key!r}")
        module, _, qualname = key.partition(":")
        cls = getattr(importlib.import_module(module), qualname)
        attrs = self.dec(state)
        if not isinstance(attrs, dict) or not all(isinstance(k, str) for k in attrs):
            raise ValueError(f"malformed model file: state of {key}")
        obj = object.__new__(cls)
        if dataclasses.is_dataclass(cls):
            names = {f.name for f in dataclasses.fields(cls)}
            if not names <= set(attrs):
                raise ValueError(f"malformed model file: fields of {key}")
        elif hasattr(cls, "get_params"):
            # an estimator saved before a parameter existed would misreport
            # its settings (and may lack the fitted state that goes with it)
            missing = sorted(set(cls._get_param_names()) - set(attrs))
            if missing:
                raise ValueError(
                    f"the model file holds a {qualname} saved by an earlier "
                    f"tsmirrors, without the parameter(s) {', '.join(missing)}; "
                    "fit it again with this version and save it"
                )
            # fitted attributes that an earlier version did not store: its
            # predictions read the parameters, which then matched the fit
            derive = getattr(cls, "_fitted_state_from_params", None)
            if derive is not None:
                attrs = dict(derive(attrs), **attrs)
        # restore the attribute dictionary directly: no __init__, __setattr__
        # or __setstate__ of the class runs
        vars(obj).update(attrs)
        return obj


def dumps(meta: dict, obj) -> bytes:
    """The bytes of a model file holding ``obj`` and the JSON ``meta``."""
    enc = _Encoder()
    doc = dict(meta, model=enc.enc(obj))
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    arrays = dict(enc.arrays, __meta__=np.frombuffer(text.encode(), dtype=np.uint8))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    payload = buf.getvalue()
    header = json.dumps(
        {"format_version": FORMAT_VERSION,
         "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)},
        sort_keys=True, separators=(",", ":"),
    ).encode("ascii")
    return MAGIC + header + b"\n" + payload


def read_checked(data: bytes, where: str) -> tuple[dict, dict]:
    """Verify the container and return ``(meta, arrays)``; ValueError otherwise."""
    if data[:1] == b"\x80" or data[:2] in (b"(d", b"(l", b"}q", b"]q"):
        raise ValueError(
            f"{where} is a Python pickle, which tsmirrors does not load (loading a "
            "pickle can run arbitrary code); save the model again with this version"
        )
    if not data.startswith(MAGIC):
        raise ValueError(f"{where} is not a tsmirrors model file")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    if end < 0:
        raise ValueError(f"{where} is corrupted: no model file header")
    try:
        header = json.loads(data[len(MAGIC):end].decode("ascii"))
        version = header["format_version"]
        digest = header["sha256"]
        size = header["size"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{where} is corrupted: unreadable header ({exc})") from exc
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{where} is corrupted: bad format version {version!r}")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{where} uses model file format version {version}; this tsmirrors "
            f"reads version {FORMAT_VERSION}"
            + (" (upgrade tsmirrors to load it)" if version > FORMAT_VERSION else "")
        )
    payload = data[end + 1:]
    if not isinstance(size, int) or len(payload) != size:
        raise ValueError(
            f"{where} is corrupted or truncated: {len(payload)} payload bytes, "
            f"the header says {size}"
        )
    if not isinstance(digest, str) or hashlib.sha256(payload).hexdigest() != digest:
        raise ValueError(f"{where} is corrupted: its SHA-256 checksum does not match")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(bytes(arrays.pop("__meta__")).decode("utf-8"))
    except Exception as exc:  # a crafted payload with a valid checksum
        raise ValueError(f"{where} is not a readable model file: {exc}") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{where} is not a readable model file")
    return meta, arrays


def build(meta: dict, arrays: dict, where: str):
    """Rebuild the object tree of a verified file."""
    try:
        return _Decoder(arrays).dec(meta["model"])
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    except Exception as exc:  # KeyError, TypeError, ... of a crafted file
        raise ValueError(f"{where} is not a readable model file: {exc!r}") from exc


def loads(data: bytes, where: str = "model file"):
    """``(meta, obj)`` from the bytes of a model file."""
    meta, arrays = read_checked(data, where)
    return meta, build(meta, arrays, where)
