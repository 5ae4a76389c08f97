"""``atlas report``: a static, self-contained HTML report of the atlas.

Pages (in the folder ``out``; open ``index.html``, no network or server needed: the style is
inline and the figures are inline SVG):

* ``index.html``: what the report covers, with links;
* ``model-NAME.html``, an overview per model: its layers × sites, and how many units reach each
  method's detector threshold per layer, against its random-init control when there is one;
* ``concept-NAME.html``, a page per concept: its top units by every method (each linked to its
  card), the methods' agreement on them, their layer distribution, the concept's detectors per
  layer against the control, the layer-wise probe curve and probe accuracy against k;
* ``neuron-ID.html``, a card per unit a concept page mentions: every section of ``neuron ID``
  (:data:`atlas.query.views.SECTIONS` and any section added later, as a table), the activation
  histogram, the top words with their sentence and the word highlighted;
* ``compare.html``: the models side by side by relative depth.

Every table and figure shows the SQL (``atlas sql``) or the query (``atlas query``) it came from.

Example::

    summary = write_report(db, "report/", models=["minilm"], concepts=["negation"])
    summary["index"]      # the path of index.html
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from atlas.errors import AtlasError
from atlas.query.views import SECTIONS
from atlas.report import data, plots
from atlas.store.views import DETECTOR_THRESHOLDS

#: The methods whose detector threshold the concept and comparison pages use, first found first.
MAIN_METHODS = ("ap", "selectivity", "iou", "precision", "probe")
#: The neuron card's order: what the unit fires on and the formula that explains it side by side,
#: then its distribution, the concepts it encodes, what clamping it costs, its partners and notes
#: (sections the view adds later follow, in the view's order).
CARD_ORDER = ("stats", "top_words", "explanations", "histogram", "concepts", "causal", "similar", "notes")
#: How to fill a neuron-card section that is empty (``{run}`` and ``{neuron}`` are filled in).
HOW_TO_FILL = {
    "stats": "atlas extract MODEL --corpus CORPUS (statistics are recorded while extracting)",
    "concepts": "atlas score --run {run}",
    "top_words": "atlas extract MODEL --corpus CORPUS (the top words are recorded while extracting)",
    "histogram": "atlas extract MODEL --corpus CORPUS (the histogram reads the run's activation file)",
    "explanations": "atlas explain --run {run} (compositional explanations of the neuron)",
    "notes": "a lab member's note on {neuron}",
    "similar": "atlas correlate {model} OTHER_MODEL (its closest partners in another model)",
    "causal": "atlas ablate --run {run} --neurons, atlas attribute --run {run} (what clamping the neuron costs)",
    "labels": "a label for {neuron}",
}
SECTION_TITLES = {
    "stats": "statistics",
    "concepts": "best concepts by each method",
    "top_words": "top-activating words in context",
    "histogram": "activation histogram",
    "explanations": "explanations",
    "notes": "notes",
}

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#1f3b57;color:#fff;padding:10px 24px}header a{color:#fff;margin-right:16px;text-decoration:none}
main{max-width:1200px;margin:0 auto;padding:8px 24px 40px}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
section.panel{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:12px 16px;margin:14px 0}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.row>.main{flex:1 1 560px;min-width:0}
.row>.source{flex:0 1 380px;min-width:260px}
.source pre{background:#f3f5f7;border:1px solid #dde2e7;border-radius:4px;padding:8px;font-size:12px;white-space:pre-wrap;
word-break:break-word;margin:4px 0}.source .label{font-size:12px;color:#555}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f6f6}
td.params{font-size:11px;color:#555;max-width:240px;overflow-wrap:anywhere}.row>.main{overflow-x:auto}
svg.figure{max-width:100%;height:auto}mark{background:#ffe08a;padding:0 2px;border-radius:2px}
.empty{color:#666;font-style:italic}.note{color:#555;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}.card{border:1px solid #eee;
border-radius:4px;padding:6px 10px;background:#fff;min-width:0}h3{font-size:14px;margin:4px 0}.card .source pre{font-size:11px}
"""


