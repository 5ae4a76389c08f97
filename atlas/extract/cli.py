"""``atlas extract`` and ``atlas run list|show``: thin shells over :mod:`atlas.extract.job`.

This module imports neither torch nor transformers: the job module does, when a command runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

EXTRACT_EPILOG = """\
examples:
  atlas extract builtin:all-minilm-l6-v2 --corpus pud --as minilm
  atlas extract path/to/bert --corpus pud --as bert --sites mlp,resid --layers 0-11
  atlas extract gpt2 --corpus pud --aggregation last --device cuda --dtype bfloat16
  atlas extract builtin:all-minilm-l6-v2 --corpus pud --as minilm --random-init   # registers minilm-random

MODEL is a Hugging Face id or a local folder (loaded with AutoModel/AutoTokenizer);
builtin:all-minilm-l6-v2 is the pretrained all-MiniLM-L6-v2 shipped with the demo extra.
Killed or interrupted? Run the same command again: it resumes where it stopped.
On a CPU, batches run one per core, each on one core; OMP_NUM_THREADS=N uses N cores.
"""

RUN_EPILOG = """\
examples:
  atlas run list
  atlas run show 3
  atlas run show minilm          the latest finished run of the model minilm
  atlas run show 3 --json
"""


def register(sub: Any) -> None:
    """Add ``extract`` and ``run`` to the ``atlas`` command line."""
    from atlas.cli import Formatter, add_db_option

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
    p.add_argument("--as", dest="name", metavar="SHORT_NAME", help="the model's name in queries (default: from MODEL)")
    p.add_argument("--sites", default="mlp,resid", help="comma-separated: mlp, resid, embed (default: mlp,resid)")
    p.add_argument("--layers", default=None, help="blocks, e.g. 0-5 or 1,3,5 (default: all)")
    p.add_argument("--aggregation", choices=["mean", "first", "last"], default="mean", help="subwords to word (default: mean)")
    p.add_argument("--batch-size", type=int, default=32, metavar="N", help="windows per forward pass, at most (default: 32; on a CPU shorter batches cut padding)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32", help="model dtype")
    p.add_argument("--random-init", action="store_true", help="a randomly initialised copy (registered as NAME-random)")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-init (default: 0)")
    p.add_argument("--revision", default=None, help="hub revision (branch, tag or commit) of MODEL")
    p.add_argument("--max-length", type=int, default=None, metavar="N", help="cap the model window (tokens)")
    p.add_argument("--chunk-words", type=int, default=None, metavar="N", help="words per resumable chunk (default: 2048)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
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
    from atlas.cli import open_atlas
    from atlas.extract.job import DEFAULT_CHUNK_WORDS, extract, show_run

    db = open_atlas(args)
    run_id = extract(
        db,
        args.model,
        corpus=args.corpus,
        name=args.name,
        sites=args.sites,
        layers=args.layers,
        aggregation=args.aggregation,
        batch_size=args.batch_size,
        device=args.device,
        dtype=args.dtype,
        random_init=args.random_init,
        seed=args.seed,
        revision=args.revision,
        max_length=args.max_length,
        chunk_words=args.chunk_words or DEFAULT_CHUNK_WORDS,
        progress=not args.quiet,
    )
    info = show_run(db, run_id)
    speed = f", {info['words_per_s']:,.0f} words/s" if info["words_per_s"] else ""
    print(f"run {run_id} {info['status']}: {info['model']} on {info['corpus']}, {info['n_words']:,} words, "
          f"{len(info['files'])} activation files{speed}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from atlas.cli import open_atlas
    from atlas.errors import ExtractionError
    from atlas.extract.job import list_runs, show_run

    db = open_atlas(args)
    if args.action == "list":
        frame = list_runs(db)
        if frame.empty:
            print("no runs yet (atlas extract MODEL --corpus NAME)")
            return 0
        frame["progress"] = [f"{d}/{n}" for d, n in zip(frame["rows_done"], frame["n_words"])]
        frame["words/s"] = [f"{v:,.0f}" if v == v and v is not None else "" for v in frame["words_per_s"]]
        frame["started"] = [str(t)[:19] if t is not None else "" for t in frame["started_at"]]
        print(frame[["id", "model", "corpus", "status", "progress", "words/s", "started"]].to_string(index=False))
        return 0
    if not args.ref:
        raise ExtractionError("atlas run show needs a run id or a model name", hint="atlas run show 3")
    info = show_run(db, args.ref)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
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
    print("\n".join(lines))
    return 0
