"""``atlas extract`` and ``atlas run list|show``: thin shells over the facade's ``extract``, ``runs`` and ``run``.

Building these commands imports neither torch nor transformers: the extraction job does, when it runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from atlas.cli._common import Formatter, add_db_option, add_quiet_option, given, library_option, open_atlas
from atlas.cli._table import is_missing, render_table

EXTRACT_EPILOG = """\
examples:
  atlas extract builtin:all-minilm-l6-v2 --corpus pud --as minilm
  atlas extract path/to/bert --corpus pud --as bert --sites mlp,resid --layers 0-11
  atlas extract gpt2 --corpus pud --aggregation last --device cuda --dtype bfloat16
  atlas extract builtin:all-minilm-l6-v2 --corpus pud --as minilm --random-init   # registers minilm-random
  atlas extract bert-large-cased --corpus pud --device cuda --dtype bf16 --executor ray --address auto --workers 8

MODEL is a Hugging Face id or a local folder (loaded with AutoModel/AutoTokenizer);
builtin:all-minilm-l6-v2 is the pretrained all-MiniLM-L6-v2 shipped with the demo extra.
Killed or interrupted? Run the same command again: it resumes where it stopped.
On a CPU, batches run one per core, each on one core; OMP_NUM_THREADS=N uses N cores.
--executor ray (extra [ray]) computes the chunks on a Ray cluster, one model actor per worker,
with the same results; every worker must reach the database and see the store folder (--store)
at the same path. Without --address it starts a local cluster for the job.
"""

RUN_EPILOG = """\
examples:
  atlas run list
  atlas run show 3
  atlas run show minilm          the latest finished run of the model minilm
  atlas run show 3 --json