@dataclass
class Site:
    """The report being written: its folder, the pages written and the neuron cards to write."""

    out: Path
    pages: list[str] = field(default_factory=list)
    neurons: dict[str, str] = field(default_factory=dict)  # neuron id -> file name
    concepts: dict[str, str] = field(default_factory=dict)  # concept -> file name
    models: dict[str, str] = field(default_factory=dict)  # model -> file name
    timings: dict[str, float] = field(default_factory=dict)

    def neuron_page(self, neuron: str) -> str:
        return self.neurons.setdefault(neuron, slug("neuron", neuron))


def slug(kind: str, name: str) -> str:
    """A safe file name for a page: ``kind-NAME.html`` (a short hash where NAME needed changes).

    >>> slug("neuron", "minilm/mlp.0/829"), slug("concept", "noun")
    ('neuron-minilm_mlp.0_829.html', 'concept-noun.html')
    """
    plain = name.replace("/", "_")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", plain)
    if safe != plain:
        safe += "-" + hashlib.sha1(name.encode()).hexdigest()[:6]
    return f"{kind}-{safe}.html"


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def number(value: float) -> str:
    """A float as the tables show it: four significant digits, blank for NaN.

    >>> number(0.0194323138147549), number(12345.6), number(float("nan"))
    ('0.01943', '12346', '')
    """
    return "" if value != value else (f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}")


def params_text(params: dict[str, Any]) -> str:
    """A method's parameters as ``key=value`` pairs, as the query language writes them.

    >>> params_text({"value": "zero", "sentences": 64, "seed": 0}), params_text({})
    ('value=zero, sentences=64, seed=0', 'defaults')
    """
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"


def _cell(value: Any, column: str, site: Site) -> str:
    if isinstance(value, float):
        return f'<td class="num">{number(value)}</td>'
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f'<td class="num">{value}</td>'
    if value is None or value is pd.NA or (hasattr(value, "dtype") and value != value):
        return "<td></td>"
    if column == "params" and isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict):  # a method's parameters: compact, and wrapped in a narrow column
        return f'<td class="params">{esc(params_text(value))}</td>'
    text = str(value)
    if column == "neuron" and text in site.neurons:
        return f'<td><a href="{esc(site.neurons[text])}">{esc(text)}</a></td>'
    if column == "concept" and text in site.concepts:
        return f'<td><a href="{esc(site.concepts[text])}">{esc(text)}</a></td>'
    if column == "context":
        marked = re.sub(r"\[\[(.*?)\]\]", lambda m: f"<mark>{m.group(1)}</mark>", esc(text))
        return f"<td>{marked}</td>"
    return f"<td>{esc(text)}</td>"


