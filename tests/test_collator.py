"""ClauseCollator: the A2Net/RankCP document layout, labels from pairs, and clear errors."""

from __future__ import annotations

import logging

import pytest
import torch
from transformers import AutoTokenizer

from hf_ecpe.data.collators import ClauseCollator

ROWS = [
    {
        "id": "d1",
        "units": ["i was so happy", "because i passed the exam", "she felt sad"],
        "pairs": [
            {"emotion": 0, "cause": 1, "cause_span": [-1, -1], "emotion_span": [-1, -1], "category": "happiness"},
            {"emotion": 2, "cause": 2, "cause_span": [-1, -1], "emotion_span": [-1, -1], "category": "sadness"},
        ],
    },
    {"id": "d2", "units": ["he is angry", "they lost the game"], "pairs": [[0, 1], (0, 1)]},
]


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir):
    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


def test_layout_matches_the_reference_string_encoding(tokenizer):
    batch = ClauseCollator(tokenizer)(ROWS)
    for doc, row in enumerate(ROWS):
        # the reference builds '[CLS] u1 [SEP] [CLS] u2 [SEP] ' and encodes it without special tokens
        text = "".join(f"[CLS] {unit} [SEP] " for unit in row["units"]).strip()
        expected = tokenizer.encode(text, add_special_tokens=False)
        length = int(batch["attention_mask"][doc].sum())
        assert batch["input_ids"][doc, :length].tolist() == expected
        assert (batch["input_ids"][doc, length:] == tokenizer.pad_token_id).all()
        starts = [index for index, token in enumerate(expected) if token == tokenizer.cls_token_id]
        count = len(row["units"])
        assert batch["unit_token_index"][doc, :count].tolist() == starts
        assert batch["unit_mask"][doc].tolist() == [True] * count + [False] * (3 - count)
        assert (batch["unit_token_index"][doc, count:] == 0).all()
        # segment ids alternate 0/1 per unit, from each [CLS] up to the next one
        bounds = [*starts, length]
        for unit in range(count):
            assert (batch["token_type_ids"][doc, bounds[unit] : bounds[unit + 1]] == unit % 2).all()
        assert (batch["token_type_ids"][doc, length:] == 0).all()


def test_dtypes_and_shapes(tokenizer):
    batch = ClauseCollator(tokenizer)(ROWS)
    b, t = batch["input_ids"].shape
    assert (b, batch["unit_mask"].shape[1]) == (2, 3)
    for key in ("input_ids", "attention_mask", "token_type_ids", "unit_token_index"):
        assert batch[key].dtype == torch.long and batch[key].shape[0] == 2
    assert batch["unit_mask"].dtype == torch.bool
    for key in ("emotion_labels", "cause_labels", "pair_labels"):
        assert batch[key].dtype == torch.float
    assert batch["pair_labels"].shape == (2, 3, 3)
    assert t == int(batch["attention_mask"].sum(-1).max())


def test_labels_come_from_the_pair_list(tokenizer):
    batch = ClauseCollator(tokenizer)(ROWS)
    assert batch["emotion_labels"].tolist() == [[1, 0, 1], [1, 0, 0]]
    assert batch["cause_labels"].tolist() == [[0, 1, 1], [0, 1, 0]]
    expected_pairs = torch.zeros(2, 3, 3)
    expected_pairs[0, 0, 1] = expected_pairs[0, 2, 2] = expected_pairs[1, 0, 1] = 1
    assert torch.equal(batch["pair_labels"], expected_pairs)


def test_inference_rows_give_no_labels(tokenizer):
    batch = ClauseCollator(tokenizer)([{"units": row["units"]} for row in ROWS])
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "unit_token_index", "unit_mask"}


def test_long_documents_are_never_truncated(tokenizer):
    units = [f"unit {i} i was so happy because i passed the exam today" for i in range(40)]
    batch = ClauseCollator(tokenizer)([{"units": units, "pairs": [{"emotion": 39, "cause": 38}]}])
    assert batch["input_ids"].shape[1] > 128 * 3  # far beyond the tiny encoder's 128 positions
    assert int(batch["unit_mask"].sum()) == 40
    assert batch["pair_labels"][0, 39, 38] == 1


