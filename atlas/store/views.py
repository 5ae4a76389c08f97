"""Named SQL views: the relations a SQL user (and a report) reads, the same on both backends.

Each view is created by the migrations and printed in ``schema/<dialect>.sql``. The scores are
stored packed (:class:`~atlas.store.tables.ScoreVector`); the ``score`` view gives them back in
long form, one row per (complete score set, neuron)::

    SELECT neuron_id, value FROM score WHERE method_id = 3 AND concept_id = 17;

On SQLite the view decodes the packed float32 values with the function ``atlas_value(vals, i)``,
which every connection Neuron Atlas opens registers (``atlas sql`` and the Python API have it; a
bare ``sqlite3`` shell does not).

The report views (migration 0005; ``atlas report`` shows the SQL of each table and figure
beside it, ``atlas sql`` reruns it read-only), one SQL text on both backends:

* ``neuron_card``: a neuron's statistics in a run, with its id, model, site, layer, depth;
* ``top_words_in_context``: its top-activating words with their sentence;
* ``neuron_score``: the ``score`` view with names (model, neuron id, method, concept);
* ``probe_curve``: the ``probe_result`` figures with model, layer, depth, and ``k`` for the
  accuracy-vs-k points (``acc_at_k=K``);
* ``detector_threshold``: the value at which each bounded method calls a unit a detector;
* ``layer_detector_counts``: per (run, method row, layer): the layer's units and how many of
  them reach the method's detector threshold for at least one concept.

Example::

    SELECT layer, n_detectors, n_units FROM layer_detector_counts
    WHERE model = 'minilm' AND method = 'ap' AND site = 'mlp' ORDER BY layer;
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas.store.tables import SCORE_BLOCK


@dataclass(frozen=True)
class View:
    """A named view: its SQL per dialect and what it is for."""

    name: str
    doc: str
    sql: dict[str, str]

    def create(self, dialect: str) -> str:
        return f"CREATE VIEW {self.name} AS\n{self.sql[dialect]}"

    def drop(self) -> str:
        return f"DROP VIEW IF EXISTS {self.name}"


def _score_sql(value: str) -> str:
    return f"""SELECT s.id AS set_id, s.run_id, s.method_id, s.concept_id, n.id AS neuron_id,
       {value} AS value
FROM score_set AS s
JOIN score_vector AS v ON v.set_id = s.id
JOIN neuron AS n ON n.layer_id = v.layer_id
 AND n.unit >= v.block * {SCORE_BLOCK} AND n.unit < (v.block + 1) * {SCORE_BLOCK}
WHERE s.status = 'complete'"""


SCORE = View(
    "score",
    "One row per (complete score set, neuron): the long form of the packed score vectors.",
    {
        "sqlite": _score_sql(f"atlas_value(v.vals, n.unit % {SCORE_BLOCK})"),
        "postgresql": _score_sql(f"CAST(NULLIF(v.vals[n.unit % {SCORE_BLOCK} + 1], 'NaN'::real) AS double precision)"),
    },
)

def _neuron_text(model: str, neuron: str) -> str:
    """The canonical neuron id ``model/site.layer/unit`` as a SQL expression (both backends)."""
    return (f"{model}.name || '/' || {neuron}.site || '.' || CAST({neuron}.layer AS VARCHAR(12)) || '/' || "
            f"CAST({neuron}.unit AS VARCHAR(12))")


def _same(sql: str) -> dict[str, str]:
    return {"sqlite": sql, "postgresql": sql}


NEURON_CARD = View(
    "neuron_card",
    "A neuron's statistics in a run (neuron_stat) with its id, model, site, layer and relative depth.",
    _same(f"""SELECT ns.run_id, r.status AS run_status, n.id AS neuron_id,
       {_neuron_text("mo", "n")} AS neuron,
       mo.name AS model, n.site, n.layer, n.unit, CAST(n.layer AS FLOAT) / mo.n_layers AS depth,
       ns.count, ns.mean, ns.std, ns.min, ns.max, ns.threshold, ns.fire_rate
FROM neuron_stat AS ns
JOIN run AS r ON r.id = ns.run_id
JOIN neuron AS n ON n.id = ns.neuron_id
JOIN model AS mo ON mo.id = n.model_id"""),
)

TOP_WORDS_IN_CONTEXT = View(
    "top_words_in_context",
    "A neuron's top-activating words in a run (rank 0 = highest) with the word's sentence.",
    _same("""SELECT ta.run_id, ta.neuron_id, ta.rank, ta.value, ta."row", t.form AS word, t.position,
       s."index" AS sentence_index, s.text AS sentence