def table(frame: pd.DataFrame, site: Site, *, max_rows: int = 60, empty: str = "no rows") -> str:
    """A DataFrame as an HTML table; neuron ids and concepts with a page link to it, the word of a
    ``context`` (``[[word]]``) highlighted."""
    if frame.empty:
        return f'<p class="empty">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for values in frame.head(max_rows).itertuples(index=False, name=None):
        cells = [_cell(v.item() if hasattr(v, "item") else v, str(c), site) for v, c in zip(values, frame.columns)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">… {len(frame) - max_rows} more rows</p>' if len(frame) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def source(frame_or_source: Any) -> str:
    """Where a table or figure came from, with the command that reruns it."""
    src = frame_or_source.attrs.get("source") if hasattr(frame_or_source, "attrs") else frame_or_source
    if not src:
        return ""
    kind, text = src["kind"], src["text"]
    if kind == "sql":
        label, shown = "SQL over the named views of schema/ (rerun it read-only):", f"atlas sql {_shell(text)}"
    elif kind == "query":
        label, shown = "query (rerun it):", f"atlas query {_shell(text)}"
    else:
        label, shown = "computed:", text
    extra = f'<div class="label">{esc(src["note"])}</div>' if src.get("note") else ""
    if src.get("sql"):
        extra += f'<div class="label">the same rows from the named views:</div><pre>atlas sql {esc(_shell(src["sql"]))}</pre>'
    return f'<div class="source"><div class="label">{esc(label)}</div><pre>{esc(shown)}</pre>{extra}</div>'


def _shell(text: str) -> str:
    """``text`` as one shell word: single quotes when it has none, else double quotes with
    ``\\``, ``"``, ``$`` and backquotes escaped.

    >>> print(_shell("SELECT 1"), _shell("WHERE a = 'x'"))
    'SELECT 1' "WHERE a = 'x'"
    """
    if "'" not in text:
        return f"'{text}'"
    return '"' + re.sub(r'([\\"$`])', r"\\\1", text) + '"'


def panel(title: str, body: str, src: Any = None, *, anchor: str | None = None) -> str:
    """A titled box: the table or figure, with its source beside it."""
    ident = f' id="{esc(anchor)}"' if anchor else ""
    side = source(src) if src is not None else ""
    return (f'<section class="panel"{ident}><h2>{esc(title)}</h2><div class="row"><div class="main">{body}</div>'
            f"{side}</div></section>")


def grid(items: list[tuple[str, str, Any]]) -> str:
    """Small titled tables side by side, each with its source under it."""
    cards = "".join(f'<div class="card"><h3>{esc(title)}</h3>{body}{source(src)}</div>' for title, body, src in items)
    return f'<div class="grid">{cards}</div>'


def figure(svg: str | None, empty: str) -> str:
    return svg if svg else f'<p class="empty">{esc(empty)}</p>'


def page(site: Site, name: str, title: str, body: str) -> None:
    """Write one page (with the navigation bar) into the report folder."""
    nav = '<a href="index.html">index</a>' + "".join(
        f'<a href="{esc(f)}">{esc(m)}</a>' for m, f in sorted(site.models.items())) + '<a href="compare.html">comparison</a>'
    text = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)} · Neuron Atlas</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f"<body><header>{nav}</header><main><h1>{esc(title)}</h1>{body}</main></body></html>\n")
    (site.out / name).write_text(text, encoding="utf-8")
    site.pages.append(name)


def write_report(db: Any, out: str | Path, *, runs: list[Any] | None = None, models: list[str] | None = None,
                 concepts: list[str] | None = None, neurons: list[str] | None = None,
                 top: int = data.TOP_UNITS) -> dict[str, Any]:
    """Write the report of ``db`` into the folder ``out`` (created; existing pages replaced).

    Args:
        db: an open :class:`~atlas.api.Atlas`.
        out: the report folder.
        runs / models: the runs (ids) or models to report on (default: every model with a done
            run, each with its random-init control).
        concepts: the concepts to page (default: up to :data:`atlas.report.data.DEFAULT_CONCEPTS`
            scored named concepts, :data:`atlas.report.data.PREFERRED_CONCEPTS` first).
        neurons: neuron ids to write a card for, besides the units the concept pages name.
        top: units per method in a concept's top-units table.

    Returns:
        ``{"index": path of index.html, "pages": number of pages, "seconds": time taken,
        "timings": seconds per part}``.

    Raises:
        AtlasError: a named run, model or concept does not exist, or nothing is scored.
    """
    started = time.perf_counter()
    site = Site(Path(out))
    site.out.mkdir(parents=True, exist_ok=True)
    subjects = data.report_subjects(db, runs=runs, models=models)
    if not subjects:
        raise AtlasError("there is nothing to report: no model has a done run", hint="run `atlas extract` and `atlas score` first")
    run_ids = [s.run_id for s in subjects] + [s.control_run_id for s in subjects if s.control_run_id is not None]
    scored = data.scored_concepts(db, run_ids)
    chosen = list(concepts) if concepts else data.default_concepts(scored)
    unknown = [c for c in chosen if c not in set(scored["concept"])]
    if unknown:
        raise AtlasError(f"concept {unknown[0]!r} has no complete score sets in the reported runs",
                         hint=f"score it: atlas score --run {subjects[0].run_id} --concepts {unknown[0]}")
    site.models = {s.model: slug("model", s.model) for s in subjects}
    site.concepts = {c: slug("concept", c) for c in chosen}
    for neuron in neurons or ():
        site.neuron_page(str(neuron))
    counts = _timed(site, "detector counts", lambda: data.detector_counts(db, run_ids))
    for subject in subjects:
        _timed(site, "model pages", lambda s=subject: _model_page(db, site, s, counts))
    for concept in chosen:
        _timed(site, "concept pages", lambda c=concept: _concept_page(db, site, subjects, c, top))
    _timed(site, "comparison page", lambda: _compare_page(db, site, subjects, counts, chosen))
    for neuron in list(site.neurons):
        _timed(site, "neuron cards", lambda n=neuron: _neuron_page(db, site, n))
    _index_page(site, subjects, chosen)
    return {"index": str((site.out / "index.html").resolve()), "pages": len(site.pages),
            "seconds": time.perf_counter() - started, "timings": dict(site.timings)}


