"""Tiny models with a planted neuron that drives the output, extracted into an atlas.

The corpus is the methods tests' CoNLL-U generator (``the big dog does not see a cat .``). The
models use all-MiniLM-L6-v2's tokenizer (every word of the corpus is one token) and random
weights, except for one planted MLP unit ``PLANTED`` of layer 0:

* ``encoder`` (``BertModel``, a sentence encoder): every token has the same word embedding
  except that the noun tokens get a +4 on dimension 0, and there are no position embeddings, so
  the input says one thing about a word: whether it is a noun. The planted unit reads dimension 0
  (it fires on nouns), writes a large value to dimension 1 of the residual stream and cancels
  dimension 0 there, so nounhood reaches the output only through it: without it, a probe on the
  output cannot tell nouns (``ablation(noun)`` ≈ 0.5) and the sentence embeddings move. (Every
  unit of layer 0 then separates nouns perfectly, so ``ap(noun)`` ties; ``meandiff(noun)``
  ranks the planted unit first.)
* ``gpt2`` (``GPT2LMHeadModel``): the planted unit fires on every token and writes along the
  mean embedding of the noun tokens, raising the logits of every noun (the head is tied to the
  embeddings): without it, the nouns' causal-LM loss goes up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from atlas.extract.models import builtin_model_path

from tests.methods.fixtures import _WORDS, conllu_text

PLANTED = 5
NOUNS = _WORDS["NOUN"] + [w + "s" for w in _WORDS["NOUN"]]


def _noun_ids(tok: Any) -> list[int]:
    ids: set[int] = set()
    for w in NOUNS:
        ids.update(tok(w, add_special_tokens=False)["input_ids"])
    return sorted(ids)


def build_encoder(folder: Path) -> Path:
    import transformers as tf

    tok = tf.AutoTokenizer.from_pretrained(builtin_model_path())
    torch.manual_seed(0)
    cfg = tf.BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=64)
    model = tf.BertModel(cfg).eval()
    nouns = _noun_ids(tok)
    with torch.no_grad():
        emb = model.embeddings
        emb.word_embeddings.weight[:] = emb.word_embeddings.weight[0].clone()
        emb.word_embeddings.weight[nouns, 0] += 4.0
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        layer = model.encoder.layer[0]
        inter, out = layer.intermediate.dense, layer.output.dense
        inter.weight[PLANTED] = 0.0
        inter.weight[PLANTED, 0] = 3.0
        inter.bias[PLANTED] = -1.0
        out.weight[:, PLANTED] = 0.0
        out.weight[1, PLANTED] = 8.0
        # cancel dimension 0 (the noun flag) in the residual stream: a noun's dimension 0 after
        # the attention block, over the planted unit's activation on it
        ids = torch.tensor([[tok.cls_token_id, nouns[0], tok.sep_token_id]])
        h = layer.attention(emb(ids))[0][0, 1]
        out.weight[0, PLANTED] = -h[0] / torch.nn.functional.gelu(inter(h)[PLANTED])
    model.config.architectures = ["BertModel"]
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def build_gpt2(folder: Path) -> Path:
    import transformers as tf

    tok = tf.AutoTokenizer.from_pretrained(builtin_model_path())
    torch.manual_seed(0)
    cfg = tf.GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=2, n_inner=16, n_positions=64,
                        bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id)
    model = tf.GPT2LMHeadModel(cfg)
    with torch.no_grad():
        wte = model.transformer.wte.weight
        direction = wte[_noun_ids(tok)].mean(0)
        mlp = model.transformer.h[0].mlp
        mlp.c_fc.weight[:, PLANTED] = 0.0  # Conv1D: [in, out]
        mlp.c_fc.bias[PLANTED] = 3.0  # fires everywhere (gelu(3) ~ 3)
        mlp.c_proj.weight[PLANTED] = 6.0 * direction / direction.norm()
    model.config.architectures = ["GPT2LMHeadModel"]
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def planted_atlas(db: Any, tmp_path: Path, kind: str, *, n_sentences: int = 120) -> str:
    """Store the corpus, build and extract the ``kind`` model (``encoder`` or ``gpt2``); its short name."""
    from atlas.corpus.ingest import add_corpus

    path = tmp_path / "tiny.conllu"
    if not path.exists():
        path.write_text(conllu_text(n_sentences), encoding="utf-8")
        add_corpus(db, "tiny", path, progress=False)
    folder = (build_encoder if kind == "encoder" else build_gpt2)(tmp_path / f"model-{kind}")
    db.extract(str(folder), corpus="tiny", name=f"t{kind}", progress=False)
    return f"t{kind}"


def build_mlm(folder: Path) -> Path:
    """A tiny random ``BertForMaskedLM`` (masked-LM objective), nothing planted."""
    import transformers as tf

    tok = tf.AutoTokenizer.from_pretrained(builtin_model_path())
    torch.manual_seed(0)
    cfg = tf.BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=64)
    model = tf.BertForMaskedLM(cfg)
    model.config.architectures = ["BertForMaskedLM"]
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
