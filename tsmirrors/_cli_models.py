"""The forecasters, interval levels and tables of the ``tsmirrors`` command line."""

from __future__ import annotations

import numpy as np


def _network_params(args) -> dict:
    """The parameters every network forecaster takes from the command line.

    Options left out (None) are not passed: each model keeps its own default
    (ConvexAR: every setting "auto"; the quantile and SGD networks: lag 1,
    beta 1, differences).
    """
    given = {
        "lags": args.lags,
        "beta": args.beta,
        "target": args.target,
        "cv_rule": args.cv_rule,
    }
    fixed = all(given[k] not in (None, "auto") for k in ("lags", "beta", "target"))
    if args.cv_rule is not None and fixed:
        raise ValueError(
            f"--cv-rule {args.cv_rule} applies to settings chosen by "
            "cross-validation; add --beta auto, --lags auto or --target auto"
        )
    out = {k: v for k, v in given.items() if v is not None}
    out.update(
        activation=args.activation, depth=args.depth, architecture=args.architecture
    )
    return out


def _point_params(args, steps: int) -> dict:
    """ConvexAR's ``strategy`` (and ``max_horizon``, the --steps) when given."""
    strategy = getattr(args, "strategy", None)
    if strategy in (None, "recursive"):
        return {} if strategy is None else {"strategy": strategy}
    return {"strategy": strategy, "max_horizon": steps}


def _models(args, quantiles, max_horizon: int = 1):
    from .forecasting import (
        AR1Forecaster,
        ConvexAR,
        ConvexQuantileAR,
        NaiveForecaster,
        SGDNetAR,
    )

    net = _network_params(args)
    models = {
        "ConvexAR": ConvexAR(**net, n_features=args.n_features,
                             **_point_params(args, max_horizon)),
        "ConvexQuantileAR": ConvexQuantileAR(
            quantiles=quantiles,
            **net,
            n_features=args.n_features,
            max_horizon=max_horizon,
            calibration="conformal" if args.conformal else None,
        ),
        "AR(1)+bias": AR1Forecaster(quantiles=quantiles),
        "naive": NaiveForecaster(quantiles=quantiles),
    }
    if getattr(args, "scaled", False) and max_horizon == 1:
        from .forecasting import ScaledQuantileAR  # one-step, volatility-scaled

        models["ScaledQuantileAR"] = ScaledQuantileAR(quantiles=quantiles)
    if getattr(args, "garch", False):
        from .forecasting import GARCHForecaster

        models["GARCH(1,1)-t"] = GARCHForecaster(quantiles=quantiles)
    if getattr(args, "sgd", False):
        if _explicit_auto(args):
            raise ValueError(
                "--sgd trains a network at a fixed beta, lags and target; give "
                "numbers, not 'auto'"
            )
        net.pop("cv_rule", None)
        models["SGD net"] = SGDNetAR(**net, random_state=0)
    return models


def _fit_quantile_model(model, train, window: int):
    """``model.fit(train)``; a window too short to calibrate says what to pass.

    The split-conformal calibration holds out the last rows of the window; when
    they are too few, the error names the command-line remedies (a longer
    ``--window``, or ``--no-conformal``) instead of the estimator's parameter.
    """
    try:
        return model.fit(train)
    except ValueError as exc:
        need = _conformal_rows_needed(model, train)
        if need is None:
            raise
        rows, shortest, n_rows, n_cal = need
        chosen = [n for n in ("lags", "target") if getattr(model, n) == "auto"]
        # a longer window may choose other lags or target, and need more rows
        caveat = (
            f" (for the {' and '.join(chosen)} chosen on this window)"
            if chosen
            else ""
        )
        raise ValueError(
            f"--window {window} gives {rows} training rows, too few to hold out "
            "the last quarter for the split-conformal calibration of the "
            f"quantile intervals: that needs {n_rows} rows ({n_cal} for "
            f"calibration); raise --window to at least {shortest}{caveat} or "
            "pass --no-conformal"
        ) from exc


def _conformal_rows_needed(model, train) -> tuple[int, int, int, int] | None:
    """What a window must hold for ``model``'s conformal calibration.

    Called after ``model.fit(train)`` failed. Returns the training rows
    ``train`` gives, the shortest window that calibrates, and the training and
    calibration rows of that window; None when the calibration was not the
    cause (no conformal calibration, settings not yet chosen, or ``train``
    long enough for it).
    """
    from .forecasting import make_transform
    from .forecasting.base import check_quantiles

    if model.calibration != "conformal" or not hasattr(model, "target_"):
        return None
    levels = np.asarray(train, dtype=np.float64)
    changes = make_transform(model.target_).fit(levels).forward(levels)
    # the window values that give no training row: those the target transform
    # consumes, the first lags, and the last max_horizon - 1 steps
    extra = levels.size - changes.size + model._n_lags() + model.max_horizon - 1
    taus = check_quantiles(model.quantiles)

    def calibration_rows(n_rows: int) -> int | None:
        try:
            n_cal = model._n_calibration(n_rows)
            model._check_calibration_rows(taus, n_cal, n_rows)
        except ValueError:
            return None
        return n_cal

    rows = max(levels.size - extra, 1)
    if calibration_rows(rows) is not None:
        return None
    # rows held out and rows fitted both grow with the window: the first
    # length that works is the answer
    for n_rows in range(rows + 1, rows + 10**6):
        n_cal = calibration_rows(n_rows)
        if n_cal is not None:
            return rows, n_rows + extra, n_rows, n_cal
    return None