def _timed(site: Site, part: str, fn: Any) -> Any:
    t0 = time.perf_counter()
    try:
        return fn()
    finally:
        site.timings[part] = site.timings.get(part, 0.0) + time.perf_counter() - t0


def _index_page(site: Site, subjects: list[data.Subject], concepts: list[str]) -> None:
    items = "".join(
        f'<li><a href="{esc(site.models[s.model])}">{esc(s.model)}</a> (run {s.run_id}'
        + (f"; random-init control {esc(s.control)}, run {s.control_run_id}" if s.control else "; no random-init control")
        + ")</li>" for s in subjects)
    links = "".join(f'<li><a href="{esc(site.concepts[c])}">{esc(c)}</a></li>' for c in concepts)
    cards = "".join(f'<li><a href="{esc(f)}">{esc(n)}</a></li>' for n, f in sorted(site.neurons.items()))
    body = (f"<h2>Models</h2><ul>{items}</ul><h2>Concepts</h2><ul>{links}</ul>"
            f'<h2>Comparison</h2><ul><li><a href="compare.html">the models by relative depth</a></li></ul>'
            f"<h2>Neuron cards</h2><ul>{cards}</ul>"
            '<p class="note">Every table and figure shows the SQL (over the named views of <code>schema/</code>; '
            "rerun it with <code>atlas sql</code>) or the query (<code>atlas query</code>) it came from.</p>")
    page(site, "index.html", "Neuron Atlas report", body)


def _model_page(db: Any, site: Site, subject: data.Subject, counts: pd.DataFrame) -> None:
    page(site, site.models[subject.model], f"{subject.model}: overview (run {subject.run_id})",
         model_body(db, site, subject, counts))


def model_body(db: Any, site: Site, subject: data.Subject, counts: pd.DataFrame) -> str:
    """A model's overview: layers x sites, detectors per layer against the random-init control,
    the detector counts and thresholds."""
    layers = data.model_layers(db, subject.model)
    shape = layers.groupby("site").agg(layers=("layer", "count"), width=("width", "max")).reset_index()
    shape.attrs["source"] = layers.attrs["source"]
    mine = counts[counts["run_id"].isin([subject.run_id, subject.control_run_id])]
    control = f" against its random-init control {subject.control}" if subject.control else " (no random-init control)"
    thresholds = pd.DataFrame([(m, t, why) for m, (t, why) in sorted(DETECTOR_THRESHOLDS.items())],
                              columns=["method", "threshold", "meaning"])
    thresholds.attrs["source"] = {"kind": "sql", "text": "SELECT * FROM detector_threshold"}
    pivot = mine.pivot_table(index=["model", "site", "layer"], columns="method", values="n_detectors", aggfunc="max")
    pivot = pivot.reset_index()
    pivot.attrs["source"] = counts.attrs["source"]
    body = (panel("Layers × sites", table(shape, site), layers)
            + panel(f"Detectors per layer{control}",
                    figure(plots.detectors_by_layer(mine, subject.model, subject.control), "no complete score sets"), counts)
            + panel("Detector counts (units at or above the threshold for at least one concept)", table(pivot, site), counts)
            + panel("Detector thresholds", table(thresholds, site), thresholds))
    return body


def _concept_page(db: Any, site: Site, subjects: list[data.Subject], concept: str, top: int) -> None:
    page(site, site.concepts[concept], f"concept {concept}", concept_body(db, site, subjects, concept, top))


