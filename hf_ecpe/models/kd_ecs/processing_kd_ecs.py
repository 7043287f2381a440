"""KD-ECS prompts, tokenizer binding, prompt batches, decoding and the typed prediction (what ``predict`` runs).

Everything between a conversation and :class:`SpanPairPrediction` lives here, in the model folder, so that a
checkpoint loaded with ``trust_remote_code=True`` predicts without hf_ecpe: this file imports only the standard
library, ``torch``, ``transformers`` and the configuration file, and ``save_pretrained`` ships it with the modeling
file (which imports it). ``hf_ecpe.data.kd_ecs`` builds the training examples (gold labels, datasets, the training
collator) on these functions.

**Prompts** (:func:`build_prompt`): the config's template (Eq. 1 for the teacher, Eq. 5 for the student) filled with
turn ids (``turn_template``, 1-based), speakers, u_i, u_j and the history ``u_1 .. u_{i-1}`` (each rendered with
``history_template``, joined by the separator token). **History truncation** never cuts u_i or u_j: when the prompt
exceeds ``max_prompt_tokens``, whole history utterances are dropped, oldest first (``max_history_utterances`` caps
them beforehand); a prompt still too long without any history is an error naming the conversation and the pair.
Whitespace is collapsed only around empty fields (``{mask_cau}`` without a connective head); utterances are
inserted verbatim, so the tokenizer's offset mapping gives character offsets into u_j.

**Decoding** (:func:`decode_conversation`): the emotion of u_i is the argmax of the *mean* emotion logits over its
prompts (every (i, j) prompt predicts it); a pair is causal when its causal probability exceeds the threshold; its
span is the best ``start <= end`` inside u_j (at most ``max_span_tokens``), returned as character offsets through
the offset mapping (whitespace at the ends trimmed).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .configuration_kd_ecs import STUDENT_MASK_TOKENS, KdEcsStudentConfig

#: The canonical schema's neutral emotion label (``hf_ecpe.data.schema.NEUTRAL``): a target predicted (or given)
#: neutral gets no cause.
NEUTRAL = "neutral"


# ---------------------------------------------------------------------------------------------------------------
# The typed prediction
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class SpanPair:
    """One emotion–cause span pair of a conversation (see :class:`SpanPairPrediction`)."""

    emotion_index: int
    cause_index: int
    score: float
    category: str | None
    category_score: float | None
    emotion_span: list[int]
    cause_span: list[int]

    def to_dict(self, units: Sequence[str]) -> dict[str, Any]:
        """The pair in :meth:`SpanPairPrediction.to_dict`'s schema (``units``: the conversation's, for the texts)."""
        emotion, cause = units[self.emotion_index], units[self.cause_index]
        return {
            "emotion_index": self.emotion_index,
            "cause_index": self.cause_index,
            "emotion_text": emotion,
            "cause_text": cause,
            "score": self.score,
            "category": self.category,
            "category_score": self.category_score,
            "emotion_span": list(self.emotion_span),
            "cause_span": list(self.cause_span),
            "emotion_span_text": emotion[self.emotion_span[0] : self.emotion_span[1]],
            "cause_span_text": cause[self.cause_span[0] : self.cause_span[1]],
        }


@dataclass
class EmotionUtterance:
    """An utterance whose predicted emotion is not neutral (see :class:`SpanPairPrediction`)."""

    index: int
    category: str
    score: float

    def to_dict(self, units: Sequence[str]) -> dict[str, Any]:
        return {"index": self.index, "text": units[self.index], "score": self.score, "category": self.category}


@dataclass
class CauseUtterance:
    """An utterance that causes at least one emotion (see :class:`SpanPairPrediction`)."""

    index: int
    score: float

    def to_dict(self, units: Sequence[str]) -> dict[str, Any]:
        return {"index": self.index, "text": units[self.index], "score": self.score}


@dataclass
class SpanPairPrediction:
    """What a KD-ECS model predicts for one conversation (``model.predict``; the pipeline returns :meth:`to_dict`).

    Attributes:
        units: the utterances, as given.
        pairs: the kept candidate pairs (u_i, u_j), j <= i, highest ``score`` first. A pair is kept when u_i's emotion
            is not neutral and its causal probability exceeds the threshold. Each :class:`SpanPair` has
            ``emotion_index`` / ``cause_index`` (0-based utterance indices), ``score`` (the causal probability of the
            pair), ``category`` (the emotion of u_i: the student's argmax of its mean emotion logits over its prompts,
            or the given gold emotion for a model that reads them) with ``category_score`` (its softmax probability;
            None for a given emotion), ``cause_span`` (``[start, end)`` characters of u_j: the decoded span, the
            whole utterance when none is decoded) and ``emotion_span`` (the whole u_i, ends trimmed of whitespace).
        emotions: per utterance whose predicted emotion is not neutral, by index: ``index``, ``category``, ``score``
            (empty for a model that reads gold emotions).
        causes: per utterance that is the cause of a kept pair, by index: ``index`` and ``score`` (the best score of
            its pairs).

    :meth:`to_dict` is the emotion-cause pipeline schema: ``{"units", "pairs", "emotions", "causes"}`` where each pair
    also carries ``emotion_text`` / ``cause_text`` (its utterances) and ``emotion_span_text`` / ``cause_span_text``
    (the text of its spans), and each emotion / cause entry its utterance's ``text``.
    """

    units: list[str]
    pairs: list[SpanPair] = field(default_factory=list)
    emotions: list[EmotionUtterance] = field(default_factory=list)
    causes: list[CauseUtterance] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The pipeline's output for this conversation (see the class docstring)."""
        return {
            "units": list(self.units),
            "pairs": [pair.to_dict(self.units) for pair in self.pairs],
            "emotions": [emotion.to_dict(self.units) for emotion in self.emotions],
            "causes": [cause.to_dict(self.units) for cause in self.causes],
        }


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------------------


