"""Learning tests: every registered method learns a synthetic task whose labels are a simple function of the input.

One test per method of :func:`hf_ecpe.methods.methods` (``test_every_registered_method_has_a_learning_test`` keeps the
list complete). Each builds a tiny random model (the tests' tiny BERT, or a tiny random Llama for the triplet LLM),
trains it for a few dozen steps with a plain torch loop over the method's own loss, scores it with the method's own
decoding and metric, and asserts that it beats the task's trivial baseline, a content-blind predictor scored by the
same metric, by the margin stated in the test (:data:`MARGINS`).

Broken learning fails them: ``HF_ECPE_FLIP_LOSS_SIGN=1`` negates the loss in this file's training loop (gradient
ascent; nothing in the library reads it), and every learning test then fails::

    HF_ECPE_FLIP_LOSS_SIGN=1 python -m pytest tests/test_learning.py

Everything is seeded and runs on one thread (deterministic, and a few seconds per test on a busy CPU).
"""

from __future__ import annotations

import functools
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoTokenizer

import hf_ecpe  # noqa: F401  (registration)
from hf_ecpe.data import make_pair
from hf_ecpe.evaluation.pairs import ecpe_scores
from hf_ecpe.methods import get_method, methods

#: ``HF_ECPE_FLIP_LOSS_SIGN=1``: train on the negated loss (the check that these tests can fail).
FLIP_LOSS_SIGN = os.environ.get("HF_ECPE_FLIP_LOSS_SIGN", "") not in ("", "0")

#: How far each trained model must beat its trivial baseline, on the metric's own scale (see each test for why).
#: About half the distance between the baseline and what the trained model reaches (measured: baseline → trained;
#: the flipped loss ends at or below the baseline), so a small numerical drift neither fails a learning model nor
#: passes a broken one.
MARGINS = {
    "a2net": 0.5,  # pair F1: 0.09 → 0.94
    "pair_scorer": 0.4,  # pair F1: 0.13 → 1.0
    "triplet_llm": 0.4,  # strict triplet F1: 0.40 (right on a quarter of the documents, nothing elsewhere) → 1.0
    "kd_ecs_teacher": 0.3,  # utterance macro F1: 0.38 → 1.0
    "kd_ecs_student": 0.3,  # span macro F1: 0.38 → 0.85
    "empathy": 25.0,  # BLEU (0-100): 50.8 → 96.3
    "empathy_lm": 25.0,  # BLEU (0-100): 50.8 → 100
}

