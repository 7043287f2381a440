"""Data for cause-aware empathetic response generation (Gao et al. 2021): examples, token cause labels, batches,
and a cause-labelling tool.

**Examples** (:func:`response_examples`, :func:`prepare_empathy_dataset` — the method's ``prepare_dataset``): from a
canonical conversation row, one example per listener turn with every utterance before it as the context (the
reference's ``TextLineDataSource``), or only the last listener turn (``config.response_turns = "last"``). Listener
turns are the utterances whose speaker is ``"listener"`` (ED-cause) or, for other conversations (RECCON-DD, ECF),
every utterance after the first whose speaker differs from the previous one.

- ``emotion``: ED-cause's ``conversation_emotion`` (one of 32); otherwise the emotion of the last context utterance
  (``"neutral"`` when it has none), i.e. the emotion the responder reacts to.
- ``cause_utterances``: ED-cause: every cause index of the conversation inside the context (as the reference, which
  tests ``idx in emotion_cause`` over the context utterances); gold-cause corpora: the causes of the pairs whose
  emotion utterance is the last context utterance.

**Token cause labels** (:func:`token_cause_labels`): the source is ``[CLS] u_1 [SEP] u_2 [SEP] …``; every token of a
cause utterance and its [SEP] gets 1. ``cause_labels="reference"`` also marks the last context utterance (the
reference's ``idx == len(utters) - 2`` rule); ``"utterance"`` does not. ``gate_source="lexicon"`` labels instead the
word pieces of emotion-lexicon words (:data:`EMOTION_LEXICON`). [CLS] is always 1 in the gates and is not scored
by the cause loss (the reference averages over the tokens after [CLS]).

**Cause labelling** (:func:`label_causes`, :func:`cause_agreement`): the paper's step 1 — run a trained hf_ecpe pair
model over conversations, keep the causes it pairs with the emotion utterance, and compare them with the ED-cause
silver labels.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

# the source encoding lives in the model folder (remote code: the model's predict() encodes with it)
from hf_ecpe.models.empathy.modeling_empathy import encode_context

LISTENER = "listener"

#: A small English emotion lexicon (hand-written for hf_ecpe; the paper uses NRC-VAD, which is not available
#: offline): the 32 EmpatheticDialogues labels, their common inflections and frequent emotion words.
EMOTION_LEXICON: frozenset[str] = frozenset(
    """
    sentimental afraid proud faithful terrified joyful angry sad jealous grateful prepared embarrassed excited annoyed
    lonely ashamed guilty surprised nostalgic confident furious disappointed caring trusting disgusted anticipating
    anxious hopeful content impressed apprehensive devastated
    happy happiness glad joy delighted thrilled cheerful pleased ecstatic elated love loved lovely adore
    sadness unhappy upset depressed miserable heartbroken grief grieving cry cried crying tears sorrow
    anger mad rage irritated frustrated frustrating furious outraged hate hated annoying
    fear scared scary frightened fright nervous worried worry worrying panic terror dread horrified
    surprise shocked shock amazed astonished stunned unexpected
    disgust gross disgusting awful terrible horrible nasty
    pride proudly thankful gratitude thank thanks appreciate appreciated
    embarrassing humiliated shame guilt regret sorry
    excitement exciting thrilled eager
    loneliness alone isolated
    nostalgia memories miss missed missing
    confidence sure trust
    disappointment disappointing letdown
    anxiety stress stressed stressful tense
    hope hoping wish
    satisfied relieved relief calm peaceful
    impressive wow awesome amazing great wonderful fantastic
    jealousy envy envious
    devastating crushed
    """.split()
)


# ---------------------------------------------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------------------------------------------


def response_turns(units: Sequence[str], speakers: Sequence[str] | None, which: str = "all") -> list[int]:
    """Indices of the utterances that are responses (see the module docstring); ``which="last"`` keeps the last."""
    n = len(units)
    speakers = list(speakers or [])
    if len(speakers) == n and LISTENER in speakers:
        turns = [j for j in range(1, n) if speakers[j] == LISTENER]
    elif len(speakers) == n:
        turns = [j for j in range(1, n) if speakers[j] != speakers[j - 1]]
    else:
        turns = list(range(1, n))
    if which not in ("all", "last"):
        raise ValueError(f"response_turns must be 'all' or 'last', got {which!r}")
    return turns[-1:] if which == "last" else turns


def pair_indices(pair: Any) -> tuple[int, int]:
    """``(emotion, cause)`` of a canonical pair dict or an ``[emotion, cause]`` list."""
    if isinstance(pair, Mapping):
        return int(pair["emotion"]), int(pair["cause"])
    return int(pair[0]), int(pair[1])


def response_examples(row: Mapping[str, Any], which: str = "all") -> list[dict[str, Any]]:
    """The examples of one canonical conversation row (see the module docstring)."""
    units = list(row["units"])
    speakers = list(row.get("speakers") or [])
    pairs = [pair_indices(pair) for pair in row.get("pairs") or []]
    emotions = list(row.get("emotions") or [])
    conversation_emotion = row.get("conversation_emotion")
    examples = []
    for j in response_turns(units, speakers, which):
        last = j - 1
        if conversation_emotion:
            emotion = conversation_emotion
            causes = sorted({cause for _, cause in pairs if cause < j})
        else:
            emotion = emotions[last] if last < len(emotions) else "neutral"
            causes = sorted({cause for emotion_index, cause in pairs if emotion_index == last and cause < j})
        examples.append(
            {
                "id": f"{row.get('id', '')}#{j}",
                "conversation_id": str(row.get("id", "")),
                "context": units[:j],
                "context_speakers": speakers[:j] if len(speakers) == len(units) else [],
                "response": units[j],
                "emotion": emotion,
                "cause_utterances": causes,
            }
        )
    return examples


def prepare_empathy_dataset(dataset: Any, config: Any, tokenizer: Any = None, split: str | None = None) -> Any:
    """``MethodSpec.prepare_dataset`` of the empathy method: canonical conversation rows → one row per example
    (``config.response_turns``). Rows that are already examples (a ``context`` column) pass unchanged."""
    from datasets import Dataset

    if "context" in dataset.column_names:
        return dataset
    which = getattr(config, "response_turns", "all")
    rows = [example for row in dataset for example in response_examples(row, which)]
    if not rows:
        raise ValueError(f"no response examples in the {split or 'given'} split (conversations of one utterance?)")
    return Dataset.from_list(rows)


def emotion_label_set(dataset: Any) -> list[str]:
    """The emotion labels an example set uses, sorted (for a config's ``emotion_labels`` on a new corpus)."""
    column = "conversation_emotion" if "conversation_emotion" in dataset.column_names else "emotions"
    values = dataset[column]
    flat = values if column == "conversation_emotion" else [label for row in values for label in row]
    return sorted(set(flat))


def split_by_conversation(dataset: Any, dev_fraction: float = 0.2, seed: int = 0) -> tuple[Any, Any]:
    """``(train, dev)``: the conversations of ``dataset`` shuffled with ``seed`` and divided by conversation."""
    if not 0.0 < dev_fraction < 1.0:
        raise ValueError(f"dev_fraction must be in (0, 1), got {dev_fraction}")
    order = list(range(len(dataset)))
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(len(order) * dev_fraction))
    return dataset.select(sorted(order[n_dev:])), dataset.select(sorted(order[:n_dev]))


