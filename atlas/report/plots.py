"""The report's figures: matplotlib (Agg backend) rendered to inline SVG text.

Each function takes a DataFrame of :mod:`atlas.report.data` and returns an ``<svg>`` element
(no XML prolog, text kept as text so the page's font renders it), or ``None`` when there is
nothing to draw. Axes are labelled with their units; the figures are the ones a paper shows:
a neuron's activation histogram, detectors per layer against the random-init control, the
layer distribution of a concept's top units, method agreement, the layer-wise probe curve and
probe accuracy against k.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

#: Line styles by probe metric: (label, colour, dash).
PROBE_LINES = {
    "accuracy": ("full probe", "#1f77b4", "-"),
    "top": ("top-k neurons", "#2ca02c", "-"),
    "random": ("random k neurons", "#7f7f7f", "--"),
    "bottom": ("bottom-k neurons", "#d62728", ":"),
    "control_accuracy": ("control task", "#9467bd", "-."),
    "majority": ("majority baseline", "#000000", ":"),
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "neuron-atlas", "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 96,
                                "figure.constrained_layout.use": True})
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element at its own size (shrunk to fit a narrower page by the
    page's style); the figure is closed."""
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    return text.replace("<svg ", '<svg class="figure" role="img" ', 1)


def _plain_ticks(axis: Any) -> None:
    """Tick labels of a log axis as plain numbers (1, 10, 100): no mathtext, which is slow to lay out."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def histogram(frame: pd.DataFrame, title: str) -> str | None:
    """A neuron's activation histogram (low, high, count): words per activation bin, log scale."""
    if frame.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 2.6), layout="none")  # fixed margins: one draw (a report has many)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.19, top=0.88)
    width = (frame["high"] - frame["low"]).to_numpy()
    ax.bar(frame["low"], frame["count"], width=width, align="edge", color="#4c72b0", edgecolor="white", linewidth=0.5)
    ax.set_yscale("symlog", linthresh=1)
    _plain_ticks(ax.yaxis)
    ax.set_xlabel("activation (unit output)")
    ax.set_ylabel("words (log scale)")
    ax.set_title(title, fontsize=9)
    return _svg(fig)


def detectors_by_layer(counts: pd.DataFrame, model: str, control: str | None) -> str | None:
    """Fraction of units that are detectors per layer, one panel per site, a line per method;
    the random-init control dashed, in the same colour."""
    mine = counts[counts["model"].isin([model] + ([control] if control else []))]
    if mine.empty:
        return None
    plt = _pyplot()
    sites = sorted(mine["site"].unique())
    fig, axes = plt.subplots(1, len(sites), figsize=(4.2 * len(sites), 3.0), squeeze=False, sharey=True)
    methods = sorted(mine["method"].unique())
    colours = {m: plt.cm.tab10(i % 10) for i, m in enumerate(methods)}
    for ax, site in zip(axes[0], sites):
        part = mine[mine["site"] == site]
        for (name, method), line in part.groupby(["model", "method"], sort=True):
            line = line.groupby("layer", as_index=False)["fraction"].max()
            dashed = name != model
            ax.plot(line["layer"], 100 * line["fraction"], marker="o" if not dashed else None, markersize=3,
                    linestyle="--" if dashed else "-", color=colours[method],
                    label=f"{method} ({name})" if dashed else method)
        ax.set_title(f"{model}: {site}", fontsize=9)
        ax.set_xlabel("layer")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0][0].set_ylabel("units that are detectors (%)")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _svg(fig)


def detectors_by_depth(counts: pd.DataFrame, methods: list[str]) -> str | None:
    """Fraction of detectors against relative depth (layer / layers), a panel per method, a line
    per model and site: the cross-architecture view."""
    part = counts[counts["method"].isin(methods)]
    if part.empty:
        return None
    plt = _pyplot()
    methods = [m for m in methods if m in set(part["method"])]
    fig, axes = plt.subplots(1, len(methods), figsize=(3.4 * len(methods), 2.9), squeeze=False, sharey=True)
    for ax, method in zip(axes[0], methods):
        for (model, site), line in part[part["method"] == method].groupby(["model", "site"], sort=True):
            line = line.groupby("depth", as_index=False)["fraction"].max()
            ax.plot(line["depth"], 100 * line["fraction"], marker="o", markersize=3,
                    linestyle="--" if model.endswith("-random") else "-", label=f"{model} {site}")
        ax.set_title(method, fontsize=9)
        ax.set_xlabel("relative depth (layer / layers)")
        ax.set_xlim(-0.05, 1.0)
    axes[0][0].set_ylabel("units that are detectors (%)")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _svg(fig)