# Words of the tiny BERT's vocabulary (tests/conftest.py TINY_WORDS) that carry no signal.
FILLER = "i was so the she felt her dog he is they game we were to see snow in july my friend of".split()


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: deterministic sums, and no thread contention on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train(
    model: torch.nn.Module,
    batch_for_step: Callable[[torch.Generator], Mapping[str, Any]],
    *,
    steps: int,
    learning_rate: float,
    loss_of: Callable[[torch.nn.Module, Mapping[str, Any]], torch.Tensor] | None = None,
) -> None:
    """``steps`` AdamW steps on ``loss_of(model, batch)`` (default: the model's own ``loss``), negated under
    ``HF_ECPE_FLIP_LOSS_SIGN``. ``batch_for_step(generator)`` draws each batch from a seeded generator."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    model.train()
    for _ in range(steps):
        batch = batch_for_step(generator)
        loss = loss_of(model, batch) if loss_of is not None else model(**batch).loss
        if FLIP_LOSS_SIGN:
            loss = -loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def sampler(items: Sequence[Any], batch_size: int, collate: Callable[[list], Any]) -> Callable:
    """A ``batch_for_step`` drawing ``batch_size`` of ``items`` with replacement and collating them."""

    def draw(generator: torch.Generator) -> Any:
        picks = torch.randint(len(items), (batch_size,), generator=generator).tolist()
        return collate([items[k] for k in picks])

    return draw


def assert_beats(name: str, score: float, baseline: float) -> None:
    margin = MARGINS[name]
    assert score >= baseline + margin, (
        f"{name}: trained score {score:.3f} does not beat the trivial baseline {baseline:.3f} by {margin}"
        + (" (HF_ECPE_FLIP_LOSS_SIGN is set: the loss was negated)" if FLIP_LOSS_SIGN else "")
    )


def test_every_registered_method_has_a_learning_test():
    builtin = {
        name
        for name, spec in methods().items()
        if spec.model_class is None or spec.model_class.__module__.startswith("hf_ecpe.")
    }
    assert builtin == set(MARGINS), f"add a learning test (and a margin) for {sorted(builtin - set(MARGINS))}"


# ---------------------------------------------------------------------------------------------------------------
# Pair methods: the emotion unit holds "happy", its cause the unit holding "because"
# ---------------------------------------------------------------------------------------------------------------


def marker_documents(count: int, seed: int, offsets: Sequence[int], num_units: int = 5) -> list[dict[str, Any]]:
    """Documents of ``num_units`` units of three filler words; one pair (e, e + offset), uniform over the positions
    where an offset fits: unit e also holds "happy", the cause unit "because" (each at a random place)."""
    rng = random.Random(seed)
    positions = [(e, e + o) for e in range(num_units) for o in offsets if 0 <= e + o < num_units]
    rows = []
    for _ in range(count):
        emotion, cause = rng.choice(positions)
        units = []
        for k in range(num_units):
            words = rng.sample(FILLER, 3)
            for marker, index in (("happy", emotion), ("because", cause)):
                if k == index:
                    words.insert(rng.randrange(len(words) + 1), marker)
            units.append(" ".join(words))
        speakers = ["A", "B"] * (num_units // 2) + ["A"] * (num_units % 2)
        rows.append({"units": units, "speakers": speakers, "pairs": [make_pair(emotion, cause)]})
    return rows


def gold_pairs(rows: Sequence[Mapping[str, Any]]) -> list[list[list[int]]]:
    return [[[pair["emotion"], pair["cause"]] for pair in row["pairs"]] for row in rows]


def majority_pair_f1(train_rows: Sequence[Mapping[str, Any]], test_rows: Sequence[Mapping[str, Any]]) -> float:
    """Trivial baseline: the most frequent training (emotion, cause) position, predicted for every test document."""
    position = Counter(tuple(pair) for pairs in gold_pairs(train_rows) for pair in pairs).most_common(1)[0][0]
    return ecpe_scores([[list(position)]] * len(test_rows), gold_pairs(test_rows))["pair_f1"]


def pair_model_f1(model: Any, collate: Callable, rows: Sequence[Mapping[str, Any]]) -> float:
    """Pair F1 of the model's own decoding (``decode_pairs`` with its config's strategy) on ``rows``."""
    batch = collate([{"units": row["units"], "speakers": row["speakers"]} for row in rows])
    with torch.no_grad():
        output = model(**batch)
    decoded = model.decode_pairs(output.pair_logits, output.candidate_mask)
    predictions = [[[emotion, cause] for emotion, cause, _ in pairs] for pairs in decoded]
    return ecpe_scores(predictions, gold_pairs(rows))["pair_f1"]


def tiny_pair_model(name: str, encoder_dir: Path, **settings: Any) -> tuple[Any, Any]:
    spec = get_method(name)
    torch.manual_seed(0)
    model = spec.model_class.from_encoder(str(encoder_dir), **{**spec.tiny_settings, **settings})
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    return model, spec.build_collator(tokenizer, model.config, None)


def test_a2net_learns_the_marker_pair(tiny_encoder_dir):
    """A2Net's full loss (pair BCE + unit BCE + alignment) → pair F1 of its reference top-k decoding. Mean pooling
    and no dropout: a one-layer random BERT then sees the markers in its unit states from the first step."""
    model, collate = tiny_pair_model(
        "a2net", tiny_encoder_dir, unit_pooling="mean", unit_dropout=0.0, dropconnect=0.0, pair_dropout=0.0
    )
    train_rows, test_rows = (
        marker_documents(64, seed=1, offsets=(-2, -1, 1, 2)),
        marker_documents(32, 2, (-2, -1, 1, 2)),
    )
    train(model, sampler(train_rows, 8, collate), steps=80, learning_rate=1e-2)
    assert_beats("a2net", pair_model_f1(model, collate, test_rows), majority_pair_f1(train_rows, test_rows))


def test_pair_scorer_with_rpcl_learns_the_marker_pair(tiny_encoder_dir, tmp_path):
    """The conversational pair scorer trained on ``PairTrainer.compute_loss`` with ``rpcl=True`` (the model's pair
    CE + emotion/cause BCE + CDMR + CCPS) → pair F1 of its threshold decoding. Causes precede their emotion (its
    default ``candidates="past"``)."""
    from hf_ecpe.trainers import EcpeTrainingArguments, PairTrainer

    model, collate = tiny_pair_model(
        "pair_scorer", tiny_encoder_dir, unit_pooling="mean", unit_dropout=0.0, context_dropout=0.0, pair_dropout=0.0
    )
    args = EcpeTrainingArguments(
        output_dir=str(tmp_path), rpcl=True, use_cpu=True, report_to="none", save_strategy="no", seed=0
    )
    trainer = PairTrainer(model=model, args=args, data_collator=collate)
    train_rows = marker_documents(64, seed=1, offsets=(-2, -1), num_units=4)
    test_rows = marker_documents(32, seed=2, offsets=(-2, -1), num_units=4)
    train(
        model,
        sampler(train_rows, 8, collate),
        steps=80,
        learning_rate=1e-2,
        loss_of=lambda model, batch: trainer.compute_loss(model, dict(batch)),
    )
    assert_beats("pair_scorer", pair_model_f1(model, collate, test_rows), majority_pair_f1(train_rows, test_rows))


# ---------------------------------------------------------------------------------------------------------------
# Triplet LLM: the emotion span is the clause's emotion word
# ---------------------------------------------------------------------------------------------------------------

TRIPLET_LABELS = ("anger", "joy", "sadness", "surprise")
EXPRESSIONS = ("happy", "glad", "proud", "relieved")


def expression_documents(count: int, seed: int) -> list[dict[str, Any]]:
    """Two clauses: the first holds an emotion word (one of :data:`EXPRESSIONS`, at a random place among two filler
    words), the emotion span of a ``joy`` triplet; the second, three filler words, is its cause (the whole clause)."""
    rng = random.Random(seed)
    rows = []
    for k in range(count):
        words, expression, place = rng.sample(FILLER, 2), EXPRESSIONS[k % len(EXPRESSIONS)], rng.randrange(3)
        start = len(" ".join(words[:place])) + (1 if place else 0)
        units = [" ".join([*words[:place], expression, *words[place:]]), " ".join(rng.sample(FILLER, 3))]
        pair = make_pair(0, 1, emotion_span=[start, start + len(expression)], category="joy")
        rows.append(
            {
                "id": f"d{k}",
                "kind": "document",
                "language": "en",
                "units": units,
                "speakers": [],
                "emotions": ["joy", "neutral"],
                "pairs": [pair],
            }
        )
    return rows


def sft_example(tokenizer: Any, row: Mapping[str, Any]) -> tuple[list[int], list[int]]:
    """(input ids, labels) of one row as the SFT recipe trains it: the chat-templated prompt (``"task"``
    instruction) then the gold completion and eos; the loss on the completion only (prompt labels -100)."""
    from hf_ecpe.llm.data import row_prompt, row_triplets
    from hf_ecpe.llm.prompts import render_completion

    messages = [{"role": "user", "content": row_prompt(row, TRIPLET_LABELS, "task")}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    completion = render_completion(row_triplets(row), row["units"]) + tokenizer.eos_token
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return prompt_ids + completion_ids, [-100] * len(prompt_ids) + completion_ids


def pad_sft_batch(examples: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in examples)
    return {
        "input_ids": torch.tensor([ids + [pad_id] * (width - len(ids)) for ids, _ in examples]),
        "attention_mask": torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in examples]),
        "labels": torch.tensor([labels + [-100] * (width - len(labels)) for _, labels in examples]),
    }


@pytest.fixture(scope="module")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A tiny random Llama (2 layers, hidden 32) with a byte-level BPE trained on the training texts."""
    from hf_ecpe.llm.data import row_prompt, row_triplets
    from hf_ecpe.llm.prompts import render_completion
    from hf_ecpe.llm.weights import build_tiny_random_llama

    texts = [
        row_prompt(row, TRIPLET_LABELS, "task") + "\n" + render_completion(row_triplets(row), row["units"])
        for row in expression_documents(32, seed=1)
    ]
    return build_tiny_random_llama(tmp_path_factory.mktemp("tiny_llama"), texts, vocab_size=1000)