def is_student(config: Any) -> bool:
    return isinstance(config, KdEcsStudentConfig) or hasattr(config, "emotion_words")


def is_causal_lm(config: Any) -> bool:
    return getattr(config, "encoder_auto_class", None) == "AutoModelForCausalLM"


def reads_gold_emotions(config: Any) -> bool:
    """Whether the prompts carry the gold emotion of u_i: the teacher (Eq. 1) and a ``given_emotion`` student."""
    return not is_student(config) or bool(config.given_emotion)


def single_token_id(tokenizer, word: str, what: str = "verbaliser") -> int:
    """The id of ``word`` as the backbone predicts it after a word (``"is <word>"``), or a ``ValueError`` naming the
    word when it is not exactly one known token of ``tokenizer``."""
    prefix = tokenizer("is", add_special_tokens=False)["input_ids"]
    full = tokenizer("is " + word, add_special_tokens=False)["input_ids"]
    extra = full[len(prefix) :]
    if full[: len(prefix)] != prefix or len(extra) != 1 or extra[0] == getattr(tokenizer, "unk_token_id", None):
        pieces = tokenizer.convert_ids_to_tokens(extra) if extra else []
        raise ValueError(
            f"{what} word {word!r} is not a single token of the {type(tokenizer).__name__} vocabulary (it becomes "
            f"{pieces}); every verbaliser word must be one known token: choose another word for it"
        )
    return int(extra[0])


def tokenizer_ids(config, tokenizer) -> dict:
    """The vocabulary ids a config needs from its tokenizer: ``connective_token_ids`` (the verbaliser), for the
    student ``emotion_token_ids``, for a masked-LM teacher ``mask_token_id``; raises when a word is not one token."""
    ids = {"connective_token_ids": [single_token_id(tokenizer, w, "connective") for w in config.connectives]}
    if isinstance(config, KdEcsStudentConfig):
        ids["emotion_token_ids"] = [single_token_id(tokenizer, w, "emotion") for w in config.emotion_words]
    elif config.encoder_auto_class == "AutoModelForMaskedLM":
        if tokenizer.mask_token_id is None:
            raise ValueError(f"{type(tokenizer).__name__} has no mask token: a masked-LM teacher needs one")
        ids["mask_token_id"] = int(tokenizer.mask_token_id)
    return ids