# ---------------------------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------------------------


def token_cause_labels(
    owners: Sequence[int], cause_utterances: Iterable[int], n_utterances: int, rule: str
) -> list[int]:
    """0/1 label per token from the utterance causes (``rule``: ``"reference"`` also marks the last context
    utterance, ``"utterance"`` does not); [CLS] (owner -1) is 1."""
    if rule not in ("reference", "utterance"):
        raise ValueError(f"cause_labels must be 'reference' or 'utterance', got {rule!r}")
    causes = set(cause_utterances)
    if rule == "reference" and n_utterances:
        causes.add(n_utterances - 1)
    return [1 if owner == -1 or owner in causes else 0 for owner in owners]


def lexicon_token_labels(tokenizer: Any, ids: Sequence[int], lexicon: Iterable[str] = EMOTION_LEXICON) -> list[int]:
    """1 for every word piece of a lexicon word (WordPiece continuations ``##x`` join the word before), [CLS] = 1."""
    words = frozenset(word.lower() for word in lexicon)
    tokens = tokenizer.convert_ids_to_tokens(list(ids))
    labels = [0] * len(tokens)
    start = 0
    for index in range(1, len(tokens) + 1):
        if index == len(tokens) or not tokens[index].startswith("##"):
            word = "".join(token[2:] if token.startswith("##") else token for token in tokens[start:index])
            if word.lower() in words:
                labels[start:index] = [1] * (index - start)
            start = index
    labels[0] = 1
    return labels


