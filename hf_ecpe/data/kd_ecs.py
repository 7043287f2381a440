"""KD-ECS prompts, examples, collators and decoding (the library side of ``hf_ecpe.models.kd_ecs``).

One example per candidate pair (u_i, u_j), j <= i, of a conversation (RECCON's questions include j = i). Targets
``i``: every utterance (``candidate_targets="all"``, what inference sees: neutral targets teach "no cause") or only
the utterances whose gold emotion is not neutral (``"emotional"``: RECCON's question set, the paper's 27,917
training pairs).

**Prompts** (:func:`build_prompt`): the config's template (Eq. 1 for the teacher, Eq. 5 for the student) filled with
turn ids (``turn_template``, 1-based), speakers, u_i, u_j and the history ``u_1 .. u_{i-1}`` (each rendered with
``history_template``, joined by the separator token). **History truncation** never cuts u_i or u_j: when the prompt
exceeds ``max_prompt_tokens``, whole history utterances are dropped, oldest first (``max_history_utterances`` caps
them beforehand); a prompt still too long without any history is an error naming the conversation and the pair.
Whitespace is collapsed only around empty fields (``{mask_cau}`` without a connective head); utterances are
inserted verbatim, so the tokenizer's offset mapping gives character offsets into u_j.

**Gold spans**: a pair's ``cause_span`` (characters in u_j); a pair without one (ECF, synthetic data) takes the
whole utterance. Several spans for one (i, j) keep the first (RECCON's scorer reads the first answer).

**Decoding** (:func:`decode_conversation`): the emotion of u_i is the argmax of the *mean* emotion logits over its
prompts (every (i, j) prompt predicts it); a pair is causal when its causal probability exceeds the threshold; its
span is the best ``start <= end`` inside u_j (at most ``max_span_tokens``), returned as character offsets through
the offset mapping (whitespace at the ends trimmed).
"""

from __future__ import annotations

import logging
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

from hf_ecpe.data.schema import NEUTRAL, NO_SPAN
from hf_ecpe.models.kd_ecs.configuration_kd_ecs import STUDENT_MASK_TOKENS, KdEcsStudentConfig
from hf_ecpe.models.kd_ecs.modeling_kd_ecs import IGNORE_INDEX, add_student_tokens, bind_tokenizer, tokenizer_ids

logger = logging.getLogger(__name__)

CANDIDATE_TARGETS = ("all", "emotional")
#: Columns of a prepared example (one candidate pair).
EXAMPLE_COLUMNS = (
    "id",
    "emotion_index",
    "cause_index",
    "units",
    "speakers",
    "emotion",
    "relation",
    "cause_span",
    "input_ids",
    "cause_token_range",
    "cause_offsets",
    "start_position",
    "end_position",
    "length",
)


# ---------------------------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------------------------


def is_student(config: Any) -> bool:
    return isinstance(config, KdEcsStudentConfig) or hasattr(config, "emotion_words")


def is_causal_lm(config: Any) -> bool:
    return getattr(config, "encoder_auto_class", None) == "AutoModelForCausalLM"


def separator(config: Any, tokenizer: Any) -> str:
    """The history separator: the config's, else the tokenizer's separator token, else a newline."""
    if config.history_separator is not None:
        return config.history_separator
    return getattr(tokenizer, "sep_token", None) or "\n"


def template_of(config: Any) -> str:
    """The template as rendered: for a causal-LM teacher, cut before ``{mask}`` (the prompt ends with "... is")."""
    template = config.template
    if is_causal_lm(config):
        template = template[: template.index("{mask}")].rstrip()
    return template


def _speaker(speakers: Sequence[str] | None, k: int) -> str:
    return speakers[k] if speakers and k < len(speakers) and speakers[k] else ""