def concept_body(db: Any, site: Site, subjects: list[data.Subject], concept: str, top: int) -> str:
    """A concept's page, per model: top units by every method, the methods' agreement, the
    layer distribution, detectors against the control, probe and ablation curves."""
    body = []
    for subject in subjects:
        methods = data.scored_methods(db, subject.run_id, concept)
        tops = {m: data.top_units(db, subject.model, m, concept, top) for m in methods}
        for frame in tops.values():
            for neuron in frame["neuron"]:
                site.neuron_page(str(neuron))
        body.append(f"<h2>{esc(subject.model)} (run {subject.run_id})</h2>")
        cards = [(f"{method}({concept})", table(frame[[c for c in frame.columns if c not in ("model", "site", "unit")]], site),
                  frame) for method, frame in tops.items()]
        body.append(panel(f"Top {top} units by each method", grid(cards) if cards else
                          f'<p class="empty">none yet (how to get it: atlas score --run {subject.run_id} --concepts {esc(concept)})</p>'))
        body.append(_agreement_panels(db, site, subject, concept, tops))
        dist_src = {"kind": "computed", "text": "layer of each top unit in the tables above, counted per method"}
        body.append(panel("Layer distribution of the top units",
                          figure(plots.top_unit_layers(tops, subject.n_layers, f"{subject.model}: {concept}"), "no units"),
                          dist_src))
        main = next((m for m in MAIN_METHODS if m in methods), None)
        if main is not None:
            names = [subject.model] + ([subject.control] if subject.control_run_id is not None and subject.control else [])
            cmp = data.concept_layer_counts(db, names, main, concept)
            body.append(panel(f"Units with {main}({concept}) ≥ {DETECTOR_THRESHOLDS[main][0]} per layer",
                              figure(plots.compare_bars(cmp, f"{main}({concept})"), "no rows") + table(cmp, site), cmp))
        body.append(_probe_panels(db, site, subject, concept))
        body.append(_ablation_panel(db, subject, concept))
    return "".join(body)


def _agreement_panels(db: Any, site: Site, subject: data.Subject, concept: str, tops: dict[str, pd.DataFrame]) -> str:
    """The methods' agreement: the one ``atlas score`` stored (top-n Jaccard and Spearman over
    every unit, NeuronVote) when there is one, else the Jaccard of the top units shown above."""
    stored = data.stored_agreement(db, subject.model, concept)
    square = data.agreement_square(stored)
    if square.empty:
        agree = data.agreement(tops)
        return panel("Agreement of the methods on the top units",
                     figure(plots.agreement_matrix(agree, f"{subject.model}: {concept}"), "one method only"), agree)
    figure_html = figure(plots.agreement_matrix(square, f"{subject.model}: {concept}"), "one method only")
    return (panel("Agreement of the methods (stored by atlas score: top-n Jaccard)", figure_html, square)
            + panel("Agreement of the methods: every stored pair", table(stored, site), stored))


def _ablation_panel(db: Any, subject: data.Subject, concept: str) -> str:
    """Top/random/bottom-k ablation curves of the rankings ``atlas ablate`` stored for the concept."""
    curves = data.ablation_curves(db, subject.run_id, concept)
    hint = f'none yet (how to get it: atlas ablate --run {subject.run_id} --ranking "ap({concept})" --k 10,50,200)'
    return panel("Ablation: clamping the top, random and bottom k units of a ranking",
                 figure(plots.ablation_curve(curves, concept), hint), curves)


def _layer_similarity_panels(db: Any, names: list[str]) -> str:
    """A CKA heat map for each pair of the report's models that ``atlas correlate`` compared."""
    stored = db.correlations()
    if stored.empty:
        return ""
    out = []
    done = stored[(stored["status"] == "complete") & stored["model"].isin(names) & stored["other_model"].isin(names)]
    for a, b in sorted(set(zip(done["model"], done["other_model"]))):
        matrix = data.layer_similarity(db, a, b)
        out.append(panel(f"Layer similarity of {a} and {b} (linear CKA, mlp)",
                         figure(plots.layer_heatmap(matrix, a, b, "CKA"), "no layer pairs stored"), matrix))
    return "".join(out)


