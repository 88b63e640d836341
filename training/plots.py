"""Pictures people look at: off-policy comparisons and learning curves, saved as PNG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

import matplotlib.pyplot as plt


def ope_comparison(
    estimates: Mapping[str, Mapping[str, tuple[float, float, float]]], path: Path, title: str
) -> Path:
    """Grouped bars: for each policy, each estimator's value with its interval.

    ``estimates[policy][estimator] = (value, low, high)``.
    """
    policies = list(estimates)
    estimators = sorted({name for by in estimates.values() for name in by})
    width = 0.8 / max(len(estimators), 1)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.6 * len(policies) * len(estimators) / 3), 4))
    for index, estimator in enumerate(estimators):
        xs, values, errors_low, errors_high = [], [], [], []
        for p_index, policy in enumerate(policies):
            if estimator not in estimates[policy]:
                continue
            value, low, high = estimates[policy][estimator]
            xs.append(p_index + (index - (len(estimators) - 1) / 2) * width)
            values.append(value)
            errors_low.append(max(value - low, 0.0))
            errors_high.append(max(high - value, 0.0))
        axes.bar(xs, values, width, yerr=[errors_low, errors_high], capsize=3, label=estimator)
    axes.set_xticks(range(len(policies)), policies)
    axes.set_ylabel("estimated reward per decision")
    axes.set_title(title)
    axes.axhline(0.0, color="black", linewidth=0.5)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def learning_curve(
    curves: Mapping[str, Sequence[tuple[int, float]]],
    path: Path,
    title: str,
    ylabel: str,
    xlabel: str = "decisions",
) -> Path:
    """One line per series of ``(decisions seen, value)`` points."""
    figure, axes = plt.subplots(figsize=(7, 4))
    for name, points in curves.items():
        if points:
            xs, ys = zip(*points, strict=True)
            axes.plot(xs, ys, label=name)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def policy_comparison(values: Mapping[str, float], path: Path, title: str, ylabel: str) -> Path:
    """One bar per policy, for a single measure (reward per decision, violations...)."""
    figure, axes = plt.subplots(figsize=(max(6.0, 1.2 * len(values)), 4))
    names = list(values)
    bars = axes.bar(names, [values[n] for n in names], color="#4C72B0")
    axes.bar_label(bars, fmt="%.4g", fontsize="small")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.axhline(0.0, color="black", linewidth=0.5)
    axes.tick_params(axis="x", labelrotation=20)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