def test_triplet_llm_learns_the_emotion_span(tiny_llama_dir):
    """LoRA adapters (as the SFT recipe: all linear layers) on a tiny random Llama, trained on the completion-only
    causal-LM loss → strict triplet F1 of ``EmotionCauseLLM.evaluate`` (grammar-constrained greedy decoding, the
    parser, the triplet scorer), against the most frequent training completion written for every document. The
    grammar lets a span be any text of its clause; the model must learn which word is the emotion expression. A
    random base has no output vocabulary to adapt to, so its (tied) token embeddings and final norm train with the
    adapters (``modules_to_save``)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from hf_ecpe.llm.inference import EmotionCauseLLM
    from hf_ecpe.llm.prompts import render_completion

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    torch.manual_seed(0)
    adapters = LoraConfig(
        r=8,
        lora_alpha=16,
        lora_dropout=0.0,
        target_modules="all-linear",
        modules_to_save=["norm", "embed_tokens"],
        ensure_weight_tying=True,
    )
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_llama_dir), adapters)
    train_rows, test_rows = expression_documents(32, seed=1), expression_documents(16, seed=2)
    examples = [sft_example(tokenizer, row) for row in train_rows]
    collate = functools.partial(pad_sft_batch, pad_id=tokenizer.pad_token_id)
    train(model, sampler(examples, 4, collate), steps=40, learning_rate=1e-2)
    llm = EmotionCauseLLM(
        model, tokenizer=tokenizer, labels=TRIPLET_LABELS, max_new_tokens=16, batch_size=16, instruction="task"
    )
    score = llm.evaluate(test_rows)["strict_f1"]

    from hf_ecpe.llm.data import row_triplets

    constant = Counter(render_completion(row_triplets(row), row["units"]) for row in train_rows).most_common(1)[0][0]
    llm.generate = lambda prompts, units=None, **_: [(constant, 1.0) for _ in prompts]
    assert_beats("triplet_llm", score, llm.evaluate(test_rows)["strict_f1"])


# ---------------------------------------------------------------------------------------------------------------
# KD-ECS: every utterance expresses an emotion; the cause utterance says "because <cause span>"
# ---------------------------------------------------------------------------------------------------------------

EMOTION_WORDS = {"happiness": "happy", "sadness": "sad", "anger": "angry"}  # emotion_words of the tiny settings


def cause_conversations(count: int, seed: int, num_units: int = 3) -> list[dict[str, Any]]:
    """Utterances of two filler words and an emotion word (at random); one utterance c (at random) adds "because"
    and three filler words, its cause span. Every utterance at or after c is caused by c: (i, j) is a cause pair
    exactly when u_j says "because", whatever the positions."""
    rng = random.Random(seed)
    rows = []
    for k in range(count):
        cause = rng.randrange(num_units)
        emotions = [rng.choice(list(EMOTION_WORDS)) for _ in range(num_units)]
        units = [" ".join([*rng.sample(FILLER, 2), EMOTION_WORDS[emotion]]) for emotion in emotions]
        span_text = " ".join(rng.sample(FILLER, 3))
        head = units[cause] + " because "
        units[cause] = head + span_text
        span = [len(head), len(head) + len(span_text)]
        rows.append(
            {
                "id": f"c{k}",
                "kind": "conversation",
                "language": "en",
                "units": units,
                "speakers": ["A", "B"] * (num_units // 2) + ["A"] * (num_units % 2),
                "emotions": emotions,
                "pairs": [make_pair(i, cause, cause_span=span, category=emotions[i]) for i in range(cause, num_units)],
            }
        )
    return rows


def tiny_kd_ecs(name: str, encoder_dir: Path) -> tuple[Any, Any, Any]:
    from hf_ecpe.data.kd_ecs import KdEcsCollator, prepare_tokenizer

    spec = get_method(name)
    torch.manual_seed(0)
    model = spec.model_class.from_encoder(str(encoder_dir), **spec.tiny_settings)
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(encoder_dir), model.config)
    return model, tokenizer, KdEcsCollator(tokenizer, model.config)


def best_constant_kd_ecs_score(model: Any, tokenizer: Any, rows: Sequence[Mapping[str, Any]], metric: str) -> float:
    """Trivial baseline: the better of "never a cause" and "every candidate is a cause (the whole utterance)",
    scored by the method's own scorer over the evaluator's questions."""
    from hf_ecpe.data.kd_ecs import pair_examples
    from hf_ecpe.trainers.kd_ecs import kd_ecs_scores

    examples = [example for row in rows for example in pair_examples(row, model.config, tokenizer, "emotional")]
    constant = [[{"causal_probability": p, "emotion_logits": None, "span": None}] * len(examples) for p in (0.0, 1.0)]
    return max(kd_ecs_scores(examples, predictions, model.config)[metric] for predictions in constant)


def test_kd_ecs_teacher_learns_the_causal_connective(tiny_encoder_dir):
    """The teacher's connective CE at the mask of its MLM head → ``evaluate_kd_ecs`` utterance macro F1 (cause or
    not, per candidate pair of the gold emotion utterance)."""
    from hf_ecpe.data.kd_ecs import pair_examples
    from hf_ecpe.trainers.kd_ecs import evaluate_kd_ecs

    model, tokenizer, collate = tiny_kd_ecs("kd_ecs_teacher", tiny_encoder_dir)
    train_rows, test_rows = cause_conversations(48, seed=1), cause_conversations(24, seed=2)
    examples = [e for row in train_rows for e in pair_examples(row, model.config, tokenizer, "emotional")]
    train(model, sampler(examples, 16, collate), steps=60, learning_rate=1e-2)
    score = evaluate_kd_ecs(model, tokenizer, test_rows)["utterance_macro_f1"]
    assert_beats(
        "kd_ecs_teacher", score, best_constant_kd_ecs_score(model, tokenizer, test_rows, "utterance_macro_f1")
    )


def test_kd_ecs_student_learns_cause_spans(tiny_encoder_dir):
    """The student's loss with distillation (alpha · (emotion CE + span CE + connective CE) + (1 - alpha) · KD) from
    cached teacher logits (an oracle teacher: confident on the gold relation) → ``evaluate_kd_ecs`` span macro F1
    (its end-to-end emotions, connectives and decoded spans)."""
    from hf_ecpe.data.kd_ecs import pair_examples
    from hf_ecpe.trainers.kd_ecs import evaluate_kd_ecs

    model, tokenizer, collate = tiny_kd_ecs("kd_ecs_student", tiny_encoder_dir)
    assert model.config.alpha < 1.0  # the distillation term is trained
    train_rows, test_rows = cause_conversations(48, seed=1), cause_conversations(24, seed=2)
    examples = [e for row in train_rows for e in pair_examples(row, model.config, tokenizer, "all")]
    num_causal = len(model.config.causal_connectives)
    num_connectives = num_causal + len(model.config.noncausal_connectives)
    for example in examples:  # the teacher's logits, as KdEcsStudentTrainer caches them
        causal = example["relation"] == 1
        example["teacher_logits"] = [3.0 if (k < num_causal) == causal else -3.0 for k in range(num_connectives)]
    train(model, sampler(examples, 16, collate), steps=60, learning_rate=1e-2)
    score = evaluate_kd_ecs(model, tokenizer, test_rows)["span_macro_f1"]
    assert_beats("kd_ecs_student", score, best_constant_kd_ecs_score(model, tokenizer, test_rows, "span_macro_f1"))


# ---------------------------------------------------------------------------------------------------------------
# Empathetic generation: the listener's reply echoes the speaker's emotion word
# ---------------------------------------------------------------------------------------------------------------

REPLY_WORDS = {"happiness": "happy", "sadness": "sad", "anger": "angry", "fear": "afraid"}


def echo_conversations(count: int, seed: int) -> list[dict[str, Any]]:
    """The speaker says four filler words and an emotion word; the listener replies "oh , so <that word> !"."""
    rng = random.Random(seed)
    rows = []
    for k in range(count):
        emotion = list(REPLY_WORDS)[k % len(REPLY_WORDS)]
        words = rng.sample(FILLER, 4)
        words.insert(rng.randrange(len(words) + 1), REPLY_WORDS[emotion])
        rows.append(
            {
                "id": f"e{k}",
                "units": [" ".join(words), f"oh , so {REPLY_WORDS[emotion]} !"],
                "speakers": ["speaker", "listener"],
                "emotions": [emotion, "neutral"],
                "pairs": [{"emotion": 0, "cause": 0}],
            }
        )
    return rows


@pytest.fixture(scope="module")
def bleu_libraries() -> None:
    """Import nltk and sacrebleu (seconds of imports) in setup, so that the test's duration is its own work."""
    import nltk.translate.bleu_score  # noqa: F401
    import sacrebleu  # noqa: F401


