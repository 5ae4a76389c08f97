"""Tiny randomly initialised models of every supported family, saved as local model folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from atlas.extract.models import builtin_model_path

from .helpers import WORDS

FAMILIES = ("bert", "roberta", "distilbert", "gpt2", "llama", "t5")


def _bert_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(builtin_model_path())


def _bpe_tokenizer(kind: str):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2TokenizerFast, RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] if kind == "roberta" else ["<|endoftext|>"]
    bpe.train_from_iterator([" ".join(WORDS)] * 4, vocab_size=700, min_frequency=1, special_tokens=special)
    if kind == "roberta":
        from tokenizers.processors import RobertaProcessing

        bpe._tokenizer.post_processor = RobertaProcessing(("</s>", 2), ("<s>", 0))
        return RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>",
                                    sep_token="</s>", cls_token="<s>", pad_token="<pad>", unk_token="<unk>",
                                    mask_token="<mask>")
    eot = "<|endoftext|>"
    return GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=eot, eos_token=eot, unk_token=eot)


def build_tiny(family: str, folder: Path, *, max_positions: int = 128) -> Path:
    """Save a tiny random ``family`` model plus a fast tokenizer to ``folder``."""
    import transformers as tf

    torch.manual_seed(0)
    bert_tok = family in ("bert", "distilbert", "llama", "t5")
    tok = _bert_tokenizer() if bert_tok else _bpe_tokenizer(family)
    vocab = len(tok)
    if family == "bert":
        cfg = tf.BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=48, max_position_embeddings=max_positions)
        model = tf.BertModel(cfg)
    elif family == "roberta":
        cfg = tf.RobertaConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=48, max_position_embeddings=max_positions + 2, pad_token_id=1,
                               bos_token_id=0, eos_token_id=2)
        model = tf.RobertaModel(cfg)
    elif family == "distilbert":
        cfg = tf.DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=2, hidden_dim=40,
                                  max_position_embeddings=max_positions)
        model = tf.DistilBertModel(cfg)
    elif family == "gpt2":
        cfg = tf.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=2, n_positions=max_positions)
        model = tf.GPT2Model(cfg)
    elif family == "llama":
        cfg = tf.LlamaConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                             num_key_value_heads=2, intermediate_size=44, max_position_embeddings=max_positions,
                             pad_token_id=0)
        model = tf.LlamaModel(cfg)
    elif family == "t5":
        cfg = tf.T5Config(vocab_size=vocab, d_model=32, d_kv=16, d_ff=36, num_layers=2, num_decoder_layers=1,
                          num_heads=2, decoder_start_token_id=0, pad_token_id=0)
        model = tf.T5Model(cfg)
    else:  # pragma: no cover
        raise ValueError(family)
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``tiny_model("gpt2")`` -> folder of a saved tiny model (built once per session)."""
    cache: dict[tuple[str, int], Path] = {}

    def get(family: str, max_positions: int = 128) -> Path:
        key = (family, max_positions)
        if key not in cache:
            cache[key] = build_tiny(family, tmp_path_factory.mktemp(f"{family}{max_positions}"), max_positions=max_positions)
        return cache[key]

    return get