class EmpathyCollator:
    """Examples (or canonical conversation rows: their last utterance becomes the response) → a batch
    ``input_ids``, ``attention_mask``, ``labels`` (response + [SEP]; -100 padding), ``emotion_labels`` (-100:
    unknown label or none), ``cause_labels`` (-100 at [CLS] and padding).

    Settings from the model config: ``max_position_embeddings`` (source and response length), ``emotion_labels``,
    ``cause_labels`` (token-label rule), ``gate_source`` (causes or lexicon words).
    """

    def __init__(self, tokenizer: Any, config: Any, max_response_tokens: int | None = None) -> None:
        self.tokenizer = tokenizer
        self.config = config
        self.max_length = int(getattr(config, "max_position_embeddings", 512))
        self.max_response_tokens = max_response_tokens or self.max_length
        self.emotion_ids = {label: index for index, label in enumerate(getattr(config, "emotion_labels", []))}

    @staticmethod
    def as_example(row: Mapping[str, Any]) -> Mapping[str, Any]:
        if "context" in row:
            return row
        units = list(row["units"])
        if len(units) < 2:
            raise ValueError("a conversation row needs at least two utterances (a context and a response)")
        fake = {**row, "speakers": []}
        return response_examples(fake, "last")[0]

    def encode(self, example: Mapping[str, Any]) -> dict[str, Any]:
        config, tokenizer = self.config, self.tokenizer
        context = list(example["context"])
        ids, owners = encode_context(tokenizer, context, self.max_length)
        if getattr(config, "gate_source", "reasoner") == "lexicon":
            causes = lexicon_token_labels(tokenizer, ids)
        else:
            causes = token_cause_labels(
                owners,
                example.get("cause_utterances") or [],
                len(context),
                getattr(config, "cause_labels", "reference"),
            )
        causes[0] = -100  # [CLS]: always a cause token in the gates, not scored (reference)
        response = example.get("response")
        labels = None
        if response is not None:
            end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
            pieces = tokenizer(response, add_special_tokens=False)["input_ids"][: self.max_response_tokens - 1]
            labels = pieces + [end]
        emotion = self.emotion_ids.get(example.get("emotion"), -100)
        return {"input_ids": ids, "cause_labels": causes, "labels": labels, "emotion": emotion}

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        encoded = [self.encode(self.as_example(row)) for row in rows]
        pad = self.tokenizer.pad_token_id
        width = max(len(item["input_ids"]) for item in encoded)
        input_ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        attention_mask = torch.zeros((len(encoded), width), dtype=torch.long)
        cause_labels = torch.full((len(encoded), width), -100, dtype=torch.long)
        for b, item in enumerate(encoded):
            n = len(item["input_ids"])
            input_ids[b, :n] = torch.tensor(item["input_ids"])
            attention_mask[b, :n] = 1
            cause_labels[b, :n] = torch.tensor(item["cause_labels"])
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "emotion_labels": torch.tensor([item["emotion"] for item in encoded], dtype=torch.long),
        }
        if getattr(self.config, "gate", "soft") != "none":
            batch["cause_labels"] = cause_labels
        if all(item["labels"] is not None for item in encoded):
            length = max(len(item["labels"]) for item in encoded)
            labels = torch.full((len(encoded), length), -100, dtype=torch.long)
            for b, item in enumerate(encoded):
                labels[b, : len(item["labels"])] = torch.tensor(item["labels"])
            batch["labels"] = labels
        return batch


