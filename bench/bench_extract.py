"""Extraction throughput and memory: atlas extract against its limit and a NeuroX-style baseline.

In one process, on the same model (all-MiniLM-L6-v2) and the same sentences of UD English PUD:

(a) a plain batched forward pass, no capture (the limit): sentences sorted by length, batches
    of 32, torch's default threads, as a user would write it,
(a') the forward passes ``atlas extract`` runs, no capture: the same batches (atlas's plan), one
    per core on one core each (so (b) / (a') is the cost of capturing, writing and summing),
(b) ``atlas extract`` with both sites (mlp, resid; every block), end to end: model load,
    tokenising, windows, hooks, aggregation, float16 files, fsync, chunk commits, statistics
    and top-k (streamed chunk by chunk), sha256s, DB,
(c) NeuroX's own extractor ported line for line (see :func:`neurox_style`): one sentence at a
    time, ``output_hidden_states``, all layers to numpy float32, a Python loop over words, each
    sentence's array written out (``np.save`` in place of its HDF5 dataset),
(c') when the ``neurox`` package is importable, NeuroX 1.0.9's own ``extract_representations``
    (HDF5 output, model load included); install it beside the project with
    ``pip install --no-deps neurox h5py`` (its pinned dependencies are from 2021).

Then peak memory (ru_maxrss of a fresh process) of ``atlas extract`` on 1x and 4x the corpus.

Usage::

    python bench/bench_extract.py            # 1,000 sentences
    python bench/bench_extract.py --quick    # 150 sentences
    python bench/bench_extract.py --repeat 4 # 4 copies of the 1,000 (84,720 words)
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


def atlas_forward(model_path: Path, sentences: list[list[str]], batch_size: int) -> float:
    """(a') atlas's plan and threading, no hooks: returns seconds (tokenising included)."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    from atlas.extract.align import plan_batches
    from atlas.extract.layout import chunk_bounds
    from atlas.extract.options import DEFAULT_CHUNK_WORDS
    from atlas.extract.pipeline import CPU_BATCH_COST, compute_threads
    from atlas.extract.models import load_model

    loaded = load_model(str(model_path))
    runner = loaded.adapter.runner(loaded.model)
    n_threads = compute_threads(torch.device("cpu"))
    before = torch.get_num_threads()

    def one(batch) -> None:
        with torch.inference_mode():
            runner(input_ids=batch.input_ids, attention_mask=batch.attention_mask)

    torch.set_num_threads(1)
    try:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(n_threads) as pool:
            for a, b in chunk_bounds(np.array([len(s) for s in sentences]), DEFAULT_CHUNK_WORDS):  # the job's chunks
                plan = plan_batches(loaded.tokenizer, sentences[a:b], max_length=loaded.max_length,
                                    batch_size=batch_size, pad_id=loaded.pad_id, batch_cost=CPU_BATCH_COST)
                list(pool.map(one, plan.batches))
        return time.perf_counter() - t0
    finally:
        torch.set_num_threads(before)


def neurox_own(model_path: Path, sentences: list[list[str]]) -> float | None:
    """(c') NeuroX's own ``extract_representations`` to HDF5, or None when it is not installed."""
    import contextlib
    import os

    try:
        from neurox.data.extraction.transformers_extractor import extract_representations
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        extract_representations(str(model_path), str(corpus), str(Path(tmp) / "out.hdf5"), output_type="hdf5")
        return time.perf_counter() - t0


def _neurox_aggregate_repr(state, start, end, aggregation):
    """NeuroX's ``aggregate_repr``: one word's vector from its subword span, every layer."""
    if end < start:
        sys.stderr.write("WARNING: An empty slice of tokens was encountered.\n")
        return np.zeros((state.shape[0], state.shape[2]))
    if aggregation == "first":
        return state[:, start, :]
    elif aggregation == "last":
        return state[:, end, :]
    elif aggregation == "average":
        return np.average(state[:, start : end + 1, :], axis=1)


def _neurox_sentence(sentence, model, tokenizer, aggregation="last", tokenization_counts=None, dtype="float32"):
    """NeuroX's ``extract_sentence_representations`` (include_embeddings=True), line for line."""
    import torch

    special_tokens = [x for x in tokenizer.all_special_tokens if x != tokenizer.unk_token]
    special_tokens_ids = tokenizer.convert_tokens_to_ids(special_tokens)
    original_tokens = sentence.split(" ")
    # Add a letter and space before each word since some tokenizers are space sensitive
    tmp_tokens = ["a" + " " + x if x_idx != 0 else x for x_idx, x in enumerate(original_tokens)]
    with torch.no_grad():
        for token_idx, token in enumerate(tmp_tokens):
            tok_ids = [x for x in tokenizer.encode(token) if x not in special_tokens_ids]
            if token_idx != 0:
                tok_ids = tok_ids[1:]
            if token in tokenization_counts:
                assert tokenization_counts[token] == len(tok_ids), "Got different tokenization for already processed word"
            else:
                tokenization_counts[token] = len(tok_ids)
        ids = tokenizer.encode(sentence, truncation=True)
        input_ids = torch.tensor([ids])
        all_hidden_states = model(input_ids, output_hidden_states=True)[-1]
        all_hidden_states = [hidden_states[0].cpu().numpy() for hidden_states in all_hidden_states]
        all_hidden_states = np.array(all_hidden_states).astype(dtype)
    print('Sentence         : "%s"' % (sentence))
    print("Original    (%03d): %s" % (len(original_tokens), original_tokens))
    print("Tokenized   (%03d): %s" % (len(tokenizer.convert_ids_to_tokens(ids)), tokenizer.convert_ids_to_tokens(ids)))
    ids_without_special_tokens = [x for x in ids if x not in special_tokens_ids]
    idx_without_special_tokens = [t_i for t_i, x in enumerate(ids) if x not in special_tokens_ids]
    filtered_ids = [ids[t_i] for t_i in idx_without_special_tokens]
    assert all_hidden_states.shape[1] == len(ids)
    all_hidden_states = all_hidden_states[:, idx_without_special_tokens, :]
    assert all_hidden_states.shape[1] == len(filtered_ids)
    print("Filtered   (%03d): %s" % (len(tokenizer.convert_ids_to_tokens(filtered_ids)), tokenizer.convert_ids_to_tokens(filtered_ids)))
    segmented_tokens = tokenizer.convert_ids_to_tokens(filtered_ids)
    counter = 0
    detokenized = []
    final_hidden_states = np.zeros((all_hidden_states.shape[0], len(original_tokens), all_hidden_states.shape[2]), dtype=dtype)
    inputs_truncated = False
    for token_idx, token in enumerate(tmp_tokens):
        current_word_start_idx = counter
        current_word_end_idx = counter + tokenization_counts[token]
        if (tokenization_counts[token] != 0 and current_word_start_idx >= all_hidden_states.shape[1]) \
                or current_word_end_idx > all_hidden_states.shape[1]:
            final_hidden_states = final_hidden_states[:, : len(detokenized), :]
            inputs_truncated = True
            break
        final_hidden_states[:, len(detokenized), :] = _neurox_aggregate_repr(
            all_hidden_states, current_word_start_idx, current_word_end_idx - 1, aggregation)
        detokenized.append("".join(segmented_tokens[current_word_start_idx:current_word_end_idx]))
        counter += tokenization_counts[token]
    print("Detokenized (%03d): %s" % (len(detokenized), detokenized))
    print("Counter: %d" % (counter))
    if inputs_truncated:
        print("WARNING: Input truncated because of length, skipping check")
    else:
        assert counter == len(ids_without_special_tokens)
        assert len(detokenized) == len(original_tokens)
    print("===================================================================")
    return final_hidden_states, detokenized


def neurox_style(model, tok, sentences: list[list[str]]) -> float:
    """(c) a port of NeuroX's extractor (fdalvi/NeuroX, neurox/data/extraction/transformers_extractor.py,
    ``extract_representations`` with its defaults: aggregation "last", embeddings included, float32,
    HDF5 output); returns seconds.

    One sentence per forward pass (the full model, no attention mask, ``torch.no_grad``), the
    per-word tokenisation check with its cache, ``output_hidden_states`` (embeddings + every
    block) to numpy float32, special tokens filtered out, the Python loop over words, and each
    sentence written out as NeuroX's ``HDF5ActivationsWriter`` does: one dataset ``[layers, words,
    d]`` float32 per sentence, then the ``sentence_to_index`` JSON on close. h5py is not
    installed here, so the same arrays go with ``np.save`` into one file in a temporary folder,
    and the JSON beside it. NeuroX prints several lines per sentence; they go to ``os.devnull``.
    Hidden states only: NeuroX does not capture MLP units. The input is what NeuroX reads, one
    sentence per line with words joined by spaces.
    """
    import contextlib
    import os

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        tokenization_counts: dict[str, int] = {}
        sentence_to_index: dict[str, str] = {}
        with open(Path(tmp) / "activations.npy-stream", "wb") as out:
            for sentence_idx, words in enumerate(sentences):
                sentence = " ".join(words)
                hidden_states, extracted_words = _neurox_sentence(
                    sentence, model, tok, aggregation="last", tokenization_counts=tokenization_counts)
                np.save(out, hidden_states)
                sentence = " ".join(extracted_words)
                final_sentence, counter = sentence, 1
                while final_sentence in sentence_to_index:
                    counter += 1
                    final_sentence = f"{sentence} (Occurrence {counter})"
                sentence_to_index[final_sentence] = str(sentence_idx)
        (Path(tmp) / "sentence_to_index.json").write_text(json.dumps(sentence_to_index))
    return time.perf_counter() - t0


def random_bert_base(folder: Path) -> Path:
    """A BERT-base-sized model (random weights, seed 0) with the built-in model's tokenizer."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    from atlas.extract.models import builtin_model_path

    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                         intermediate_size=3072)).save_pretrained(folder)
    for f in builtin_model_path().iterdir():
        if f.name.startswith(("tokenizer", "vocab", "special_tokens")):
            shutil.copy(f, folder / f.name)
    return folder


def child_memory(n: int, repeat: int, model: str = "builtin:all-minilm-l6-v2") -> None:
    """Run in a fresh process: extract over ``repeat`` x the first ``n`` sentences, print peak RSS."""
    import atlas

    sentences = read_pud(n, repeat)
    with tempfile.TemporaryDirectory() as tmp:
        db = atlas.connect(f"sqlite:///{tmp}/bench.db", store_root=Path(tmp) / "store")
        db.init()
        store(db, "pud", sentences)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        db.extract(model, corpus="pud", name="m", progress=False)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"words": sum(map(len, sentences)), "peak_kib": peak, "before_kib": base}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="150 sentences instead of 1,000")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--bert-base", action="store_true",
                        help="a randomly initialised model of BERT-base's size (12 x 768, MLP 3072; seed 0) "
                             "with MiniLM's tokenizer, saved to a temporary folder (no hub access here)")
    parser.add_argument("--sentences", type=int, default=None, metavar="N", help="the first N PUD sentences")
    parser.add_argument("--repeat", type=int, default=1, metavar="R",
                        help="time R copies of the sentences (R x 21,180 words): fixed costs weigh less")
    parser.add_argument("--child-mem", nargs=3, metavar=("N", "REPEAT", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_mem:
        child_memory(int(args.child_mem[0]), int(args.child_mem[1]), args.child_mem[2])
        return
    import torch
    from transformers import AutoModel, AutoTokenizer

    import atlas
    from atlas.extract.models import builtin_model_path

    n = args.sentences or (150 if args.quick else 1000)
    sentences = read_pud(n, args.repeat)
    n_words = sum(map(len, sentences))
    path = builtin_model_path()
    label = "all-MiniLM-L6-v2"
    if args.bert_base:
        path, label = random_bert_base(Path(tempfile.mkdtemp(prefix="atlas-bench-bert-"))), "BERT-base-size (random)"
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    print(f"{label} on {len(sentences)} PUD sentences{f' ({args.repeat} copies)' if args.repeat > 1 else ''} ({n_words:,} words), "
          f"batch {args.batch_size}, torch threads {torch.get_num_threads()}")
    plain_forward(model, tok, sentences[:64], args.batch_size)  # warm-up
    neurox_style(model, tok, sentences[:8])
    # The machine is shared: interleave the three and keep each one's best of `reps`.
    reps = 2 if args.quick or args.repeat > 1 else 3
    t_a = t_a2 = t_b = t_c = t_c2 = float("inf")
    loop_wps = 0.0
    from atlas.extract.runs import show_run

    for rep in range(reps):
        t_a = min(t_a, plain_forward(model, tok, sentences, args.batch_size))
        t_a2 = min(t_a2, atlas_forward(path, sentences, args.batch_size))
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
        if rep == 0 or t_c2 != float("inf"):
            own = neurox_own(path, sentences)
            t_c2 = min(t_c2, own) if own is not None else t_c2

    wa, wa2, wb, wc = n_words / t_a, n_words / t_a2, n_words / t_b, n_words / t_c
    print(f"(a)  plain batched forward, no capture  : {wa:8,.0f} words/s  ({t_a:6.2f} s)")
    print(f"(a') atlas's forward passes, no capture : {wa2:8,.0f} words/s  ({t_a2:6.2f} s, same batches, one per core)")
    print(f"(b)  atlas extract mlp+resid, end to end: {wb:8,.0f} words/s  ({t_b:6.2f} s, incl. model load, "
          f"stats, top-k, DB; streaming loop alone {loop_wps:,.0f} words/s)")
    print(f"(c)  NeuroX-style, one sentence at a time: {wc:8,.0f} words/s  ({t_c:6.2f} s)")
    if t_c2 != float("inf"):
        wc2 = n_words / t_c2
        print(f"(c') NeuroX 1.0.9's own extractor, HDF5 : {wc2:8,.0f} words/s  ({t_c2:6.2f} s, incl. model load)")
    else:
        print("(c') NeuroX's own extractor: not installed (pip install --no-deps neurox h5py)")
    print(f"ratios: (b)/(a) = {wb / wa:.2f} (goal >= 0.85); loop/(a) = {loop_wps / wa:.2f}; (b)/(a') = {wb / wa2:.2f}; "
          f"(b)/(c) = {wb / wc:.2f} (goal >= 3); (a)/(c) = {wa / wc:.2f}"
          + (f"; (b)/(c') = {wb / wc2:.2f}; (a)/(c') = {wa / wc2:.2f}" if t_c2 != float("inf") else ""))

    peaks = []
    for repeat in (1, 4):
        out = subprocess.run([sys.executable, __file__, "--child-mem", str(n), str(repeat), str(path)],
                             capture_output=True, text=True, check=True)
        peaks.append(json.loads(out.stdout.strip().splitlines()[-1]))
    p1, p4 = peaks
    print(f"peak RSS: 1x ({p1['words']:,} words) {p1['peak_kib'] / 1024:,.0f} MiB; "
          f"4x ({p4['words']:,} words) {p4['peak_kib'] / 1024:,.0f} MiB; "
          f"growth {100 * (p4['peak_kib'] / p1['peak_kib'] - 1):+.1f}% (goal < 10%)")


if __name__ == "__main__":
    main()