def top_unit_layers(tops: dict[str, pd.DataFrame], n_layers: int, title: str) -> str | None:
    """Where a concept's top units sit: count of each method's top units per layer (grouped bars)."""
    tops = {m: f for m, f in tops.items() if not f.empty}
    if not tops:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 2.8))
    width = 0.8 / len(tops)
    layers = np.arange(n_layers)
    for i, (method, frame) in enumerate(sorted(tops.items())):
        counts = np.bincount(frame["layer"].astype(int).clip(0, n_layers - 1), minlength=n_layers)
        ax.bar(layers - 0.4 + (i + 0.5) * width, counts, width=width, label=method)
    ax.set_xticks(layers)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("layer")
    ax.set_ylabel("top units (count)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _svg(fig)


def agreement_matrix(frame: pd.DataFrame, title: str) -> str | None:
    """The methods' pairwise Jaccard agreement on the top units, as an annotated heat map."""
    if frame.empty or len(frame) < 2:
        return None
    plt = _pyplot()
    n = len(frame)
    fig, ax = plt.subplots(figsize=(1.2 + 0.45 * n, 0.9 + 0.45 * n))
    values = frame.to_numpy(dtype=float)
    image = ax.imshow(values, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(n), frame.columns, rotation=45, ha="right")
    ax.set_yticks(range(n), frame.index)
    for i in range(n):
        for j in range(n):
            if values[i, j] == values[i, j]:
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if values[i, j] > 0.6 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="Jaccard index")
    ax.set_title(title, fontsize=9)
    ax.spines[:].set_visible(False)
    return _svg(fig)


def probe_layers(curve: pd.DataFrame, title: str) -> str | None:
    """The layer-wise probe curve: accuracy per layer of the full probe, top/random/bottom-k,
    the control task and the majority baseline (one panel per model and task)."""
    part = curve[curve["metric"].isin(list(PROBE_LINES))]
    if part.empty:
        return None
    plt = _pyplot()
    groups = list(part.groupby(["model", "task", "site"], sort=True))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.0 * len(groups), 2.9), squeeze=False, sharey=True)
    for ax, ((model, task, site), frame) in zip(axes[0], groups):
        for metric, (label, colour, dash) in PROBE_LINES.items():
            line = frame[frame["metric"] == metric].groupby("layer", as_index=False)["value"].mean()
            if not line.empty:
                ax.plot(line["layer"], line["value"], linestyle=dash, color=colour, marker="o", markersize=3, label=label)
        ax.set_title(f"{model} {site}: {task}", fontsize=9)
        ax.set_xlabel("layer")
        ax.set_ylim(0, 1.02)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0][0].set_ylabel("held-out accuracy")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title=title,
                       title_fontsize=7)
    return _svg(fig)


def probe_accuracy_vs_k(curve: pd.DataFrame, title: str) -> str | None:
    """Probe accuracy against k (the probe restricted to its k highest-weighted neurons), a line
    per layer (one panel per model and task)."""
    part = curve[curve["k"].notna()]
    if part.empty:
        return None
    plt = _pyplot()
    groups = list(part.groupby(["model", "task", "site"], sort=True))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.0 * len(groups), 2.9), squeeze=False, sharey=True)
    for ax, ((model, task, site), frame) in zip(axes[0], groups):
        for layer, line in frame.groupby("layer", sort=True):
            line = line.sort_values("k")
            ax.plot(line["k"].astype(float), line["value"], marker="o", markersize=3, label=f"layer {layer}")
        ax.set_xscale("log")
        ax.set_xticks(sorted(frame["k"].astype(float).unique()))
        _plain_ticks(ax.xaxis)
        ax.set_title(f"{model} {site}: {task}", fontsize=9)
        ax.set_xlabel("k (neurons kept, log scale)")
        ax.set_ylim(0, 1.02)
    axes[0][0].set_ylabel("held-out accuracy")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title=title,
                       title_fontsize=7)
    return _svg(fig)