def empathy_collator(tokenizer: Any, config: Any, training_args: Any) -> EmpathyCollator:
    """The method's collator factory (``MethodSpec.collator``)."""
    return EmpathyCollator(tokenizer, config)


class EmpathyLMCollator:
    """Examples → a right-padded batch for :class:`~hf_ecpe.models.empathy.EmpathyLMForCausalLM`: the chat prompt
    (:func:`~hf_ecpe.models.empathy.modeling_empathy_lm.build_prompt`) followed by the natural-text reply and the
    end-of-turn token. ``labels`` are the reply's ids (-100 on the prompt and padding), ``context_mask`` marks the
    context utterances' tokens, ``cause_labels`` are 0/1 there (:func:`token_cause_labels`, rule
    ``config.cause_labels``; -100 elsewhere; absent with ``gate="none"``), ``emotion_labels`` the emotion id (-100:
    not one of ``config.emotion_labels``). Replies longer than ``config.max_response_tokens`` are cut (the
    end-of-turn token kept)."""

    def __init__(self, tokenizer: Any, config: Any) -> None:
        if tokenizer.eos_token_id is None or getattr(tokenizer, "chat_template", None) is None:
            raise ValueError(
                "the empathy LM needs its causal LM's tokenizer: one with an EOS token and a chat template"
            )
        self.tokenizer = tokenizer
        self.config = config
        self.emotion_ids = {label: index for index, label in enumerate(config.emotion_labels)}
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def encode(self, example: Mapping[str, Any]) -> dict[str, Any]:
        from hf_ecpe.models.empathy.modeling_empathy_lm import build_prompt, reply_ids

        context = list(example["context"])
        prompt = build_prompt(self.tokenizer, context, self.config)
        causes = set(example.get("cause_utterances") or [])
        if self.config.cause_labels == "reference":
            causes.add(len(context) - 1)
        reply = reply_ids(self.tokenizer, example["response"])
        limit = self.config.max_response_tokens
        if len(reply) > limit:
            reply = reply[: limit - 1] + reply[-1:]
        return {
            "input_ids": prompt.ids + reply,
            "labels": [-100] * len(prompt.ids) + reply,
            "context_mask": [int(owner >= 0) for owner in prompt.owners] + [0] * len(reply),
            "cause_labels": [int(owner in causes) if owner >= 0 else -100 for owner in prompt.owners]
            + [-100] * len(reply),
            "emotion": self.emotion_ids.get(example.get("emotion"), -100),
        }

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        encoded = [self.encode(EmpathyCollator.as_example(row)) for row in rows]
        width = max(len(item["input_ids"]) for item in encoded)

        def padded(key: str, value: int) -> torch.Tensor:
            out = torch.full((len(encoded), width), value, dtype=torch.long)
            for b, item in enumerate(encoded):
                out[b, : len(item[key])] = torch.tensor(item[key])
            return out

        batch = {
            "input_ids": padded("input_ids", self.pad_token_id),
            "attention_mask": padded("context_mask", 0).fill_(0),
            "context_mask": padded("context_mask", 0),
            "labels": padded("labels", -100),
            "emotion_labels": torch.tensor([item["emotion"] for item in encoded], dtype=torch.long),
        }
        for b, item in enumerate(encoded):
            batch["attention_mask"][b, : len(item["input_ids"])] = 1
        if self.config.gate != "none":
            batch["cause_labels"] = padded("cause_labels", -100)
        return batch


def empathy_lm_collator(tokenizer: Any, config: Any, training_args: Any) -> EmpathyLMCollator:
    """The empathy LM's collator factory (``MethodSpec.collator``)."""
    return EmpathyLMCollator(tokenizer, config)


# ---------------------------------------------------------------------------------------------------------------
# Cause labelling with a trained pair model (the paper's step 1)
# ---------------------------------------------------------------------------------------------------------------


