"""Helpers of the report tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text


def add_probe_curve(db: Any, model: str = "minilm", task: str = "negation") -> None:
    """Probe figures the fixture lacks for ``model``'s ``task``: top/random/bottom-k and an
    accuracy-vs-k curve (k = 1, 4, 8) on each layer that has an accuracy."""
    with db.write() as conn:
        rows = conn.execute(text(
            "SELECT pr.run_id, pr.method_id, pr.layer_id, pr.value FROM probe_result AS pr JOIN run AS r ON r.id = pr.run_id "
            "JOIN model AS m ON m.id = r.model_id WHERE m.name = :model AND pr.task = :task AND pr.metric = 'accuracy'"),
            {"model": model, "task": task}).all()
        for run_id, method_id, layer_id, acc in rows:
            figures = {"top": 0.95 * acc, "random": 0.7 * acc, "bottom": 0.5 * acc,
                       "acc_at_k=1": 0.6 * acc, "acc_at_k=4": 0.8 * acc, "acc_at_k=8": acc}
            for metric, value in figures.items():
                conn.execute(text("INSERT INTO probe_result (run_id, method_id, layer_id, task, metric, value) "
                                  "VALUES (:r, :m, :l, :task, :metric, :v)"),
                             {"r": run_id, "m": method_id, "l": layer_id, "task": task, "metric": metric, "v": value})