def _render(
    template: str, values: Mapping[str, str], verbatim: Iterable[str]
) -> tuple[str, dict[str, tuple[int, int]]]:
    """``template`` filled with ``values``; returns the text and the character range of every ``verbatim`` field.

    Whitespace runs created by empty fields are collapsed; verbatim fields are inserted as they are."""
    verbatim = set(verbatim)
    text = ""
    ranges: dict[str, tuple[int, int]] = {}

    def append(piece: str, keep: bool = False) -> None:
        nonlocal text
        if not keep:
            if text and text[-1].isspace():
                piece = piece.lstrip(" ")
            if not text:
                piece = piece.lstrip(" ")
        text += piece

    for literal, field, _, _ in string.Formatter().parse(template):
        append(literal)
        if field is None:
            continue
        value = values.get(field, "")
        if field in verbatim:
            if text and not text[-1].isspace() and value:
                text += " "
            ranges[field] = (len(text), len(text) + len(value))
            text += value
        else:
            append(value)
    return text.rstrip(" "), ranges


def prompt_values(
    config: Any,
    tokenizer: Any,
    units: Sequence[str],
    speakers: Sequence[str] | None,
    i: int,
    j: int,
    emotion: str | None,
    history: Sequence[int],
) -> dict[str, str]:
    """The template fields of pair (i, j) with the history utterances ``history`` (indices < i)."""
    sep = separator(config, tokenizer)
    items = [
        config.history_template.format(
            turn=config.turn_template.format(turn=k + 1), speaker=_speaker(speakers, k), utterance=units[k]
        )
        for k in history
    ]
    values = {
        "history": "".join(f"{item} {sep} " for item in items),
        "turn_i": config.turn_template.format(turn=i + 1),
        "speaker_i": _speaker(speakers, i),
        "utterance_i": units[i],
        "turn_j": config.turn_template.format(turn=j + 1),
        "speaker_j": _speaker(speakers, j),
        "utterance_j": units[j],
    }
    if is_student(config):
        values.update({name: token for name, token in STUDENT_MASK_TOKENS.items()})
        if config.causal_head != "connective":
            values["mask_cau"] = ""
        if config.given_emotion:
            if emotion is None:
                raise ValueError(
                    "this KD-ECS student was trained with given_emotion=True: the gold emotion of every target "
                    "utterance must be given (canonical rows with 'emotions')"
                )
            values["mask_emo"] = emotion_word(config, emotion)
    else:
        if emotion is None:
            raise ValueError(
                "the KD-ECS teacher writes the gold emotion of u_i into its prompt (Eq. 1): give rows with 'emotions'"
            )
        values["emotion_i"] = emotion
        values["mask"] = "" if is_causal_lm(config) else (tokenizer.mask_token or "")
    return values


def emotion_word(config: Any, label: str) -> str:
    if label not in config.emotion_labels:
        raise ValueError(f"emotion {label!r} is not one of the model's emotion_labels {config.emotion_labels}")
    return config.emotion_words[config.emotion_labels.index(label)]


