"""Tiny models for smoke tests, tests and the ``*_tiny.yaml`` recipes.

``model_name_or_path: tiny-random`` (:data:`TINY_RANDOM`) in a training recipe builds the encoder of
:func:`tiny_random_encoder`: a random 1-layer BERT whose word-level vocabulary is taken from the training data, so a
run needs no download and finishes in seconds on a CPU.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

#: The ``model_name_or_path`` that asks for :func:`tiny_random_encoder` instead of a pretrained encoder.
TINY_RANDOM = "tiny-random"

#: One token of the tiny vocabulary: a CJK character, a run of other word characters, or one punctuation mark.
_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\w\s]")


def tiny_random_encoder(
    train_units: Sequence[Sequence[str]], hidden_size: int = 32, vocab_size: int = 4000
) -> tuple[Any, Any]:
    """A random 1-layer ``BertModel`` and a word-level ``BertTokenizer`` whose vocabulary is the ``vocab_size`` most
    frequent lower-cased words / CJK characters / punctuation marks of ``train_units`` (one list of unit texts per
    row; deterministic: ties are broken alphabetically)."""
    counts = Counter(token for units in train_units for unit in units for token in _WORD.findall(unit.lower()))
    words = [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:vocab_size]]
    return tiny_bert(words, hidden_size=hidden_size, intermediate_size=2 * hidden_size, max_position_embeddings=512)


def tiny_bert(
    words: Sequence[str], hidden_size: int = 16, intermediate_size: int = 32, max_position_embeddings: int = 128
) -> tuple[Any, Any]:
    """A random 1-layer ``BertModel`` (2 heads; weights from the current torch seed) and a lower-casing word-level
    ``BertTokenizer`` over ``[PAD] [UNK] [CLS] [SEP] [MASK]`` + ``words`` (duplicates dropped, order kept)."""
    from transformers import BertConfig, BertModel, BertTokenizer

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {token: index for index, token in enumerate(dict.fromkeys([*specials, *words]))}
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
    )
    return BertModel(config), tokenizer


__all__ = ["TINY_RANDOM", "tiny_bert", "tiny_random_encoder"]
