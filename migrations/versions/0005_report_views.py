"""report views: named SQL views the report reads and shows (the same SQL on both backends)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Creates ``neuron_card``, ``top_words_in_context``, ``neuron_score``, ``probe_curve``,
``detector_threshold`` and ``layer_detector_counts`` (documented in atlas/store/views.py and
schema/*.sql). Views hold no rows: the downgrade drops them and loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The views as this revision defines them, in creation order (a later revision that changes one
# writes its own copy; tests/store/test_report_views.py checks the newest against atlas/store/views.py).
VIEWS: tuple[tuple[str, str], ...] = (
    ("neuron_card", """SELECT ns.run_id, r.status AS run_status, n.id AS neuron_id,
       mo.name || '/' || n.site || '.' || CAST(n.layer AS VARCHAR(12)) || '/' || CAST(n.unit AS VARCHAR(12)) AS neuron,
       mo.name AS model, n.site, n.layer, n.unit, CAST(n.layer AS FLOAT) / mo.n_layers AS depth,
       ns.count, ns.mean, ns.std, ns.min, ns.max, ns.threshold, ns.fire_rate
FROM neuron_stat AS ns
JOIN run AS r ON r.id = ns.run_id
JOIN neuron AS n ON n.id = ns.neuron_id
JOIN model AS mo ON mo.id = n.model_id"""),
    ("top_words_in_context", """SELECT ta.run_id, ta.neuron_id, ta.rank, ta.value, ta."row", t.form AS word, t.position,
       s."index" AS sentence_index, s.text AS sentence
FROM top_activation AS ta
JOIN run AS r ON r.id = ta.run_id
JOIN token AS t ON t.corpus_id = r.corpus_id AND t."row" = ta."row"
JOIN sentence AS s ON s.id = t.sentence_id"""),
    ("neuron_score", """SELECT sc.set_id, sc.run_id, mo.name AS model, mo.name || '/' || n.site || '.' || CAST(n.layer AS VARCHAR(12)) || '/' || CAST(n.unit AS VARCHAR(12)) AS neuron,
       n.site, n.layer, n.unit, CAST(n.layer AS FLOAT) / mo.n_layers AS depth, sc.neuron_id,
       sc.method_id, me.name AS method, sc.concept_id, co.name AS concept, sc.value
FROM score AS sc
JOIN neuron AS n ON n.id = sc.neuron_id
JOIN model AS mo ON mo.id = n.model_id
JOIN method AS me ON me.id = sc.method_id
JOIN concept AS co ON co.id = sc.concept_id"""),
    ("probe_curve", """SELECT pr.run_id, r.status AS run_status, mo.name AS model, pr.method_id, me.name AS method,
       l.site, l."index" AS layer, CAST(l."index" AS FLOAT) / mo.n_layers AS depth, pr.task, pr.metric,
       CASE WHEN substr(pr.metric, 1, 9) = 'acc_at_k=' THEN CAST(substr(pr.metric, 10) AS INTEGER) END AS k,
       pr.value
FROM probe_result AS pr
JOIN run AS r ON r.id = pr.run_id
JOIN model AS mo ON mo.id = r.model_id
JOIN layer AS l ON l.id = pr.layer_id
JOIN method AS me ON me.id = pr.method_id"""),
    ("detector_threshold", """SELECT 'ap' AS method, CAST(0.5 AS FLOAT) AS threshold, 'average precision of the activation as a detector' AS meaning
UNION ALL SELECT 'ap_sentence' AS method, CAST(0.5 AS FLOAT) AS threshold, 'average precision over sentences' AS meaning
UNION ALL SELECT 'control_selectivity' AS method, CAST(0.3 AS FLOAT) AS threshold, 'weight share above the control task''s' AS meaning
UNION ALL SELECT 'iou' AS method, CAST(0.04 AS FLOAT) AS threshold, 'NetDissect''s detector threshold' AS meaning
UNION ALL SELECT 'mi' AS method, CAST(0.1 AS FLOAT) AS threshold, 'a tenth of the concept''s entropy' AS meaning
UNION ALL SELECT 'precision' AS method, CAST(0.5 AS FLOAT) AS threshold, 'half the unit''s top words have the concept' AS meaning
UNION ALL SELECT 'probe' AS method, CAST(0.5 AS FLOAT) AS threshold, 'half the probe''s largest weight' AS meaning
UNION ALL SELECT 'recall' AS method, CAST(0.5 AS FLOAT) AS threshold, 'the unit''s top words cover half the concept' AS meaning
UNION ALL SELECT 'selectivity' AS method, CAST(0.3 AS FLOAT) AS threshold, 'range-normalised mean difference' AS meaning"""),
    ("layer_detector_counts", """SELECT sc.run_id, mo.name AS model, sc.method_id, me.name AS method, l.site, l."index" AS layer,
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


def upgrade() -> None:
    for name, sql in VIEWS:
        op.execute(f"CREATE VIEW {name} AS\n{sql}")


def downgrade() -> None:
    for name, _sql in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