def build_prompt(
    config: Any,
    tokenizer: Any,
    units: Sequence[str],
    speakers: Sequence[str] | None,
    i: int,
    j: int,
    emotion: str | None = None,
    *,
    where: str = "conversation",
) -> dict[str, Any]:
    """Tokenised prompt of pair (i, j): ``input_ids``, ``cause_token_range`` ([first, last + 1) of u_j's tokens),
    ``cause_offsets`` (each of those tokens' character offsets in u_j), ``history`` (the utterances kept) and
    ``text``. History is truncated to ``config.max_prompt_tokens`` (module docstring)."""
    if not 0 <= j <= i < len(units):
        raise ValueError(f"{where}: candidate pair ({i}, {j}) needs 0 <= j <= i < {len(units)}")
    history = list(range(i))
    if config.max_history_utterances is not None:
        history = history[len(history) - config.max_history_utterances :] if config.max_history_utterances else []
    limit = config.max_prompt_tokens
    template = template_of(config)
    while True:
        values = prompt_values(config, tokenizer, units, speakers, i, j, emotion, history)
        text, ranges = _render(template, values, ("utterance_i", "utterance_j"))
        encoded = tokenizer(text, return_offsets_mapping=True, add_special_tokens=True, truncation=False)
        if limit is None or len(encoded["input_ids"]) <= limit or not history:
            break
        # drop enough of the oldest history at once (estimated), then re-check exactly
        excess = len(encoded["input_ids"]) - limit
        while history and excess > 0:
            excess -= values_history_tokens(config, tokenizer, units, speakers, history[0])
            history = history[1:]
    if limit is not None and len(encoded["input_ids"]) > limit:
        raise ValueError(
            f"{where}: the prompt of pair ({i}, {j}) has {len(encoded['input_ids'])} tokens without any history, more "
            f"than max_prompt_tokens={limit} (u_i and u_j are never cut): raise max_prompt_tokens or shorten the template"
        )
    start, end = ranges["utterance_j"]
    positions = [k for k, (a, b) in enumerate(encoded["offset_mapping"]) if b > a and a < end and b > start]
    if not positions:
        raise ValueError(f"{where}: utterance {j} has no token in the prompt of pair ({i}, {j})")
    first, last = positions[0], positions[-1]
    offsets = [
        [max(a - start, 0), min(b - start, end - start)] for a, b in encoded["offset_mapping"][first : last + 1]
    ]
    return {
        "input_ids": list(encoded["input_ids"]),
        "cause_token_range": [first, last + 1],
        "cause_offsets": offsets,
        "history": history,
        "text": text,
    }


def values_history_tokens(config: Any, tokenizer: Any, units: Sequence[str], speakers: Any, k: int) -> int:
    """Tokens one history utterance (with its separator) adds to a prompt."""
    item = config.history_template.format(
        turn=config.turn_template.format(turn=k + 1), speaker=_speaker(speakers, k), utterance=units[k]
    )
    return len(tokenizer(f"{item} {separator(config, tokenizer)}", add_special_tokens=False)["input_ids"])


def span_token_positions(cause_offsets: Sequence[Sequence[int]], first: int, span: Sequence[int]) -> tuple[int, int]:
    """Prompt token positions (start, end inclusive) of the character span ``[cs, ce)`` of u_j."""
    cs, ce = int(span[0]), int(span[1])
    inside = [k for k, (a, b) in enumerate(cause_offsets) if b > a and a < ce and b > cs]
    if not inside:
        raise ValueError(f"character span {[cs, ce]} covers no token of its utterance")
    return first + inside[0], first + inside[-1]


def char_span(cause_offsets: Sequence[Sequence[int]], first: int, start: int, end: int, unit: str) -> list[int]:
    """Prompt token positions ``start..end`` (inclusive) → ``[start, end)`` characters of u_j, ends trimmed."""
    a = int(cause_offsets[start - first][0])
    b = int(cause_offsets[end - first][1])
    while a < b and unit[a].isspace():
        a += 1
    while b > a and unit[b - 1].isspace():
        b -= 1
    return [a, b]


# ---------------------------------------------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------------------------------------------


def whole_unit(unit: str) -> list[int]:
    start = len(unit) - len(unit.lstrip())
    return [start, max(start, len(unit.rstrip()))]


def gold_relations(row: Mapping[str, Any]) -> dict[tuple[int, int], list[int]]:
    """(emotion, cause) → the first gold cause span (whole utterance when the corpus gives none); pairs with the cause
    after the emotion are not candidates and are skipped."""
    relations: dict[tuple[int, int], list[int]] = {}
    n = len(row["units"])
    for number, pair in enumerate(row.get("pairs") or []):
        if isinstance(pair, Mapping):
            i, j, span = int(pair["emotion"]), int(pair["cause"]), list(pair.get("cause_span") or NO_SPAN)
        elif isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2:
            (i, j), span = (int(pair[0]), int(pair[1])), list(NO_SPAN)  # 0-based (emotion, cause), no span
        else:
            raise ValueError(f"row {row.get('id')!r}: pair {number} must be a canonical pair dict or (emotion, cause)")
        if not (0 <= i < n and 0 <= j < n):
            raise ValueError(f"row {row.get('id')!r}: pair {number} {(i, j)} is outside the {n} units")
        if j > i:
            continue
        if span == NO_SPAN:
            span = whole_unit(row["units"][j])
        relations.setdefault((i, j), span)
    return relations


