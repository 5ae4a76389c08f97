"""Extraction throughput and memory: atlas extract against its limit and a NeuroX-style baseline.

In one process, on the same model (all-MiniLM-L6-v2) and the same sentences of UD English PUD:

(a) a plain batched forward pass, no capture (the limit),
(b) ``atlas extract`` with both sites (mlp, resid; every block), end to end: tokenising,
    windows, hooks, aggregation, float16 files, fsync, chunk commits, statistics, top-k, DB,
(c) a one-sentence-at-a-time extractor in the style of NeuroX (``output_hidden_states``, all
    layers to numpy, a Python loop over words; hidden states only).

Then peak memory (ru_maxrss of a fresh process) of ``atlas extract`` on 1x and 4x the corpus.

Usage::

    python bench/bench_extract.py            # 1,000 sentences
    python bench/bench_extract.py --quick    # 150 sentences
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PUD = Path(__file__).resolve().parents[2] / "shared" / "data" / "ud-english-pud" / "en_pud-ud-test.conllu"


def read_pud(n: int, repeat: int = 1) -> list[list[str]]:
    """Word forms of the first ``n`` PUD sentences (multiword-token ranges skipped), repeated."""
    sentences: list[list[str]] = []
    words: list[str] = []
    for line in PUD.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                sentences.append(words)
                words = []
                if len(sentences) == n:
                    break
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if "-" in cols[0] or "." in cols[0]:
            continue
        words.append(cols[1])
    if words and len(sentences) < n:
        sentences.append(words)
    return sentences * repeat


def store(db, name: str, sentences: list[list[str]]) -> None:
    """Corpus rows written directly (the bench measures extraction, not ingestion)."""
    from atlas.store.bulk import bulk_insert
    from atlas.store.tables import Corpus, Sentence, Token

    n = sum(map(len, sentences))
    with db.write() as conn:
        cid = conn.execute(Corpus.__table__.insert().values(
            name=name, source="bench", format="conllu", n_sentences=len(sentences), n_tokens=n,
            created_at=dt.datetime.now(dt.timezone.utc))).inserted_primary_key[0]
        first = np.concatenate([[0], np.cumsum([len(s) for s in sentences])[:-1]])
        bulk_insert(conn, Sentence.__table__, {
            "corpus_id": [cid] * len(sentences), "index": list(range(len(sentences))),
            "text": [" ".join(s) for s in sentences], "first_row": first.tolist(),
            "n_tokens": [len(s) for s in sentences]})
        sids = conn.execute(Sentence.__table__.select().with_only_columns(Sentence.id)
                            .where(Sentence.corpus_id == cid).order_by(Sentence.index)).scalars().all()
        bulk_insert(conn, Token.__table__, {
            "corpus_id": [cid] * n, "sentence_id": [sid for sid, s in zip(sids, sentences) for _ in s],
            "row": list(range(n)), "position": [j for s in sentences for j in range(len(s))],
            "form": [w for s in sentences for w in s], "space_after": [True] * n})


def plain_forward(model, tok, sentences: list[list[str]], batch_size: int) -> float:
    """(a) batched by length, no hooks; returns seconds."""
    import torch

    order = sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(order), batch_size):
            batch = [sentences[i] for i in order[b:b + batch_size]]
            enc = tok(batch, is_split_into_words=True, padding=True, truncation=True, return_tensors="pt")
            model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    return time.perf_counter() - t0


def neurox_style(model, tok, sentences: list[list[str]]) -> float:
    """(c) NeuroX's extract_sentence_representations, in spirit: one sentence per forward pass,
    every hidden state to numpy, then a per-word loop (aggregation "last"); returns seconds."""
    import torch

    t0 = time.perf_counter()
    out = []
    for words in sentences:
        ids = [tok.cls_token_id]
        spans = []
        for w in words:
            pieces = tok.convert_tokens_to_ids(tok.tokenize(w))
            spans.append((len(ids), len(ids) + len(pieces)))
            ids.extend(pieces)
        ids.append(tok.sep_token_id)
        with torch.no_grad():
            hs = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
        all_layers = np.stack([h[0].numpy() for h in hs])  # [layers, tokens, d]
        sent = np.zeros((len(hs), len(words), all_layers.shape[-1]), dtype=np.float32)
        for j, (a, b) in enumerate(spans):
            sent[:, j, :] = all_layers[:, b - 1, :]
        out.append(sent)
    return time.perf_counter() - t0


def child_memory(n: int, repeat: int) -> None:
    """Run in a fresh process: extract over ``repeat`` x the first ``n`` sentences, print peak RSS."""
    import atlas

    sentences = read_pud(n, repeat)
    with tempfile.TemporaryDirectory() as tmp:
        db = atlas.connect(f"sqlite:///{tmp}/bench.db", store_root=Path(tmp) / "store")
        db.init()
        store(db, "pud", sentences)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        db.extract("builtin:all-minilm-l6-v2", corpus="pud", name="minilm", progress=False)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"words": sum(map(len, sentences)), "peak_kib": peak, "before_kib": base}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="150 sentences instead of 1,000")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--child-mem", nargs=2, type=int, metavar=("N", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_mem:
        child_memory(*args.child_mem)
        return
    import torch
    from transformers import AutoModel, AutoTokenizer

    import atlas
    from atlas.extract.models import builtin_model_path

    n = 150 if args.quick else 1000
    sentences = read_pud(n)
    n_words = sum(map(len, sentences))
    path = builtin_model_path()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    print(f"all-MiniLM-L6-v2 on {len(sentences)} PUD sentences ({n_words:,} words), "
          f"batch {args.batch_size}, torch threads {torch.get_num_threads()}")
    plain_forward(model, tok, sentences[:64], args.batch_size)  # warm-up
    neurox_style(model, tok, sentences[:8])
    # The machine is shared: interleave the three and keep each one's best of `reps`.
    reps = 2 if args.quick else 3
    t_a = t_b = t_c = float("inf")
    loop_wps = 0.0
    from atlas.extract.job import show_run

    for rep in range(reps):
        t_a = min(t_a, plain_forward(model, tok, sentences, args.batch_size))
        with tempfile.TemporaryDirectory() as tmp:
            db = atlas.connect(f"sqlite:///{tmp}/bench.db", store_root=Path(tmp) / "store")
            db.init()
            store(db, "pud", sentences)
            t0 = time.perf_counter()
            run_id = db.extract(str(path), corpus="pud", name="minilm", sites="mlp,resid",
                                batch_size=args.batch_size, progress=False)
            t_b = min(t_b, time.perf_counter() - t0)
            loop_wps = max(loop_wps, show_run(db, run_id)["words_per_s"])
            db.close()
        t_c = min(t_c, neurox_style(model, tok, sentences))

    wa, wb, wc = n_words / t_a, n_words / t_b, n_words / t_c
    print(f"(a) plain batched forward, no capture : {wa:8,.0f} words/s  ({t_a:6.2f} s)")
    print(f"(b) atlas extract mlp+resid, end to end: {wb:8,.0f} words/s  ({t_b:6.2f} s, incl. model load, "
          f"stats, top-k, DB; streaming loop alone {loop_wps:,.0f} words/s)")
    print(f"(c) NeuroX-style, one sentence at a time: {wc:8,.0f} words/s  ({t_c:6.2f} s)")
    print(f"ratios: (b)/(a) = {wb / wa:.2f} (goal >= 0.85); loop/(a) = {loop_wps / wa:.2f}; "
          f"(b)/(c) = {wb / wc:.2f} (goal >= 3); (a)/(c) = {wa / wc:.2f}")

    peaks = []
    for repeat in (1, 4):
        out = subprocess.run([sys.executable, __file__, "--child-mem", str(n), str(repeat)],
                             capture_output=True, text=True, check=True)
        peaks.append(json.loads(out.stdout.strip().splitlines()[-1]))
    p1, p4 = peaks
    print(f"peak RSS: 1x ({p1['words']:,} words) {p1['peak_kib'] / 1024:,.0f} MiB; "
          f"4x ({p4['words']:,} words) {p4['peak_kib'] / 1024:,.0f} MiB; "
          f"growth {100 * (p4['peak_kib'] / p1['peak_kib'] - 1):+.1f}% (goal < 10%)")


if __name__ == "__main__":
    main()