def bind_tokenizer(config, tokenizer) -> None:
    """Store :func:`tokenizer_ids` in ``config`` (saved with it)."""
    for name, value in tokenizer_ids(config, tokenizer).items():
        setattr(config, name, value)


def add_student_tokens(tokenizer) -> dict[str, int]:
    """Add the student's mask tokens to ``tokenizer`` (in place, idempotent; special tokens, never split) and return
    their ids by name."""
    from transformers import AddedToken

    vocab = tokenizer.get_vocab()
    missing = [token for token in STUDENT_MASK_TOKENS.values() if token not in vocab]
    if missing:
        tokenizer.add_tokens([AddedToken(token, special=True, normalized=False) for token in missing])
    return {name: int(tokenizer.convert_tokens_to_ids(token)) for name, token in STUDENT_MASK_TOKENS.items()}


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
# Prompts
# ---------------------------------------------------------------------------------------------------------------


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

    for literal, field_name, _, _ in string.Formatter().parse(template):
        append(literal)
        if field_name is None:
            continue
        value = values.get(field_name, "")
        if field_name in verbatim:
            if text and not text[-1].isspace() and value:
                text += " "
            ranges[field_name] = (len(text), len(text) + len(value))
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


def conversation_examples(
    config: Any,
    tokenizer: Any,
    units: Sequence[str],
    speakers: Sequence[str] | None = None,
    emotions: Sequence[str] | None = None,
    targets: Iterable[int] | None = None,
    *,
    conversation_id: str = "",
    where: str | None = None,
) -> list[dict[str, Any]]:
    """One unlabelled example per candidate pair (u_i, u_j), j <= i, for every target i (default: every utterance):
    ``id`` (``conversation_id``), ``emotion_index``, ``cause_index``, ``units`` / ``speakers`` (up to u_i),
    ``emotion`` (the given emotion of u_i, ``""`` when none), the prompt's ``input_ids``, ``cause_token_range``,
    ``cause_offsets`` and ``length``. Errors name the conversation as ``where`` (default: by its id)."""
    units = list(units)
    speakers = list(speakers or [])
    emotions = list(emotions or [])
    has_emotions = len(emotions) == len(units)
    where = where or f"conversation {conversation_id!r}"
    examples = []
    for i in range(len(units)) if targets is None else targets:
        emotion = emotions[i] if has_emotions else None
        if is_student(config) and emotion is not None and emotion not in config.emotion_labels:
            raise ValueError(
                f"{where}: emotion {emotion!r} is not one of emotion_labels {config.emotion_labels}; "
                "set --emotion_labels to the corpus's label set (and --emotion_words when a label is not one token)"
            )
        for j in range(i + 1):
            prompt = build_prompt(config, tokenizer, units, speakers, i, j, emotion, where=where)
            examples.append(
                {
                    "id": conversation_id,
                    "emotion_index": i,
                    "cause_index": j,
                    "units": units[: i + 1],
                    "speakers": speakers[: i + 1],
                    "emotion": emotion if emotion is not None else "",
                    "input_ids": prompt["input_ids"],
                    "cause_token_range": prompt["cause_token_range"],
                    "cause_offsets": prompt["cause_offsets"],
                    "length": len(prompt["input_ids"]),
                }
            )
    return examples


# ---------------------------------------------------------------------------------------------------------------
# Prompt batches
# ---------------------------------------------------------------------------------------------------------------