def target_utterances(row: Mapping[str, Any], candidate_targets: str) -> list[int]:
    emotions = row.get("emotions") or []
    if candidate_targets == "emotional":
        if len(emotions) != len(row["units"]):
            raise ValueError("candidate_targets='emotional' needs the gold 'emotions' of every utterance")
        return [i for i, emotion in enumerate(emotions) if emotion != NEUTRAL]
    if candidate_targets != "all":
        raise ValueError(f"candidate_targets must be one of {CANDIDATE_TARGETS}, got {candidate_targets!r}")
    return list(range(len(row["units"])))


def pair_examples(
    row: Mapping[str, Any], config: Any, tokenizer: Any, candidate_targets: str = "all", *, labelled: bool = True
) -> list[dict[str, Any]]:
    """One example per candidate pair of a canonical row (columns :data:`EXAMPLE_COLUMNS`)."""
    units = list(row["units"])
    speakers = list(row.get("speakers") or [])
    emotions = list(row.get("emotions") or [])
    has_emotions = len(emotions) == len(units)
    relations = gold_relations(row) if labelled else {}
    has_pairs = labelled and "pairs" in row
    examples = []
    for i in target_utterances(row, candidate_targets):
        emotion = emotions[i] if has_emotions else None
        if is_student(config) and emotion is not None and emotion not in config.emotion_labels:
            raise ValueError(
                f"row {row.get('id')!r}: emotion {emotion!r} is not one of emotion_labels {config.emotion_labels}; "
                "set --emotion_labels to the corpus's label set (and --emotion_words when a label is not one token)"
            )
        for j in range(i + 1):
            prompt = build_prompt(config, tokenizer, units, speakers, i, j, emotion, where=f"row {row.get('id')!r}")
            span = relations.get((i, j))
            start = end = IGNORE_INDEX
            if span is not None:
                start, end = span_token_positions(prompt["cause_offsets"], prompt["cause_token_range"][0], span)
            examples.append(
                {
                    "id": str(row.get("id", "")),
                    "emotion_index": i,
                    "cause_index": j,
                    "units": units[: i + 1],
                    "speakers": speakers[: i + 1],
                    "emotion": emotion if emotion is not None else "",
                    "relation": (1 if span is not None else 0) if has_pairs else IGNORE_INDEX,
                    "cause_span": list(span) if span is not None else list(NO_SPAN),
                    "input_ids": prompt["input_ids"],
                    "cause_token_range": prompt["cause_token_range"],
                    "cause_offsets": prompt["cause_offsets"],
                    "start_position": start,
                    "end_position": end,
                    "length": len(prompt["input_ids"]),
                }
            )
    return examples


def prepare_dataset(dataset: Any, config: Any, tokenizer: Any, split: str = "train") -> Any:
    """``MethodSpec.prepare_dataset``: canonical rows → one row per candidate pair (columns :data:`EXAMPLE_COLUMNS`),
    targets by ``config.candidate_targets``; the tokenizer is bound first (student tokens, verbaliser ids)."""
    from datasets import Dataset

    prepare_tokenizer(tokenizer, config)
    targets = getattr(config, "candidate_targets", "all")
    rows = [example for row in dataset for example in pair_examples(row, config, tokenizer, targets)]
    if not rows:
        raise ValueError(f"the {split} split gives no candidate pair (candidate_targets={targets!r})")
    logger.info("KD-ECS: %d %s rows -> %d candidate-pair prompts", len(dataset), split, len(rows))
    return Dataset.from_list(rows)