"""

#: The keywords of ``extract`` that options set (each passed on only when given).
EXTRACT_OPTIONS = ("name", "sites", "layers", "aggregation", "batch_size", "device", "dtype", "random_init",
                   "seed", "revision", "max_length", "chunk_words", "progress")
#: The options of ``--executor ray`` (``extract``'s ``executor_options``).
EXECUTOR_OPTIONS = ("address", "workers", "gpus_per_worker")


def register(sub: Any) -> None:
    """Add ``extract`` and ``run`` to the ``atlas`` command line."""
    p = sub.add_parser(
        "extract",
        help="record the activations of every unit of a model on every word of a corpus",
        description="Run a transformers model over a stored corpus; store word-level activations of every "
        "unit (resumable), per-neuron statistics and top-activating words.",
        epilog=EXTRACT_EPILOG,
        formatter_class=Formatter,
    )
    p.add_argument("model", help="Hugging Face id, local model folder, or builtin:all-minilm-l6-v2")
    p.add_argument("--corpus", required=True, metavar="NAME", help="the stored corpus to run over")
    opt = library_option
    opt(p, "--as", dest="name", metavar="SHORT_NAME", help="the model's name in queries (default: from MODEL)")
    opt(p, "--sites", default_from=("extract", "sites"), help="comma-separated: mlp, resid, embed (default: {default})")
    opt(p, "--layers", help="blocks, e.g. 0-5 or 1,3,5 (default: all)")
    opt(p, "--aggregation", choices=["mean", "first", "last"], default_from=("extract", "aggregation"),
        help="subwords to word (default: {default})")
    opt(p, "--batch-size", type=int, metavar="N", default_from=("extract", "batch_size"),
        help="windows per forward pass, at most (default: {default}; on a CPU shorter batches cut padding)")
    opt(p, "--device", default_from=("extract", "device"), help="cpu or cuda (default: {default})")
    opt(p, "--dtype", choices=["float32", "bfloat16", "float16", "fp32", "bf16", "fp16"], default_from=("extract", "dtype"),
        help="model dtype (default: {default})")
    opt(p, "--random-init", action="store_true", help="a randomly initialised copy (registered as NAME-random)")
    opt(p, "--seed", type=int, default_from=("extract", "seed"), help="seed of --random-init (default: {default})")
    opt(p, "--revision", help="hub revision (branch, tag or commit) of MODEL")
    opt(p, "--max-length", type=int, metavar="N", help="cap the model window (tokens)")
    opt(p, "--chunk-words", type=int, metavar="N", default_from=("extract", "chunk_words"),
        help="words per resumable chunk (default: {default})")
    opt(p, "--executor", choices=["local", "serial", "ray"],
        help="who runs the chunks: local (this process, the default), serial, ray (a Ray cluster)")
    opt(p, "--address", metavar="ADDR", help="--executor ray: the cluster, e.g. auto or ray://head:10001 (default: a local one)")
    opt(p, "--workers", type=int, metavar="N", help="--executor ray: model actors, each loads the model once (default: 2)")
    opt(p, "--gpus-per-worker", type=float, metavar="G",
        help="--executor ray: GPUs each actor reserves (default: 1 with --device cuda, else 0)")
    add_quiet_option(p, help="no progress bar")
    add_db_option(p)
    p.set_defaults(func=_cmd_extract)

    p = sub.add_parser(
        "run",
        help="extraction runs: list, show",
        description="List extraction runs, or show one run's configuration and provenance.",
        epilog=RUN_EPILOG,
        formatter_class=Formatter,
    )
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("ref", nargs="?", help="show: a run id or a model short name")
    p.add_argument("--json", action="store_true", help="show: print JSON")
    add_db_option(p)
    p.set_defaults(func=_cmd_run)


def _cmd_extract(args: argparse.Namespace) -> int:
    db = open_atlas(args)
    kwargs = given(args, *EXTRACT_OPTIONS, "executor")
    executor_options = given(args, *EXECUTOR_OPTIONS)
    if executor_options:
        kwargs["executor_options"] = executor_options
    run_id = db.extract(args.model, corpus=args.corpus, **kwargs)
    info = db.run(run_id)
    speed = f", {info['words_per_s']:,.0f} words/s" if info["words_per_s"] else ""
    print(f"run {run_id} {info['status']}: {info['model']} on {info['corpus']}, {info['n_words']:,} words, "
          f"{len(info['files'])} activation files{speed}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from atlas.errors import ExtractionError

    db = open_atlas(args)
    if args.action == "list":
        return _run_list(db)
    if not args.ref:
        raise ExtractionError("atlas run show needs a run id or a model name", hint="atlas run show 3")
    info = db.run(args.ref)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(_run_text(info))
    return 0


def _run_list(db: Any) -> int:
    frame = db.runs()
    if frame.empty:
        print("no runs yet (atlas extract MODEL --corpus NAME)")
        return 0
    rows = [
        (r.id, r.model, r.corpus, r.status, f"{r.rows_done}/{r.n_words}",
         "" if is_missing(r.words_per_s) else f"{r.words_per_s:,.0f}",
         "" if is_missing(r.started_at) else str(r.started_at)[:19])
        for r in frame.itertuples()
    ]
    print(render_table(rows, ("id", "model", "corpus", "status", "progress", "words/s", "started")))
    return 0


def _run_text(info: dict[str, Any]) -> str:
    prov = info.get("provenance") or {}
    lines = [
        f"run {info['id']}: {info['model']} on {info['corpus']} — {info['status']}"
        + (f" ({info['error']})" if info["error"] else ""),
        f"  model      {info['source']} (revision {info['revision']})",
        f"  progress   {info['rows_done']:,}/{info['n_words']:,} words, {info['chunks_done']} chunks",
        f"  speed      {info['words_per_s']:,.0f} words/s" if info["words_per_s"] else "  speed      -",
        f"  time       {info['started_at']} → {info['finished_at']}",
        f"  config     {json.dumps({k: v for k, v in (info['config'] or {}).items() if k not in ('model', 'corpus')})}",
        f"  versions   {json.dumps(prov.get('versions', {}))}",
        f"  code       {prov.get('code_version')} on {prov.get('host')}, device {prov.get('device')}",
        f"  store      {info['store_path']}",
    ]
    for f in info["files"]:
        lines.append(f"    {f['layer']:<10} {f['hook_point']:<45} width {f['width']:<6} {(f['sha256'] or 'incomplete')[:16]}")
    return "\n".join(lines)