def pad_prompts(prompts: Sequence[Sequence[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids`` and ``attention_mask`` `(B, T)` of token-id lists."""
    length = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), length), int(pad_id), dtype=torch.long)
    attention = torch.zeros((len(prompts), length), dtype=torch.long)
    for k, prompt in enumerate(prompts):
        ids[k, : len(prompt)] = torch.tensor(prompt, dtype=torch.long)
        attention[k, : len(prompt)] = 1
    return {"input_ids": ids, "attention_mask": attention}


class PromptCollator:
    """Batches prepared examples (:func:`conversation_examples`) into the model inputs of a prediction: right-padded
    ``input_ids`` / ``attention_mask`` and, for the student, ``cause_token_mask`` `(B, T)` (the tokens of u_j). The
    tokenizer is made to fit the config first (:func:`prepare_tokenizer`)."""

    def __init__(self, tokenizer: Any, config: Any) -> None:
        self.tokenizer = prepare_tokenizer(tokenizer, config)
        self.config = config

    def prompt_batch(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        """The model inputs of ``examples`` (see the class docstring)."""
        batch = pad_prompts([list(e["input_ids"]) for e in examples], self.tokenizer.pad_token_id)
        if is_student(self.config):
            mask = torch.zeros_like(batch["input_ids"], dtype=torch.bool)
            for k, example in enumerate(examples):
                first, stop = example["cause_token_range"]
                mask[k, first:stop] = True
            batch["cause_token_mask"] = mask
        return batch

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        return self.prompt_batch(examples)


# ---------------------------------------------------------------------------------------------------------------
# Prediction and decoding
# ---------------------------------------------------------------------------------------------------------------


@torch.no_grad()
def predict_examples(
    model: Any,
    examples: Sequence[Mapping[str, Any]],
    collator: PromptCollator,
    batch_size: int = 32,
    max_span_tokens: int | None = None,
) -> list:
    """Per prepared example: ``causal_probability``, ``emotion_logits`` (list or None) and the best span
    (``span``: ``[start, end)`` characters in u_j, or None), ``batch_size`` prompts per forward pass (batched by
    ``collator.prompt_batch``). ``max_span_tokens``: longest span in tokens for this call (a student's; default its
    ``config.max_span_tokens``; the config is not changed)."""
    model_was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    student = is_student(model.config)
    results = []
    try:
        for first in range(0, len(examples), batch_size):
            chunk = [examples[k] for k in range(first, min(first + batch_size, len(examples)))]
            batch = collator.prompt_batch(chunk)
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


def char_span(cause_offsets: Sequence[Sequence[int]], first: int, start: int, end: int, unit: str) -> list[int]:
    """Prompt token positions ``start..end`` (inclusive) → ``[start, end)`` characters of u_j, ends trimmed."""
    a = int(cause_offsets[start - first][0])
    b = int(cause_offsets[end - first][1])
    while a < b and unit[a].isspace():
        a += 1
    while b > a and unit[b - 1].isspace():
        b -= 1
    return [a, b]


def whole_unit(unit: str) -> list[int]:
    """``[start, end)`` of the whole utterance, ends trimmed of whitespace."""
    start = len(unit) - len(unit.lstrip())
    return [start, max(start, len(unit.rstrip()))]


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
) -> SpanPairPrediction:
    """The prediction for one conversation from its examples' :func:`predict_examples` outputs (module docstring)."""
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
            SpanPair(
                emotion_index=i,
                cause_index=j,
                score=float(prediction["causal_probability"]),
                category=category,
                category_score=category_score,
                emotion_span=whole_unit(units[i]),
                cause_span=list(span),
            )
        )
    pairs.sort(key=lambda pair: -pair.score)
    emotion_entries = [
        EmotionUtterance(index=i, category=label, score=score)
        for (_, i), (label, score) in sorted(emotions.items(), key=lambda item: item[0][1])
        if label != NEUTRAL
    ]
    causes: dict[int, float] = {}
    for pair in pairs:
        causes[pair.cause_index] = max(causes.get(pair.cause_index, 0.0), pair.score)
    return SpanPairPrediction(
        units=list(units),
        pairs=pairs,
        emotions=emotion_entries,
        causes=[CauseUtterance(index=c, score=s) for c, s in sorted(causes.items())],
    )


def _per_conversation(values: Any, count: int, name: str) -> list:
    """``values`` (None, or one entry per conversation) as a list of ``count`` entries."""
    if values is None:
        return [None] * count
    values = list(values)
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} entries for {count} conversations: give one per conversation")
    return values


def predict_conversations(
    model: Any,
    tokenizer: Any,
    conversations: Sequence[Sequence[str]],
    speakers: Sequence[Sequence[str] | None] | None = None,
    emotions: Sequence[Sequence[str] | None] | None = None,
    *,
    batch_size: int = 8,
    prompt_batch_size: int = 32,
    threshold: float | None = None,
    max_span_tokens: int | None = None,
) -> list[SpanPairPrediction]:
    """What ``model.predict`` runs (see ``KdEcsPreTrainedModel.predict``): the candidate-pair prompts of
    ``batch_size`` conversations share forward passes of ``prompt_batch_size`` prompts; each conversation is decoded
    with :func:`decode_conversation`."""
    for name, value in (("batch_size", batch_size), ("prompt_batch_size", prompt_batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold is a probability in [0, 1], got {threshold}")
    if max_span_tokens is not None and int(max_span_tokens) < 1:
        raise ValueError(f"max_span_tokens must be >= 1, got {max_span_tokens}")
    config = model.config
    conversations = [list(units) for units in conversations]
    speakers = _per_conversation(speakers, len(conversations), "speakers")
    emotions = _per_conversation(emotions, len(conversations), "emotions")
    for k, units in enumerate(conversations):
        if not all(isinstance(unit, str) for unit in units):
            raise TypeError(f"conversation {k} must be a list of utterance strings")
        for name, values in (("speakers", speakers[k]), ("emotions", emotions[k])):
            if values and len(values) != len(units):
                raise ValueError(f"conversation {k} has {len(units)} utterances and {len(values)} {name}")
        if reads_gold_emotions(config) and units and not emotions[k]:
            raise ValueError(
                f"{type(model).__name__} writes the gold emotion of u_i into its prompts (the teacher, Eq. 1, or a "
                "given_emotion student): pass emotions=[one label per utterance] for every conversation; to predict "
                "emotions, use the distilled student"
            )
        if emotions[k] and not reads_gold_emotions(config):
            raise ValueError(
                "this KD-ECS student predicts the emotions itself; emotions= is only for models that read gold "
                "emotions (the teacher, a given_emotion student)"
            )
    collator = PromptCollator(tokenizer, config)
    results: list[SpanPairPrediction] = []
    for start in range(0, len(conversations), batch_size):
        chunk = range(start, min(start + batch_size, len(conversations)))
        groups = [
            conversation_examples(
                config,
                collator.tokenizer,
                conversations[k],
                speakers[k],
                emotions[k],
                conversation_id=str(k),
                where=f"conversation {k}",
            )
            for k in chunk
        ]
        pooled = [example for group in groups for example in group]
        predictions = predict_examples(model, pooled, collator, prompt_batch_size, max_span_tokens) if pooled else []
        for k, group in zip(chunk, groups):
            own, predictions = predictions[: len(group)], predictions[len(group) :]
            results.append(decode_conversation(conversations[k], group, own, config, threshold))
    return results


__all__ = [
    "NEUTRAL",
    "CauseUtterance",
    "EmotionUtterance",
    "PromptCollator",
    "SpanPair",
    "SpanPairPrediction",
    "add_student_tokens",
    "aggregate_emotions",
    "bind_tokenizer",
    "build_prompt",
    "char_span",
    "conversation_examples",
    "decode_conversation",
    "is_causal_lm",
    "is_student",
    "pad_prompts",
    "predict_conversations",
    "predict_examples",
    "prepare_tokenizer",
    "reads_gold_emotions",
    "single_token_id",
    "tokenizer_ids",
    "whole_unit",
]