def _as_list(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def prepare_tokenizer(tokenizer: Any, config: Any) -> Any:
    """Make ``tokenizer`` fit ``config``: the student's mask tokens added (ids checked against the model's), a pad
    token (a causal LM's EOS), the verbaliser ids bound into the config when it has none, right padding."""
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    if is_student(config):
        ids = add_student_tokens(tokenizer)
        expected = config.mask_token_ids
        if expected and {k: int(v) for k, v in expected.items()} != ids:
            raise ValueError(
                f"the tokenizer gives the KD-ECS mask tokens the ids {ids}, the model expects {dict(expected)}: use "
                "the tokenizer saved with the model (or the encoder's own tokenizer, unchanged)"
            )
        if not expected:
            config.mask_token_ids = ids
    ids = tokenizer_ids(config, tokenizer)
    bound = {name: getattr(config, name, None) for name in ids}
    if all(value is None for value in bound.values()):
        bind_tokenizer(config, tokenizer)
    elif any(bound[name] is not None and _as_list(bound[name]) != _as_list(ids[name]) for name in ids):
        raise ValueError(
            f"this tokenizer maps the verbaliser to the ids {ids}, the model was built with {bound}: use the tokenizer "
            "saved with the model"
        )
    return tokenizer


# ---------------------------------------------------------------------------------------------------------------
# Collators
# ---------------------------------------------------------------------------------------------------------------


class KdEcsCollator:
    """Batches KD-ECS examples for the teacher or the student (by the config's class).

    Rows are prepared examples (:func:`prepare_dataset`) or canonical conversation rows, expanded here to all their
    candidate pairs (``candidate_targets="all"``). Right-padded ``input_ids`` / ``attention_mask``,
    ``cause_token_mask`` (student), labels when the rows have them (``emotion_labels``, ``relation_labels``,
    ``start_positions``, ``end_positions``), ``teacher_logits`` from a cached column, and — with ``teacher_tokenizer``
    and ``teacher_config`` and no cached logits — the teacher's prompts as ``teacher_input_ids`` /
    ``teacher_attention_mask``.
    """

    def __init__(self, tokenizer: Any, config: Any, teacher_tokenizer: Any = None, teacher_config: Any = None) -> None:
        self.tokenizer = prepare_tokenizer(tokenizer, config)
        self.config = config
        self.teacher_tokenizer = (
            prepare_tokenizer(teacher_tokenizer, teacher_config) if teacher_tokenizer is not None else None
        )
        self.teacher_config = teacher_config

    def examples(self, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        for row in rows:
            if "input_ids" in row:
                out.append(row)
            else:
                out.extend(pair_examples(row, self.config, self.tokenizer, "all", labelled="pairs" in row))
        return out

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        examples = self.examples(rows)
        if not examples:
            raise ValueError("KdEcsCollator got no candidate pair")
        batch = pad_prompts([list(e["input_ids"]) for e in examples], self.tokenizer.pad_token_id)
        if is_student(self.config):
            mask = torch.zeros_like(batch["input_ids"], dtype=torch.bool)
            for k, example in enumerate(examples):
                first, stop = example["cause_token_range"]
                mask[k, first:stop] = True
            batch["cause_token_mask"] = mask
            if any(e.get("emotion") for e in examples) and not self.config.given_emotion:
                labels = self.config.emotion_labels
                batch["emotion_labels"] = torch.tensor(
                    [labels.index(e["emotion"]) if e.get("emotion") in labels else IGNORE_INDEX for e in examples]
                )
        if any(int(e.get("relation", IGNORE_INDEX)) != IGNORE_INDEX for e in examples):
            batch["relation_labels"] = torch.tensor([int(e.get("relation", IGNORE_INDEX)) for e in examples])
            if is_student(self.config):
                batch["start_positions"] = torch.tensor([int(e["start_position"]) for e in examples])
                batch["end_positions"] = torch.tensor([int(e["end_position"]) for e in examples])
        if all(e.get("teacher_logits") is not None for e in examples):
            batch["teacher_logits"] = torch.tensor([list(e["teacher_logits"]) for e in examples], dtype=torch.float)
        elif self.teacher_tokenizer is not None:
            prompts = [
                build_prompt(
                    self.teacher_config,
                    self.teacher_tokenizer,
                    e["units"],
                    e["speakers"],
                    int(e["emotion_index"]),
                    int(e["cause_index"]),
                    e.get("emotion") or None,
                    where=f"row {e.get('id')!r}",
                )["input_ids"]
                for e in examples
            ]
            teacher = pad_prompts(prompts, self.teacher_tokenizer.pad_token_id)
            batch["teacher_input_ids"] = teacher["input_ids"]
            batch["teacher_attention_mask"] = teacher["attention_mask"]
        return batch


def pad_prompts(prompts: Sequence[Sequence[int]], pad_id: int) -> dict[str, torch.Tensor]:
    length = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), length), int(pad_id), dtype=torch.long)
    attention = torch.zeros((len(prompts), length), dtype=torch.long)
    for k, prompt in enumerate(prompts):
        ids[k, : len(prompt)] = torch.tensor(prompt, dtype=torch.long)
        attention[k, : len(prompt)] = 1
    return {"input_ids": ids, "attention_mask": attention}