def compare_bars(frame: pd.DataFrame, title: str) -> str | None:
    """The language's ``compare`` answer (model, depth or layer, fraction) as grouped bars."""
    if frame.empty or "fraction" not in frame:
        return None
    plt = _pyplot()
    key = "depth" if "depth" in frame else "layer"
    groups = sorted(frame[key].astype(str).unique())
    models = list(dict.fromkeys(frame["model"]))
    fig, ax = plt.subplots(figsize=(5.6, 2.8))
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        part = frame[frame["model"] == model].set_index(frame[frame["model"] == model][key].astype(str))
        values = [100 * float(part["fraction"].get(g, 0.0)) for g in groups]
        ax.bar(np.arange(len(groups)) - 0.4 + (i + 0.5) * width, values, width=width, label=model,
               hatch="//" if model.endswith("-random") else None)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_xlabel("relative depth" if key == "depth" else "layer")
    ax.set_ylabel("units matching (%)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return _svg(fig)


#: How the ablation curve draws each selection of neurons.
ABLATION_LINES = {"top": ("top-k", "#c0392b", "-"), "random": ("random-k", "#7f8c8d", "--"),
                  "bottom": ("bottom-k", "#2471a3", ":")}


def ablation_curve(frame: pd.DataFrame, title: str) -> str | None:
    """Top/random/bottom-k ablation curves: what each metric became against the number of
    neurons clamped (log scale), the unablated model as a horizontal line; a panel per metric
    that has values (a sentence encoder has no LM loss: its loss rows are empty)."""
    if not frame.empty:
        frame = frame[frame["value"].notna() | (frame["selection"] == "none")]
    part = frame[frame["selection"].isin(list(ABLATION_LINES))] if not frame.empty else frame
    if part.empty:
        return None
    plt = _pyplot()
    groups = list(part.groupby(["ranking", "metric"], sort=True))
    fig, axes = plt.subplots(1, len(groups), figsize=(3.8 * len(groups), 2.9), squeeze=False)
    for ax, ((ranking, metric), lines) in zip(axes[0], groups):
        for selection, (label, colour, dash) in ABLATION_LINES.items():
            line = lines[lines["selection"] == selection].sort_values("k")
            if not line.empty:
                ax.plot(line["k"].astype(float), line["value"].astype(float), linestyle=dash, color=colour, marker="o",
                        markersize=3, label=label)
        base = frame[(frame["selection"] == "none") & (frame["ranking"] == ranking) & (frame["metric"] == metric)]
        if not base.empty:
            ax.axhline(float(base["value"].iloc[0]), color="black", linewidth=0.8, label="unablated")
        ax.set_xscale("log")
        _plain_ticks(ax.xaxis)
        ax.set_xticks(sorted({int(k) for k in lines["k"] if k > 0}))  # the k measured, each labelled
        ax.set_xlabel("k (neurons clamped, log scale)")
        ax.set_ylabel(str(metric))
        ax.set_title(f"{ranking}: {metric}", fontsize=9)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title=title,
                       title_fontsize=7)
    return _svg(fig)


def layer_heatmap(matrix: pd.DataFrame, model: str, other: str, method: str) -> str | None:
    """A layer x layer similarity matrix (``layers of A vs B``) as an annotated heat map."""
    if matrix.empty or "layer" not in matrix or len(matrix.columns) < 2:
        return None
    plt = _pyplot()
    values = matrix.drop(columns=["layer"]).to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.6 + 0.5 * values.shape[1], 1.2 + 0.45 * values.shape[0]))
    image = ax.imshow(values, vmin=0, vmax=1, cmap="viridis", origin="lower")
    ax.set_xticks(range(values.shape[1]), [str(c).rsplit(".", 1)[-1] for c in matrix.columns[1:]])
    ax.set_yticks(range(values.shape[0]), [str(v) for v in matrix["layer"]])
    ax.set_xlabel(f"layer of {other}")
    ax.set_ylabel(f"layer of {model}")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if values[i, j] == values[i, j]:
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="black" if values[i, j] > 0.6 else "white")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=method)
    ax.set_title(f"{model} vs {other}: {method}", fontsize=9)
    return _svg(fig)