def _automatic(args) -> list[str]:
    """ConvexAR's settings chosen by cross-validation ('auto', or left out)."""
    names = ("beta", "lags", "target")
    return [name for name in names if getattr(args, name) in ("auto", None)]


def _explicit_auto(args) -> list[str]:
    """The options given as 'auto' on the command line."""
    return [n for n in ("beta", "lags", "target") if getattr(args, n) == "auto"]


def _calendar(args, index):
    """Calendar inputs for ConvexAR (``--calendar``), or None."""
    if not getattr(args, "calendar", False):
        return None
    import pandas as pd

    from .data import calendar_features

    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError("--calendar needs timestamps; this series has none")
    return calendar_features(index)


def _chosen_settings(model) -> str:
    """What a fit with 'auto' settings chose, in one line."""
    lags = ",".join(str(int(k)) for k in np.atleast_1d(model.lags_in_use_)) or "none"
    return (
        f"beta {model.beta_:.4g}, target {model.target_}, lags in use {lags}, "
        f"{model.n_neurons_} neuron(s)"
    )


def _quantiles_for(coverage: float):
    lo = round((1 - coverage) / 2, 6)
    return (lo, 0.5, round(1 - lo, 6))


def _interval(args) -> tuple[tuple[float, ...], float]:
    """The quantile levels to forecast and the coverage of the interval shown.

    Without --quantiles: the median and the central interval of --coverage
    (0.9 by default). With --quantiles and no --coverage: the interval of the
    outermost symmetric pair of levels.
    """
    if args.quantiles is None:
        coverage = 0.9 if args.coverage is None else args.coverage
        return _quantiles_for(coverage), coverage
    levels = np.asarray(args.quantiles)
    pairs = [
        round(1 - 2 * tau, 6)
        for tau in levels
        if tau < 0.5 and np.any(np.isclose(levels, 1 - tau))
    ]
    if args.coverage is None:
        if not pairs:
            raise ValueError(
                f"--quantiles {_format_levels(levels)} has no symmetric pair "
                "(tau, 1 - tau) to show as an interval; add one, e.g. "
                "--quantiles 0.05,0.5,0.95"
            )
        return tuple(args.quantiles), max(pairs)
    if not any(np.isclose(args.coverage, pairs)):
        lo, hi = (1 - args.coverage) / 2, (1 + args.coverage) / 2
        raise ValueError(
            f"--coverage {args.coverage:g} needs the levels {lo:g} and {hi:g} in "
            f"--quantiles {_format_levels(levels)}"
        )
    return tuple(args.quantiles), args.coverage


def _format_levels(levels) -> str:
    return ",".join(f"{tau:g}" for tau in levels)


# ------------------------------------------------------------------ tables
COLUMNS = [
    ("mse", "MSE"),
    ("mae", "MAE"),
    ("mase", "MASE"),
    ("pinball", "pinball"),
    ("coverage", "coverage"),
    ("width", "width"),
]


def format_table(rows: dict) -> str:
    """A plain-text comparison table, one row per model."""
    header = f"{'model':<18}" + "".join(f"{name:>12}" for _, name in COLUMNS)
    lines = [header, "-" * len(header)]
    for model, overall in rows.items():
        cells = []
        for key, _ in COLUMNS:
            v = overall.get(key, np.nan)
            cells.append(
                f"{'-':>12}" if v is None or not np.isfinite(v) else f"{v:>12.4g}"
            )
        lines.append(f"{model:<18}" + "".join(cells))
    return "\n".join(lines)



def _garch_available(y) -> bool:
    """GARCH(1,1)-t joins the table when ``arch`` is installed, for prices."""
    import importlib.util

    return importlib.util.find_spec("arch") is not None and bool((y > 0).all())


def format_risk_table(series, preds, coverage: float) -> str:
    """Value-at-risk backtests of each quantile model's one-step forecasts."""
    from .risk_report import risk_report

    lines = [
        f"{'value at risk':<18}{'hit lo':>9}{'hit hi':>9}{'Kupiec':>9}"
        f"{'Chr. CC':>9}{'DQ':>9}{'cov calm':>10}{'cov vol':>9}{'w~vol':>8}",
    ]
    lines.append("-" * len(lines[0]))
    lo, hi = round((1 - coverage) / 2, 6), round((1 + coverage) / 2, 6)
    for name, frame in preds.groupby("model", sort=False):
        if not any(c.startswith("q_") for c in frame.columns if frame[c].notna().any()):
            continue
        frame = frame.dropna(axis=1, how="all")
        rep = risk_report(series, frame, coverage=coverage)
        hits = {round(float(k), 6): v for k, v in rep["hit"].items()}
        n_levels = len(hits)
        lines.append(
            f"{name:<18}{hits.get(lo, np.nan):>9.3f}{hits.get(hi, np.nan):>9.3f}"
            f"{len(rep['kupiec_rejected']):>7}/{n_levels}"
            f"{len(rep['cc_rejected']):>7}/{n_levels}"
            f"{len(rep['dq_rejected']):>7}/{n_levels}"
            f"{rep['coverage_calm']:>10.3f}{rep['coverage_volatile']:>9.3f}"
            f"{rep['width_vol_corr']:>8.2f}"
        )
    return "\n".join(lines)