def collator_factory(tokenizer: Any, config: Any, training_args: Any) -> KdEcsCollator:
    """``MethodSpec.collator``: the student's collator also builds the teacher's prompts when the training arguments
    name a teacher (``teacher_model_name_or_path``) and the config distils."""
    teacher_path = getattr(training_args, "teacher_model_name_or_path", None)
    if is_student(config) and config.uses_teacher and teacher_path:
        from transformers import AutoConfig, AutoTokenizer

        from hf_ecpe._registration import register_models

        register_models()
        return KdEcsCollator(
            tokenizer, config, AutoTokenizer.from_pretrained(teacher_path), AutoConfig.from_pretrained(teacher_path)
        )
    return KdEcsCollator(tokenizer, config)


# ---------------------------------------------------------------------------------------------------------------
# Prediction and decoding
# ---------------------------------------------------------------------------------------------------------------


@torch.no_grad()
def predict_examples(
    model: Any,
    examples: Sequence[Mapping[str, Any]],
    collator: Any,
    batch_size: int = 32,
    max_span_tokens: int | None = None,
) -> list:
    """Per prepared example: ``causal_probability``, ``emotion_logits`` (list or None) and the best span
    (``span``: ``[start, end)`` characters in u_j, or None). ``max_span_tokens``: longest span in tokens for this
    call (a student's; default its ``config.max_span_tokens``; the config is not changed)."""
    model_was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    student = is_student(model.config)
    results = []
    try:
        for first in range(0, len(examples), batch_size):
            chunk = [examples[k] for k in range(first, min(first + batch_size, len(examples)))]
            batch = collator(chunk)
            keys = ("input_ids", "attention_mask", "cause_token_mask") if student else ("input_ids", "attention_mask")
            limit = {"max_span_tokens": max_span_tokens} if student and max_span_tokens is not None else {}
            outputs = model(**{key: batch[key].to(device) for key in keys}, **limit)
            probabilities = outputs["causal_probability"].float().cpu().tolist()
            emotion = outputs.get("emotion_logits") if student else None
            starts = ends = None
            if student:
                starts, ends, _ = model.decode_spans(
                    outputs["start_logits"],
                    outputs["end_logits"],
                    batch["cause_token_mask"].to(device),
                    max_span_tokens,
                )
                starts, ends = starts.cpu().tolist(), ends.cpu().tolist()
            for k, example in enumerate(chunk):
                span = None
                if student and starts[k] >= 0:
                    unit = example["units"][int(example["cause_index"])]
                    first_token = int(example["cause_token_range"][0])
                    span = char_span(example["cause_offsets"], first_token, starts[k], ends[k], unit)
                results.append(
                    {
                        "causal_probability": probabilities[k],
                        "emotion_logits": emotion[k].float().cpu().tolist() if emotion is not None else None,
                        "span": span,
                    }
                )
    finally:
        model.train(model_was_training)
    return results