def test_max_unit_tokens_cuts_only_the_long_unit(tokenizer, caplog):
    rows = [{"units": ["happy", "i was so happy because i passed the exam today"]}]
    with caplog.at_level(logging.WARNING):
        batch = ClauseCollator(tokenizer, max_unit_tokens=5)(rows)
    ids = batch["input_ids"][0].tolist()
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    happy = tokenizer.encode("happy", add_special_tokens=False)
    long_unit = tokenizer.encode("i was so happy because", add_special_tokens=False)[:3]
    assert ids == [cls_id, *happy, sep_id, cls_id, *long_unit, sep_id]
    assert "cut 1 unit(s)" in caplog.text
    assert ClauseCollator(tokenizer)(rows)["input_ids"].shape[1] > len(ids)  # off by default


def test_bad_rows_raise_errors_that_name_the_row(tokenizer):
    collator = ClauseCollator(tokenizer)
    with pytest.raises(ValueError, match=r"row 1 \(id='empty'\) has no units"):
        collator([ROWS[0], {"id": "empty", "units": []}])
    with pytest.raises(ValueError, match="no 'units' column"):
        collator([{"text": "x"}])
    with pytest.raises(ValueError, match="unit 1 is int"):
        collator([{"units": ["a", 3]}])
    with pytest.raises(ValueError, match="must be a list of strings"):
        collator([{"units": "a single string"}])
    with pytest.raises(ValueError, match=r"pair 0 has cause index 5; 0-based unit indices in \[0, 2\)"):
        collator([{"id": "d", "units": ["a", "b"], "pairs": [{"emotion": 0, "cause": 5}]}])
    with pytest.raises(ValueError, match="needs 'emotion' and 'cause'"):
        collator([{"units": ["a"], "pairs": [{"emotion": 0}]}])
    with pytest.raises(ValueError, match=r"rows \['1'\] have no 'pairs'"):
        collator([ROWS[0], {"units": ["a"]}])
    with pytest.raises(ValueError, match="empty batch"):
        collator([])


def test_bad_settings_raise(tokenizer):
    with pytest.raises(ValueError, match="max_unit_tokens"):
        ClauseCollator(tokenizer, max_unit_tokens=2)

    class NoClsTokenizer:
        cls_token, cls_token_id, sep_token, sep_token_id = None, None, "[SEP]", 3

    with pytest.raises(ValueError, match="needs a tokenizer with CLS and SEP"):
        ClauseCollator(NoClsTokenizer())


def test_an_encoder_without_segment_embeddings_gets_no_segment_ids_and_its_own_special_tokens(
    tiny_mpnet_dir, tiny_encoder_dir
):
    """MPNet (like RoBERTa) has no token-type embeddings and uses <s> / </s> / <pad> = 0 / 2 / 1."""
    from hf_ecpe.data.multimodal import MultimodalCollator

    mpnet = AutoTokenizer.from_pretrained(tiny_mpnet_dir)
    assert (mpnet.cls_token_id, mpnet.sep_token_id, mpnet.pad_token_id) == (0, 2, 1)
    rows = [{"units": ["i was so happy", "because i passed the exam"]}, {"units": ["she felt sad"]}]
    for batch in (ClauseCollator(mpnet)(rows), MultimodalCollator(mpnet)(rows)):
        assert "token_type_ids" not in batch
        ids = batch["input_ids"][0].tolist()
        assert ids[0] == 0 and ids[len(mpnet("i was so happy", add_special_tokens=False)["input_ids"]) + 1] == 2
        assert batch["input_ids"][0, batch["unit_token_index"][0]].tolist() == [0, 0]  # each unit starts with <s>
        assert batch["input_ids"][1, batch["attention_mask"][1] == 0].eq(1).all()  # padded with <pad>
    bert = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    assert ClauseCollator(bert)(rows)["token_type_ids"][0].tolist().count(1) > 0  # BERT keeps alternating segments
    assert "token_type_ids" not in ClauseCollator(bert, segment_ids=False)(rows)
    assert "token_type_ids" in ClauseCollator(mpnet, segment_ids=True)(rows)
