"""The pair scorer's optional emotion-category head: config, collator labels, loss, decoding, category-aware metrics
in the trainer, pipeline output, save/load."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer, pipeline

import hf_ecpe  # noqa: F401  (registers the models and the pipeline task)
from hf_ecpe.data.multimodal import MultimodalCollator
from hf_ecpe.evaluation import ecpe_scores
from hf_ecpe.models.pair_scorer import MultimodalPairScorerConfig, MultimodalPairScorerModel, decode_category_logits
from hf_ecpe.trainers import EcpeTrainer, EcpeTrainingArguments
from hf_ecpe.trainers.metrics import DocumentPrediction, EcpeComputeMetrics, unpack_gold_categories

CATEGORIES = ["neutral", "anger", "joy", "sadness"]
SMALL = {"context_hidden_size": 8, "pair_hidden_size": 8, "relative_position_size": 4, "speaker_embedding_size": 3}
ROWS = [
    {
        "id": "c1",
        "units": ["i was so happy", "because i passed the exam", "she felt sad", "her dog died"],
        "speakers": ["A", "B", "A", "B"],
        "emotions": ["happy", "neutral", "sadness", "neutral"],
        "pairs": [{"emotion": 0, "cause": 1}, {"emotion": 2, "cause": 3}],
    },
    {
        "id": "c2",
        "units": ["they lost the game", "he is angry"],
        "speakers": ["C", "C"],
        "emotions": ["neutral", "anger"],
        "pairs": [{"emotion": 1, "cause": 0}],
    },
]
# ``normalize_emotion`` maps "happy" to "happiness", whose basic form "joy" is in CATEGORIES (one vocabulary);
# JOY_ROWS writes the labels directly.
JOY_ROWS = [dict(ROWS[0], emotions=["joy", "neutral", "sadness", "neutral"]), ROWS[1]]


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder_dir):
    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


@pytest.fixture()
def model(tiny_encoder_dir):
    torch.manual_seed(0)
    return MultimodalPairScorerModel.from_encoder(
        str(tiny_encoder_dir), emotion_categories=CATEGORIES, candidates="all", **SMALL
    )


def test_config_validates_the_category_list():
    assert MultimodalPairScorerConfig().emotion_categories is None
    assert MultimodalPairScorerConfig(emotion_categories=CATEGORIES).emotion_categories == CATEGORIES
    for bad, message in (
        ("joy", "list of category names"),
        (["joy", "anger"], "must include 'neutral'"),
        (["neutral"], "at least one emotion"),
        (["neutral", "joy", "joy"], "repeats"),
        (["neutral", ""], "non-empty strings"),
    ):
        with pytest.raises(ValueError, match=message):
            MultimodalPairScorerConfig(emotion_categories=bad)
    with pytest.raises(ValueError, match="category_loss_weight"):
        MultimodalPairScorerConfig(emotion_categories=CATEGORIES, category_loss_weight=-1)


def test_collator_emits_category_indices_and_names_bad_rows(tokenizer):
    collate = MultimodalCollator(tokenizer, emotion_categories=CATEGORIES)
    batch = collate(JOY_ROWS)
    assert batch["emotion_category_labels"].tolist() == [[2, 0, 3, 0], [0, 1, -100, -100]]
    assert "emotion_category_labels" not in MultimodalCollator(tokenizer)(JOY_ROWS)  # no categories: no labels
    inference = [{k: v for k, v in row.items() if k != "pairs"} for row in JOY_ROWS]
    assert "emotion_category_labels" not in collate(inference)  # inference rows: no labels at all
    # one vocabulary: a corpus spelling of a basic emotion ('happy', 'happiness') finds the model's 'joy'
    assert collate(ROWS)["emotion_category_labels"].tolist() == batch["emotion_category_labels"].tolist()
    with pytest.raises(ValueError, match=r"row 0 \(id='c1'\): unit 0 has emotion 'bored'.*not one of"):
        collate([dict(ROWS[0], emotions=["bored", *ROWS[0]["emotions"][1:]]), ROWS[1]])
    with pytest.raises(ValueError, match=r"row 1 \(id='c2'\).*needs 'emotions'.*got none"):
        collate([JOY_ROWS[0], {k: v for k, v in ROWS[1].items() if k != "emotions"}])
    with pytest.raises(ValueError, match=r"one label per unit \(2\), got list of length 1"):
        collate([dict(ROWS[1], emotions=["anger"])])
    # corpus spellings are normalised before lookup
    assert collate([dict(ROWS[1], emotions=[" Neutral", "ANGER"])])["emotion_category_labels"].tolist() == [[0, 1]]


def test_category_logits_and_loss(model, tokenizer):
    model.eval()
    batch = MultimodalCollator(tokenizer, emotion_categories=CATEGORIES)(JOY_ROWS)
    output = model(**batch)
    assert output.category_logits.shape == (2, 4, len(CATEGORIES))
    labels, units = batch["emotion_category_labels"], batch["unit_mask"]
    expected = F.cross_entropy(output.category_logits[units], labels[units])
    assert torch.allclose(output.loss_category, expected)
    assert torch.allclose(output.loss, output.loss_pair + output.loss_emotion + output.loss_cause + expected)
    model.config.category_loss_weight = 0.25
    assert torch.allclose(
        model(**batch).loss, output.loss_pair + output.loss_emotion + output.loss_cause + 0.25 * expected
    )
    without = {k: v for k, v in batch.items() if k != "emotion_category_labels"}
    plain = model(**without)
    assert plain.loss_category is None and torch.allclose(plain.category_logits, output.category_logits)
    # gradients reach the category head
    model.train()
    model(**batch).loss.backward()
    assert model.category_head.weight.grad is not None and model.category_head.weight.grad.abs().sum() > 0


def test_bad_category_labels_are_clear_errors(model, tokenizer, tiny_encoder_dir):
    batch = MultimodalCollator(tokenizer, emotion_categories=CATEGORIES)(JOY_ROWS)
    bad = dict(batch, emotion_category_labels=batch["emotion_category_labels"].clone())
    bad["emotion_category_labels"][0, 0] = len(CATEGORIES)
    with pytest.raises(ValueError, match=r"emotion_category_labels must be in \[0, 4\) or -100"):
        model(**bad)
    plain = MultimodalPairScorerModel.from_encoder(str(tiny_encoder_dir), **SMALL)
    assert plain.category_head is None and plain(**MultimodalCollator(tokenizer)(JOY_ROWS)).category_logits is None
    with pytest.raises(ValueError, match="no category head"):
        plain(**batch)
    with pytest.raises(ValueError, match="no category head"):
        plain.decode_categories(torch.zeros(1, 2, 4), torch.ones(1, 2, dtype=torch.bool))


def test_decoding_takes_the_best_non_neutral_category():
    logits = torch.log(torch.tensor([[[0.7, 0.1, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4], [9.0, 9.0, 9.0, 9.0]]]))
    decoded = decode_category_logits(logits, torch.tensor([[True, True, False]]), CATEGORIES)
    assert [name for name, _ in decoded[0]] == ["joy", "sadness"]  # neutral's 0.7 is skipped; padding dropped
    assert decoded[0][0][1] == pytest.approx(0.15) and decoded[0][1][1] == pytest.approx(0.4)
    with pytest.raises(ValueError, match=r"shape \(B, N, 4\)"):
        decode_category_logits(torch.zeros(1, 2, 3), torch.ones(1, 2, dtype=torch.bool), CATEGORIES)


def _document(pair: tuple[int, int], category_probabilities: list[list[float]]) -> DocumentPrediction:
    n = len(category_probabilities)
    pair_logits = np.full((n, n), -5.0, dtype=np.float32)
    pair_logits[pair] = 5.0
    return DocumentPrediction(
        n_units=n,
        emotion_logits=np.zeros(n, dtype=np.float32),
        cause_logits=np.zeros(n, dtype=np.float32),
        pair_logits=pair_logits,
        candidate_mask=np.ones((n, n), dtype=bool),
        category_logits=np.log(np.asarray(category_probabilities, dtype=np.float32)),
    )


def test_category_aware_pair_scores_by_hand(model):
    model.config.decoding = "threshold"
    metrics = EcpeComputeMetrics(model)
    docs = [
        _document((1, 0), [[0.9, 0.05, 0.03, 0.02], [0.1, 0.2, 0.6, 0.1]]),  # pair (1,0) predicted as joy
        _document((0, 0), [[0.4, 0.3, 0.2, 0.1], [0.7, 0.1, 0.1, 0.1]]),  # pair (0,0) predicted as anger
    ]
    gold = [[(1, 0)], [(0, 0)]]
    gold_categories = [np.array([0, 2]), np.array([3, 0])]  # doc 1: joy (right); doc 2: sadness (wrong)
    predicted = [[(1, 0)], [(0, 0)]]
    scores = metrics.category_scores(docs, predicted, gold, gold_categories)
    reference = ecpe_scores(
        [[(1, 0, "joy")], [(0, 0, "anger")]], [[(1, 0, "joy")], [(0, 0, "sadness")]], categories=CATEGORIES
    )
    assert scores["category_pair_f1"] == pytest.approx(0.5) == pytest.approx(reference["category_pair_f1"])
    assert scores["weighted_f1"] == pytest.approx(reference["weighted_f1"])
    # utterance argmax (neutral included): doc 1 [neutral, joy] both right; doc 2 [neutral, neutral] vs
    # [sadness, neutral]: one right -> 3/4
    assert scores["category_accuracy"] == pytest.approx(0.75)


def test_trainer_evaluation_reports_category_scores(model, tokenizer, tmp_path):
    args = EcpeTrainingArguments(
        output_dir=str(tmp_path),
        per_device_eval_batch_size=1,  # batches of different widths: the packing must survive concatenation
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = EcpeTrainer(
        model=model,
        args=args,
        eval_dataset=JOY_ROWS,
        data_collator=MultimodalCollator(tokenizer, emotion_categories=CATEGORIES),
        processing_class=tokenizer,
    )
    metrics = trainer.evaluate()
    for key in ("eval_category_pair_f1", "eval_weighted_f1", "eval_category_accuracy", "eval_loss_category"):
        assert key in metrics, key
    output = trainer.predict(JOY_ROWS)
    gold = unpack_gold_categories(output.label_ids)
    assert [g.tolist() for g in gold] == [[2, 0, 3, 0], [0, 1]]


def test_pipeline_adds_categories_and_checkpoints_keep_the_head(model, tokenizer, tmp_path):
    model.eval()
    path = tmp_path / "scorer"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    loaded = AutoModel.from_pretrained(path).eval()
    assert loaded.config.emotion_categories == CATEGORIES
    assert torch.equal(loaded.category_head.weight, model.category_head.weight)
    extractor = pipeline("emotion-cause", model=str(path))
    conversation = {"utterances": ["i lost my job today", "i am so sad"], "speakers": ["A", "A"]}
    result = extractor(conversation, decoding="threshold", threshold=0.0, unit_threshold=0.0)
    assert len(result["pairs"]) == 4 and len(result["emotions"]) == 2
    batch = MultimodalCollator(tokenizer)([{"units": conversation["utterances"], "speakers": ["A", "A"]}])
    with torch.no_grad():
        expected = decode_category_logits(model(**batch).category_logits, batch["unit_mask"], CATEGORIES)[0]
    for pair in result["pairs"]:
        name, probability = expected[pair["emotion_index"]]
        assert pair["category"] == name and pair["category_score"] == pytest.approx(probability, abs=1e-5)
    for emotion in result["emotions"]:
        assert emotion["category"] == expected[emotion["index"]][0]
    # batched: the same categories for each conversation
    other = {"utterances": ["we won the cup", "i am thrilled", "really"], "speakers": ["A", "B", "A"]}
    single = [extractor(x, decoding="threshold", threshold=0.0, unit_threshold=0.0) for x in (conversation, other)]
    batched = extractor([conversation, other], batch_size=2, decoding="threshold", threshold=0.0, unit_threshold=0.0)
    for one, many in zip(single, batched):
        assert [p["category"] for p in one["pairs"]] == [p["category"] for p in many["pairs"]]
        for a, b in zip(one["pairs"], many["pairs"]):
            assert a["category_score"] == pytest.approx(b["category_score"], abs=1e-5)