def aggregate_emotions(
    examples: Sequence[Mapping[str, Any]], predictions: Sequence[Mapping[str, Any]], labels: Sequence[str]
) -> dict[tuple[str, int], tuple[str, float]]:
    """(conversation id, utterance) → (predicted emotion, its probability): argmax of the mean emotion logits over
    every prompt of that target utterance."""
    sums: dict[tuple[str, int], list] = {}
    for example, prediction in zip(examples, predictions):
        if prediction["emotion_logits"] is None:
            continue
        key = (example["id"], int(example["emotion_index"]))
        logits = torch.tensor(prediction["emotion_logits"], dtype=torch.float64)
        if key in sums:
            sums[key][0] += logits
            sums[key][1] += 1
        else:
            sums[key] = [logits, 1]
    result = {}
    for key, (total, count) in sums.items():
        probabilities = (total / count).softmax(-1)
        index = int(probabilities.argmax())
        result[key] = (labels[index], float(probabilities[index]))
    return result


def decode_conversation(
    units: Sequence[str],
    examples: Sequence[Mapping[str, Any]],
    predictions: Sequence[Mapping[str, Any]],
    config: Any,
    threshold: float | None = None,
) -> dict[str, Any]:
    """The pipeline's output for one conversation (see ``hf_ecpe.pipelines.kd_ecs``)."""
    threshold = config.decode_threshold if threshold is None else threshold
    emotions = aggregate_emotions(examples, predictions, config.emotion_labels) if is_student(config) else {}
    pairs = []
    for example, prediction in zip(examples, predictions):
        i, j = int(example["emotion_index"]), int(example["cause_index"])
        category, category_score = emotions.get((example["id"], i), (example.get("emotion") or None, None))
        if category == NEUTRAL or prediction["causal_probability"] <= threshold:
            continue
        span = prediction["span"] or whole_unit(units[j])
        pairs.append(
            {
                "emotion_index": i,
                "cause_index": j,
                "emotion_text": units[i],
                "cause_text": units[j],
                "score": float(prediction["causal_probability"]),
                "category": category,
                "category_score": category_score,
                "emotion_span": whole_unit(units[i]),
                "cause_span": list(span),
                "emotion_span_text": units[i].strip(),
                "cause_span_text": units[j][span[0] : span[1]],
            }
        )
    pairs.sort(key=lambda pair: -pair["score"])
    emotion_entries = [
        {"index": i, "text": units[i], "score": score, "category": label}
        for (_, i), (label, score) in sorted(emotions.items(), key=lambda item: item[0][1])
        if label != NEUTRAL
    ]
    causes: dict[int, float] = {}
    for pair in pairs:
        causes[pair["cause_index"]] = max(causes.get(pair["cause_index"], 0.0), pair["score"])
    return {
        "units": list(units),
        "pairs": pairs,
        "emotions": emotion_entries,
        "causes": [{"index": c, "text": units[c], "score": s} for c, s in sorted(causes.items())],
    }


__all__ = [
    "CANDIDATE_TARGETS",
    "EXAMPLE_COLUMNS",
    "KdEcsCollator",
    "aggregate_emotions",
    "build_prompt",
    "char_span",
    "collator_factory",
    "decode_conversation",
    "gold_relations",
    "pair_examples",
    "predict_examples",
    "prepare_dataset",
    "prepare_tokenizer",
    "span_token_positions",
]