FROM top_activation AS ta
JOIN run AS r ON r.id = ta.run_id
JOIN token AS t ON t.corpus_id = r.corpus_id AND t."row" = ta."row"
JOIN sentence AS s ON s.id = t.sentence_id"""),
)

NEURON_SCORE = View(
    "neuron_score",
    "The score view with names: one row per (complete score set, neuron) with model, neuron id, method and concept.",
    _same(f"""SELECT sc.set_id, sc.run_id, mo.name AS model, {_neuron_text("mo", "n")} AS neuron,
       n.site, n.layer, n.unit, CAST(n.layer AS FLOAT) / mo.n_layers AS depth, sc.neuron_id,
       sc.method_id, me.name AS method, sc.concept_id, co.name AS concept, sc.value
FROM score AS sc
JOIN neuron AS n ON n.id = sc.neuron_id
JOIN model AS mo ON mo.id = n.model_id
JOIN method AS me ON me.id = sc.method_id
JOIN concept AS co ON co.id = sc.concept_id"""),
)

PROBE_CURVE = View(
    "probe_curve",
    "Probe figures per (run, method row, layer, task, metric) with model and depth; k is set for the "
    "accuracy-vs-k points (metric acc_at_k=K).",
    _same("""SELECT pr.run_id, r.status AS run_status, mo.name AS model, pr.method_id, me.name AS method,
       l.site, l."index" AS layer, CAST(l."index" AS FLOAT) / mo.n_layers AS depth, pr.task, pr.metric,
       CASE WHEN substr(pr.metric, 1, 9) = 'acc_at_k=' THEN CAST(substr(pr.metric, 10) AS INTEGER) END AS k,
       pr.value
FROM probe_result AS pr
JOIN run AS r ON r.id = pr.run_id
JOIN model AS mo ON mo.id = r.model_id
JOIN layer AS l ON l.id = pr.layer_id
JOIN method AS me ON me.id = pr.method_id"""),
)

#: The value at which a method calls a unit a detector of a concept (the report's overview):
#: method -> (threshold, why). Methods without a bounded scale (meandiff, probeless) have none.
DETECTOR_THRESHOLDS: dict[str, tuple[float, str]] = {
    "ap": (0.5, "average precision of the activation as a detector"),
    "ap_sentence": (0.5, "average precision over sentences"),
    "iou": (0.04, "NetDissect's detector threshold"),
    "precision": (0.5, "half the unit's top words have the concept"),
    "recall": (0.5, "the unit's top words cover half the concept"),
    "mi": (0.1, "a tenth of the concept's entropy"),
    "selectivity": (0.3, "range-normalised mean difference"),
    "probe": (0.5, "half the probe's largest weight"),
    "control_selectivity": (0.3, "weight share above the control task's"),
}


def _thresholds_sql() -> str:
    rows = [f"SELECT '{m}' AS method, CAST({t!r} AS FLOAT) AS threshold, '{why.replace(chr(39), chr(39) * 2)}' AS meaning"
            for m, (t, why) in sorted(DETECTOR_THRESHOLDS.items())]
    return "\nUNION ALL ".join(rows)


DETECTOR_THRESHOLD = View(
    "detector_threshold",
    "The value at which each bounded method calls a unit a detector of a concept (the report's overview).",
    _same(_thresholds_sql()),
)

LAYER_DETECTOR_COUNTS = View(
    "layer_detector_counts",
    "Per (run, method row, layer): the layer's units and how many reach the method's detector threshold "
    "for at least one concept (complete score sets only).",
    _same("""SELECT sc.run_id, mo.name AS model, sc.method_id, me.name AS method, l.site, l."index" AS layer,
       CAST(l."index" AS FLOAT) / mo.n_layers AS depth, l.width AS n_units, dt.threshold,
       COUNT(DISTINCT CASE WHEN sc.value >= dt.threshold THEN sc.neuron_id END) AS n_detectors
FROM score AS sc
JOIN neuron AS n ON n.id = sc.neuron_id
JOIN layer AS l ON l.id = n.layer_id
JOIN model AS mo ON mo.id = l.model_id
JOIN method AS me ON me.id = sc.method_id
JOIN detector_threshold AS dt ON dt.method = me.name
GROUP BY sc.run_id, mo.name, sc.method_id, me.name, l.site, l."index", mo.n_layers, l.width, dt.threshold"""),
)

#: The report views (migration 0005), in creation order.
REPORT_VIEWS: tuple[View, ...] = (NEURON_CARD, TOP_WORDS_IN_CONTEXT, NEURON_SCORE, PROBE_CURVE, DETECTOR_THRESHOLD,
                                  LAYER_DETECTOR_COUNTS)

#: Every view, in creation order.
VIEWS: tuple[View, ...] = (SCORE, *REPORT_VIEWS)