def _probe_panels(db: Any, site: Site, subject: data.Subject, concept: str) -> str:
    runs = [subject.run_id] + ([subject.control_run_id] if subject.control_run_id is not None else [])
    curve = data.probe_curve(db, runs, concept)
    hint = (f"none yet (how to get it: atlas score --run {subject.run_id} --methods probe,control_selectivity "
            f"--concepts {concept})")
    if curve.empty:
        return panel("Probe accuracy per layer", f'<p class="empty">{esc(hint)}</p>', curve)
    title = concept
    layers = panel("Probe accuracy per layer: full probe, top/random/bottom-k neurons, control task, majority baseline",
                   figure(plots.probe_layers(curve, title), hint), curve)
    k = panel("Probe accuracy against k", figure(plots.probe_accuracy_vs_k(curve, title),
                                                 "no accuracy-vs-k points stored"), curve)
    wide = curve[curve["k"].isna()].pivot_table(index=["model", "task", "site", "layer"], columns="metric",
                                                 values="value", aggfunc="first").reset_index()
    return layers + k + panel("Probe figures", table(wide, site), curve)


def _compare_page(db: Any, site: Site, subjects: list[data.Subject], counts: pd.DataFrame, concepts: list[str]) -> None:
    methods = [m for m in MAIN_METHODS if m in set(counts["method"])][:3]
    body = [panel("Detectors by relative depth", figure(plots.detectors_by_depth(counts, methods), "no score sets"), counts)]
    names = [s.model for s in subjects] + [s.control for s in subjects if s.control and s.control_run_id is not None]
    main = methods[0] if methods else None
    if main is not None and len(names) > 1:
        for concept in concepts:
            cmp = data.compare_depth(db, names, main, concept)
            body.append(panel(f"{main}({concept}) ≥ {DETECTOR_THRESHOLDS[main][0]} by relative depth",
                              figure(plots.compare_bars(cmp, f"{main}({concept})"), "no rows") + table(cmp, site), cmp))
    elif len(names) < 2:
        body.append('<p class="empty">one model only: report two models (or a model and its control) to compare</p>')
    body.append(_layer_similarity_panels(db, names))
    page(site, "compare.html", "comparison across models", "".join(body))


def _neuron_page(db: Any, site: Site, neuron: str) -> None:
    sections = data.neuron_sections(db, neuron)
    page(site, site.neurons[neuron], f"neuron {neuron}", card_body(sections, neuron, site))


def card_body(sections: dict[str, pd.DataFrame], neuron: str, site: Site) -> str:
    """The neuron card: a panel per section of ``neuron ID`` (in :data:`CARD_ORDER`, then any
    section the view adds later, as a table), each with its source; an empty section says how
    to fill it. The report writes it to a file; ``atlas serve`` shows the same card live."""
    stats = sections.get("stats", pd.DataFrame())
    run = stats["run"].iloc[0] if "run" in stats and len(stats) else None
    run_text = str(run) if run is not None and run == run else "RUN"
    sql = data.neuron_view_sql(neuron, run if run_text != "RUN" else None)
    body = []
    order = list(CARD_ORDER) + [n for n in SECTIONS if n not in CARD_ORDER]
    for name in order + [n for n in sections if n not in order]:
        if name not in sections:
            continue
        frame = sections[name]
        title = SECTION_TITLES.get(name, name.replace("_", " "))
        src: Any = dict(frame.attrs.get("source") or {"kind": "query", "text": f"neuron {neuron}"}, sql=sql.get(name))
        if frame.empty:
            how = HOW_TO_FILL.get(name, "").format(run=run_text, neuron=neuron, model=neuron.split("/", 1)[0])
            content = f'<p class="empty">none yet{f" (how to get it: {esc(how)})" if how else ""}</p>'
        elif name == "stats":
            values = [number(v) if isinstance(v, float) else ("" if v is None or v is pd.NA else str(v))
                      for v in frame.iloc[0].tolist()]
            content = table(pd.DataFrame({"field": [str(c) for c in frame.columns], "value": values}), site)
        elif name == "histogram":
            content = figure(plots.histogram(frame, f"{neuron} (run {frame.attrs.get('run', run_text)})"), "no activations")
        else:
            content = table(frame, site)
        body.append(panel(title, content, src, anchor=name))
    warnings = next((f.attrs.get("warnings") for f in sections.values() if f.attrs.get("warnings")), None)
    if warnings:
        body.append("".join(f'<p class="note">warning: {esc(w)}</p>' for w in warnings))
    return "".join(body)