def test_empathy_learns_to_echo_the_emotion_word(tiny_encoder_dir, bleu_libraries):
    """The generator's joint loss (label-smoothed response NLL + reasoner emotion and cause NLL) → BLEU of the
    greedy replies of ``evaluate_empathy_model`` against the most frequent training reply said every time."""
    from datasets import Dataset

    from hf_ecpe.data.empathy import EmpathyCollator, response_examples
    from hf_ecpe.evaluation.empathy import evaluate_empathy_model
    from hf_ecpe.evaluation.generation import corpus_bleu

    spec = get_method("empathy")
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    settings = {"emotion_labels": list(REPLY_WORDS), "dropout": 0.0, "attention_dropout": 0.0}
    model = spec.model_class.from_encoder(str(tiny_encoder_dir), **{**spec.tiny_settings, **settings})
    train_rows, test_rows = echo_conversations(32, seed=1), echo_conversations(16, seed=2)
    examples = [example for row in train_rows for example in response_examples(row)]
    train(model, sampler(examples, 16, EmpathyCollator(tokenizer, model.config)), steps=80, learning_rate=1.5e-2)
    metrics = evaluate_empathy_model(
        model, tokenizer, Dataset.from_list(test_rows), bertscore_model=None, generate_kwargs={"max_new_tokens": 8}
    )
    references = [row["units"][1] for row in test_rows]
    constant = Counter(row["units"][1] for row in train_rows).most_common(1)[0][0]
    baseline = corpus_bleu([constant] * len(references), references, impl="nltk")
    assert_beats("empathy", metrics["bleu_nltk"], baseline)


