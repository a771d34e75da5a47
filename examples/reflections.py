"""Reflections in trained networks: Figures 3.2 and 3.5 of the paper.

On the paper's toy data, the minimum-norm Lasso solutions of deep networks
bend at *reflections* of training points, not only at the points:

* deep narrow abs networks on x = (2, 0, -1), y = (2, 0, 1): depth 3 bends at
  4 = R(0, 2) and depth 4 at 6 = R(R(0, -1), 2);
* a 3-layer symmetrized ReLU network on x = (4, 3, 1, 0, -1),
  y = (2, 1, 0, 0, 1) bends at 2 = R(0, 1).

Adam then trains the same architectures on the training objective (1.1)
with a small beta, starting from the Lasso solution in a few units and
random weights elsewhere (as in Appendix D), and we compare the breakpoints
of both. Writes ``reflections.png`` and prints the breakpoint locations.

Usage: python examples/reflections.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from tsmirrors.features import Library
from tsmirrors.models.sgd import SGDNetRegressor
from tsmirrors.nets import DeepNarrowNet, SymmetrizedNet, training_objective
from tsmirrors.plotting import classify_breakpoints


def numeric_breakpoints(f, lo, hi, n=40001, tol=2e-2):
    """Breakpoints of a piecewise linear function found on a fine grid."""
    grid = np.linspace(lo, hi, n)
    v = f(grid)
    slope = np.diff(v) / np.diff(grid)
    jump = np.abs(np.diff(slope))
    idx = np.flatnonzero(jump > tol * max(1.0, np.abs(slope).max()))
    if idx.size == 0:
        return np.array([])
    groups = np.split(idx, np.flatnonzero(np.diff(idx) > 2) + 1)
    return np.array([grid[g].mean() + (grid[1] - grid[0]) for g in groups])


def lasso_unit(lib, knots, **match):
    """The deep-library unit whose data feature biases sit at ``knots``."""
    f = lib.features_
    idx = [int(np.searchsorted(lib.knots_, v)) for v in knots]
    mask = np.all(f.knot_index == idx, axis=1)
    for name, value in match.items():
        mask &= np.all(getattr(f, name) == value, axis=1)
    if hasattr(f, "partner_index"):
        mask &= f.partner_index < 0
    return f.subset(np.flatnonzero(mask)[:1])


def deep_narrow_case(x, y, depth, knots, n_random, epochs, seed):
    lib = Library(activation="abs", depth=depth, deduplicate=False).fit(x)
    unit = lasso_unit(lib, knots)
    assert np.allclose(unit.evaluate(x)[:, 0], y)  # z = 1, xi = 0 interpolates
    rnd = DeepNarrowNet.random(n_random, depth, "abs", random_state=seed)
    with torch.no_grad():
        w = np.vstack([unit.weights, rnd.weights.numpy()])
        b = np.vstack([unit.biases, rnd.biases.numpy()])
        a = np.concatenate([[1.0], 1e-3 * rnd.alpha.numpy()])
    init = DeepNarrowNet(w, b, a, xi=0.0, activation="abs")
    return unit, init


def train(init, x, y, architecture, depth, beta, epochs, seed):
    model = SGDNetRegressor(
        architecture=architecture,
        activation=init.activation.name,
        depth=depth,
        beta=beta,
        optimizer="adam",
        lr=5e-3,
        epochs=epochs,
        init=init,
        random_state=seed,
    )
    return model.fit(x[:, None], y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs")
    parser.add_argument("--out", default=".", help="output directory")
    args = parser.parse_args()
    epochs = 200 if args.quick else 2000
    beta = 1e-4
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    lo, hi = -4.0, 8.0
    grid = np.linspace(lo, hi, 1201)
    cases = []
    x = np.array([2.0, 0.0, -1.0])
    y = np.array([2.0, 0.0, 1.0])
    for depth, knots in ((3, (2.0, 0.0)), (4, (2.0, -1.0, 0.0))):
        unit, init = deep_narrow_case(x, y, depth, knots, 20, epochs, seed=depth)
        trained = train(init, x, y, "deep_narrow", depth, beta, epochs, seed=depth)
        cases.append((f"deep narrow abs, L={depth}", x, y, unit, trained))

    xs = np.array([4.0, 3.0, 1.0, 0.0, -1.0])
    ys = np.array([2.0, 1.0, 0.0, 0.0, 1.0])
    lib = Library(
        activation="relu", depth=3, architecture="symmetrized", deduplicate=False
    ).fit(xs)
    unit = lasso_unit(
        lib, (1.0, 1.0, 0.0), first_weights=[1.0, -1.0], second_weights=[1.0, 1.0]
    )
    assert np.allclose(unit.evaluate(xs)[:, 0], ys)
    rnd = SymmetrizedNet.random(20, "relu", random_state=0)
    with torch.no_grad():
        init = SymmetrizedNet(
            np.vstack([unit.first_weights, rnd.first_weights.numpy()]),
            np.vstack([unit.first_biases, rnd.first_biases.numpy()]),
            np.vstack([unit.second_weights, rnd.second_weights.numpy()]),
            np.concatenate([unit.second_biases, rnd.second_biases.numpy()]),
            np.concatenate([[1.0], 1e-3 * rnd.alpha.numpy()]),
            activation="relu",
        )
    trained = train(init, xs, ys, "symmetrized", 3, beta, epochs, seed=0)
    cases.append(("symmetrized ReLU, L=3", xs, ys, unit, trained))

    for ax, (name, xd, yd, unit, trained) in zip(axes, cases):
        lasso_bp = unit.breakpoints(0, lo, hi)
        net = trained.net_
        adam_bp = numeric_breakpoints(net.predict, lo, hi)
        lasso_kinds = classify_breakpoints(lasso_bp, xd)
        print(
            f"\n{name}: training objective of the Adam network "
            f"{training_objective(net, xd[:, None], yd, beta):.6f}"
        )
        print(
            "  Lasso breakpoints: "
            + ", ".join(
                f"{b:g} ({k}{' ' + n if n else ''})"
                for b, k, n in lasso_kinds.itertuples(index=False)
            )
        )
        print("  Adam  breakpoints: " + ", ".join(f"{b:.3f}" for b in adam_bp))
        ax.plot(
            grid,
            unit.evaluate(grid)[:, 0],
            color="tab:blue",
            lw=2,
            label="Lasso (min norm)",
        )
        ax.plot(
            grid,
            net.predict(grid),
            color="tab:orange",
            lw=1.2,
            ls="--",
            label="Adam-trained",
        )
        ax.scatter(xd, yd, color="black", zorder=3, label="training data")
        for b, kind in zip(lasso_kinds["breakpoint"], lasso_kinds["kind"]):
            if kind != "training point":
                ax.axvline(b, color="tab:red", ls=":", lw=1)
                ax.annotate(
                    f"{kind} {b:g}",
                    (b, 0.98),  # the top is clear: the networks dip at reflections
                    xycoords=("data", "axes fraction"),
                    color="tab:red",
                    fontsize=7,
                    rotation=90,
                    ha="right",
                    va="top",
                )
        ax.set_title(name)
        ax.set_xlabel("input x")
        ax.set_ylabel("network output f(x)")
        ax.grid(alpha=0.3)
    # one legend below the panels: inside them it hid the reflection labels
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3,
               fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(out / "reflections.png", dpi=110)
    print(f"\nwrote {out / 'reflections.png'}")


if __name__ == "__main__":
    main()