def label_causes(
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    emotion_utterance: str = "last_speaker",
    batch_size: int = 8,
    **pipeline_kwargs: Any,
) -> list[list[int]]:
    """Per conversation, the cause utterances a trained hf_ecpe pair model (a folder or a loaded model) pairs with
    the emotion utterance (``"last_speaker"``: the last even index, as ED-cause; ``"any"``: every pair's cause).
    ``pipeline_kwargs`` go to ``pipeline("emotion-cause")`` calls (``threshold``, ``decoding``, ...)."""
    import hf_ecpe
    from hf_ecpe.data.corpora.ed_cause import emotion_utterance_index

    extractor = hf_ecpe.pipeline("emotion-cause", model=model)
    inputs = [{"utterances": list(row["units"])} for row in rows]
    results = extractor(inputs, batch_size=batch_size, **pipeline_kwargs)
    labelled = []
    for row, result in zip(rows, results):
        if emotion_utterance == "any":
            causes = {pair["cause_index"] for pair in result["pairs"]}
        else:
            target = emotion_utterance_index(len(row["units"]), emotion_utterance)
            causes = {pair["cause_index"] for pair in result["pairs"] if pair["emotion_index"] == target}
        labelled.append(sorted(causes))
    return labelled


def cause_agreement(
    predicted: Sequence[Iterable[int]], rows: Sequence[Mapping[str, Any]], *, upto: str = "last_speaker"
) -> dict[str, float]:
    """Agreement of predicted cause utterances with the rows' pairs (the ED-cause silver causes), over the
    utterances up to the emotion utterance: utterance accuracy, cause precision / recall / F1 (micro), the share of
    conversations with the same cause set, and Cohen's kappa over the utterance decisions."""
    from hf_ecpe.data.corpora.ed_cause import emotion_utterance_index

    tp = fp = fn = tn = same = 0
    for causes, row in zip(predicted, rows):
        n = emotion_utterance_index(len(row["units"]), upto) + 1 if upto != "all" else len(row["units"])
        gold = {cause for _, cause in map(pair_indices, row["pairs"]) if cause < n}
        guess = {int(c) for c in causes if int(c) < n}
        same += gold == guess
        for index in range(n):
            g, p = index in gold, index in guess
            tp += g and p
            fp += p and not g
            fn += g and not p
            tn += not g and not p
    total = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    accuracy = (tp + tn) / total if total else 0.0
    expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (total * total) if total else 0.0
    return {
        "conversations": len(rows),
        "utterances": total,
        "utterance_accuracy": accuracy,
        "cause_precision": precision,
        "cause_recall": recall,
        "cause_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "exact_set_match": same / len(rows) if rows else 0.0,
        "kappa": (accuracy - expected) / (1 - expected) if expected < 1 else 0.0,
        "predicted_cause_rate": (tp + fp) / total if total else 0.0,
        "gold_cause_rate": (tp + fn) / total if total else 0.0,
    }


def with_causes(rows: Sequence[Mapping[str, Any]], causes: Sequence[Iterable[int]]) -> list[dict[str, Any]]:
    """Copies of ED-cause-like rows whose pairs are replaced by ``causes`` (e.g. from :func:`label_causes`)."""
    from hf_ecpe.data.corpora.ed_cause import emotion_utterance_index
    from hf_ecpe.data.schema import make_pair

    out = []
    for row, found in zip(rows, causes):
        target = emotion_utterance_index(len(row["units"]))
        category = (row.get("emotions") or [None] * len(row["units"]))[target]
        pairs = [make_pair(target, int(c), category=category or "") for c in sorted(set(found))]
        out.append({**row, "pairs": pairs})
    return out


__all__ = [
    "EMOTION_LEXICON",
    "EmpathyCollator",
    "cause_agreement",
    "emotion_label_set",
    "empathy_collator",
    "encode_context",
    "label_causes",
    "lexicon_token_labels",
    "pair_indices",
    "prepare_empathy_dataset",
    "response_examples",
    "response_turns",
    "split_by_conversation",
    "token_cause_labels",
    "with_causes",
]