def test_empathy_lm_learns_to_echo_the_emotion_word(tmp_path_factory, bleu_libraries):
    """The LM variant (a tiny random Llama: its bottom block, embeddings and output layer frozen, the top block and
    the reasoner trained) on L_g + L_emotion + L_cause → BLEU of the greedy replies of ``evaluate_empathy_model``
    (scored in the corpus tokenisation) against the most frequent training reply said every time."""
    from datasets import Dataset

    from hf_ecpe.data.empathy import EmpathyLMCollator, response_examples
    from hf_ecpe.evaluation.empathy import evaluate_empathy_model
    from hf_ecpe.evaluation.generation import corpus_bleu
    from hf_ecpe.llm.weights import build_tiny_random_llama
    from hf_ecpe.models.empathy.modeling_empathy_lm import natural_text

    spec = get_method("empathy_lm")
    train_rows, test_rows = echo_conversations(32, seed=1), echo_conversations(16, seed=2)
    texts = [natural_text(unit) for row in train_rows for unit in row["units"]] * 4
    folder = build_tiny_random_llama(tmp_path_factory.mktemp("echo_lm"), texts, vocab_size=400)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    settings = {"emotion_labels": list(REPLY_WORDS), "system_prompt": "", "trainable_layers": 2}
    model = spec.model_class.from_encoder(str(folder), **{**spec.tiny_settings, **settings})
    with torch.no_grad():  # a random Llama's pad row (= EOS here) is zero, and its tied output layer is frozen: a
        model.lm.model.embed_tokens.weight[tokenizer.eos_token_id].normal_(0.0, 0.02)  # pretrained LM has learned it
    examples = [example for row in train_rows for example in response_examples(row)]
    train(model, sampler(examples, 16, EmpathyLMCollator(tokenizer, model.config)), steps=150, learning_rate=5e-3)
    metrics = evaluate_empathy_model(
        model, tokenizer, Dataset.from_list(test_rows), bertscore_model=None, generate_kwargs={"max_new_tokens": 8}
    )
    references = [row["units"][1] for row in test_rows]
    constant = Counter(row["units"][1] for row in train_rows).most_common(1)[0][0]
    baseline = corpus_bleu([constant] * len(references), references, impl="nltk")
    print(metrics["bleu_nltk"], baseline, metrics["samples"][:2])
    assert_beats("empathy_lm", metrics["bleu_nltk"], baseline)
