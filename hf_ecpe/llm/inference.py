"""Generate emotion–cause–category triplets with an (adapted) causal LM and return the pipeline's output schema.

::

    from hf_ecpe.llm import EmotionCauseLLM
    llm = EmotionCauseLLM("smollm2", adapter="outputs/sft_smollm2_semeval", labels=corpus_labels("semeval2024_ecac"))
    llm.predict(["I lost my job .", "Oh no , that is terrible !"], ["A", "B"])   # → TripletPrediction
    llm({"utterances": ["I lost my job .", "Oh no , that is terrible !"], "speakers": ["A", "B"]})   # → its to_dict()
    llm.evaluate(rows)       # canonical rows → strict / proportional triplet F1, malformed-output rate, tokens/s

:meth:`EmotionCauseLLM.predict` is the one prediction path: ``__call__`` (and so ``pipeline("emotion-cause")`` on an
adapter), ``predict_rows`` and ``evaluate`` go through it. Its output, :class:`TripletPrediction`, is the triplet
schema of hf_ecpe.

Generation is greedy (or beam search, ``num_beams``), batched, with left padding, and **grammar-constrained** by
default (``constrained=True``, :mod:`hf_ecpe.llm.constrained`): the model can only write completions of the triplet
grammar whose spans occur verbatim in the unit they name, so nothing is malformed or dropped by the parser.
``constrained=False`` restores free generation. Constrained decoding also refuses a line whose span pair was
already written (``no_repeat_lines=True``, the default; :class:`~hf_ecpe.llm.constrained.RepeatFreeGrammar`);
``no_repeat_lines=False`` is the paper's constrained decoding, which lets a small model loop on one line. Every pair of one document carries the same ``score``: the
geometric mean of the model's probabilities (before the constraint's masking) of the generated tokens of that
completion (an LLM gives no per-pair score).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..data.inputs import normalise_input
from .data import row_triplets
from .parsing import ParseResult, parse_completion
from .prompts import DEFAULT_INSTRUCTION, INSTRUCTIONS, build_prompt

SMOLLM2 = "smollm2"


@dataclass
class Triplet:
    """One emotion–cause–category triplet of a :class:`TripletPrediction` (0-based unit indices; spans are
    ``[start, end)`` character offsets into their unit).

    Attributes:
        emotion_index / cause_index: the units of the emotion and of its cause.
        emotion_text / cause_text: those units' whole texts.
        score: the completion's score (every triplet of one document carries the same; see the module docstring).
        category: the emotion category, one of the LLM's ``labels``.
        emotion_span / cause_span: ``[start, end)`` of the spans; emotion_span_text / cause_span_text: their texts.
    """

    emotion_index: int
    cause_index: int
    emotion_text: str
    cause_text: str
    score: float
    category: str
    emotion_span: list[int]
    cause_span: list[int]
    emotion_span_text: str
    cause_span_text: str


@dataclass
class TripletPrediction:
    """What the triplet LLM predicts for one document (:meth:`EmotionCauseLLM.predict`): the triplet schema.

    Attributes:
        units: the document's units (clauses or utterances), as the model read them.
        pairs: the triplets the parser recovered from the completion, in the order written (:class:`Triplet`).
        generated_text: the completion (``""`` for a document without units: nothing is generated).
        parse: what the parser kept and dropped (:class:`~hf_ecpe.llm.parsing.ParseResult`: ``lines``,
            ``malformed_lines``, ``dropped_spans``, ``dropped_categories``, ``duplicates``, ``empty_marker``; its
            ``triplets`` are ``pairs`` in the parser's form).

    :meth:`to_dict` is the output of ``EmotionCauseLLM.__call__`` and of ``pipeline("emotion-cause")`` on an adapter::

        {"units": [...],
         "pairs": [{"emotion_index", "cause_index", "emotion_text", "cause_text", "score", "category",
                    "emotion_span", "cause_span", "emotion_span_text", "cause_span_text"}, ...],
         "generated_text": str,
         "parse": {"lines", "malformed_lines", "dropped_spans", "dropped_categories", "duplicates", "empty_marker"}}
    """

    units: list[str]
    pairs: list[Triplet]
    generated_text: str
    parse: ParseResult

    @classmethod
    def of(cls, units: list[str], text: str, score: float, parsed: ParseResult) -> TripletPrediction:
        """The prediction of a completion ``text`` (its ``score``) parsed into ``parsed`` for ``units``."""
        pairs = [
            Triplet(
                emotion_index=t["emotion_unit"],
                cause_index=t["cause_unit"],
                emotion_text=units[t["emotion_unit"]],
                cause_text=units[t["cause_unit"]],
                score=score,
                category=t["category"],
                emotion_span=[t["emotion_start"], t["emotion_end"]],
                cause_span=[t["cause_start"], t["cause_end"]],
                emotion_span_text=units[t["emotion_unit"]][t["emotion_start"] : t["emotion_end"]],
                cause_span_text=units[t["cause_unit"]][t["cause_start"] : t["cause_end"]],
            )
            for t in parsed.triplets
        ]
        return cls(units=units, pairs=pairs, generated_text=text, parse=parsed)

    def to_dict(self) -> dict[str, Any]:
        """The prediction as plain lists and dicts (see the class docstring for the schema)."""
        return {
            "units": self.units,
            "pairs": [asdict(pair) for pair in self.pairs],
            "generated_text": self.generated_text,
            "parse": self.parse.counts(),
        }


def resolve_model_path(name_or_path: str | Path) -> str:
    """``"smollm2"`` → the converted SmolLM2 folder (:func:`hf_ecpe.llm.weights.smollm2_path`); else unchanged."""
    if str(name_or_path) == SMOLLM2:
        from .weights import smollm2_path

        return str(smollm2_path())
    return str(name_or_path)


def _load(model_or_path: Any, adapter: str | Path | None, tokenizer: Any):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer_source = None
    if isinstance(model_or_path, (str, Path)):
        path = resolve_model_path(model_or_path)
        if (Path(path) / "adapter_config.json").is_file():  # an adapter folder: base model named in its config
            from peft import AutoPeftModelForCausalLM

            model = AutoPeftModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        else:
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        tokenizer_source = path
    else:
        model = model_or_path
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
        if (Path(adapter) / "tokenizer_config.json").is_file():
            tokenizer_source = str(adapter)
    if tokenizer is None:
        if tokenizer_source is None:
            raise ValueError("pass tokenizer= when model_or_path is a model object (its tokenizer cannot be inferred)")
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    return model, tokenizer


class EmotionCauseLLM:
    """Causal-LM triplet extractor.

    Args:
        model_or_path: a causal LM, its folder, an adapter folder (``AutoPeftModelForCausalLM``) or ``"smollm2"``.
        adapter: optional LoRA adapter folder applied on top of the base model.
        tokenizer: defaults to the adapter's tokenizer, else the model folder's.
        labels: the emotion categories offered in the prompt and accepted by the parser.
        max_new_tokens: generation budget per document (a constrained completion always ends within it).
        batch_size: documents per ``generate`` call.
        language: passed to the pipeline's input normalisation.
        constrained: grammar-constrained decoding (:mod:`hf_ecpe.llm.constrained`); ``False``: free generation.
        no_repeat_lines: with ``constrained``, refuse a line whose (emotion span, cause span) pair was already written
            (under any category); ``False``: repeats allowed, as in the paper.
        num_beams: 1 = greedy; more = beam search.
        instruction: the prompt variant (``"task"``, ``"rules"``, ``"workflow"``; see :func:`build_prompt`), the
            one the adapter was trained with.
    """

    def __init__(
        self,
        model_or_path: Any,
        adapter: str | Path | None = None,
        tokenizer: Any = None,
        labels: Sequence[str] = (),
        *,
        max_new_tokens: int = 128,
        batch_size: int = 8,
        language: str | None = None,
        constrained: bool = True,
        no_repeat_lines: bool = True,
        num_beams: int = 1,
        instruction: str = DEFAULT_INSTRUCTION,
    ) -> None:
        if not labels:
            raise ValueError("labels is empty: pass the corpus categories, e.g. hf_ecpe.llm.corpus_labels('ecpe_en')")
        if instruction not in INSTRUCTIONS:
            raise ValueError(f"instruction must be one of {list(INSTRUCTIONS)}, got {instruction!r}")
        if num_beams < 1:
            raise ValueError(f"num_beams must be >= 1, got {num_beams}")
        self.model, self.tokenizer = _load(model_or_path, adapter, tokenizer)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.labels = tuple(labels)
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.language = language
        self.constrained = constrained
        self.no_repeat_lines = no_repeat_lines
        self.num_beams = num_beams
        self.instruction = instruction
        self.generated_tokens = 0
        self.generation_seconds = 0.0
        self.constraint_seconds = 0.0  # time spent in the constraint's logits processor
        self._vocabulary = None

    # -- generation --------------------------------------------------------------------------------------------

    def _eos_ids(self) -> list[int]:
        eos = (
            self.tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in self.tokenizer.get_vocab() else None
        )
        return sorted(i for i in {eos, self.tokenizer.eos_token_id} if i is not None)

    @property
    def vocabulary(self):
        """The tokenizer's :class:`~hf_ecpe.llm.constrained.TokenVocabulary` (built on first use, ~1 s)."""
        if self._vocabulary is None:
            from .constrained import TokenVocabulary

            self._vocabulary = TokenVocabulary(self.tokenizer, self._eos_ids())
        return self._vocabulary

    @torch.no_grad()
    def generate(
        self,
        prompts: Sequence[str],
        units: Sequence[Sequence[str]] | None = None,
        *,
        constrained: bool | None = None,
        batch_size: int | None = None,
    ) -> list[tuple[str, float]]:
        """Completions of user ``prompts`` (chat template applied): ``(text, mean-token probability)``.

        ``units``: the units of each prompt (as given to ``build_prompt``), needed by constrained decoding;
        ``constrained`` and ``batch_size`` (prompts per ``generate`` call) override the instance settings for this
        call."""
        constrained = self.constrained if constrained is None else constrained
        batch_size = self.batch_size if batch_size is None else batch_size
        if constrained and units is None:
            raise ValueError(
                "constrained generation needs units=[...] (the units of each prompt, as given to build_prompt); "
                "pass constrained=False for free generation"
            )
        if units is not None and len(units) != len(prompts):
            raise ValueError(f"got {len(units)} unit lists for {len(prompts)} prompts")
        outputs: list[tuple[str, float]] = []
        device = next(self.model.parameters()).device
        eos_ids = self._eos_ids()
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start : start + batch_size]
            texts = [
                self.tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
                )
                for p in chunk
            ]
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            processors = None
            if constrained:
                from .constrained import make_logits_processor

                processors = make_logits_processor(
                    self.vocabulary,
                    units[start : start + batch_size],
                    self.labels,
                    prompt_length=batch["input_ids"].shape[1],
                    max_new_tokens=self.max_new_tokens,
                    no_repeat_lines=self.no_repeat_lines,
                )
            began = time.perf_counter()
            result = self.model.generate(
                **batch,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                num_beams=self.num_beams,
                eos_token_id=eos_ids or None,
                pad_token_id=self.tokenizer.pad_token_id,
                return_dict_in_generate=True,
                output_logits=True,
                logits_processor=processors,
            )
            self.generation_seconds += time.perf_counter() - began
            if processors is not None:
                self.constraint_seconds += processors[0].seconds
            new_tokens = result.sequences[:, batch["input_ids"].shape[1] :]
            log_probs = self.model.compute_transition_scores(  # the model's probabilities, before any masking
                result.sequences,
                result.logits,
                getattr(result, "beam_indices", None) if self.num_beams > 1 else None,
                normalize_logits=True,
            )
            for k in range(len(chunk)):
                keep = new_tokens[k] != self.tokenizer.pad_token_id
                for stop in eos_ids:  # the first end-of-turn token ends the completion
                    hits = (new_tokens[k] == stop).nonzero()
                    if len(hits):
                        keep[hits[0, 0] + 1 :] = False
                n = int(keep.sum())
                self.generated_tokens += n
                score = float(torch.exp(log_probs[k][keep].float().mean())) if n else 0.0
                text = self.tokenizer.decode(
                    new_tokens[k][keep], skip_special_tokens=True, clean_up_tokenization_spaces=False
                )
                outputs.append((text, score))
        return outputs

    @property
    def tokens_per_second(self) -> float:
        """Generated tokens per second of ``generate`` time so far."""
        return self.generated_tokens / self.generation_seconds if self.generation_seconds else 0.0

    # -- prediction ------------------------------------------------------------------------------------------

    def predict(
        self,
        documents: Any,
        speakers: Sequence[str] | Sequence[Sequence[str] | None] | None = None,
        *,
        kind: str | Sequence[str] | None = None,
        batch_size: int | None = None,
        language: str | None = None,
        constrained: bool | None = None,
    ) -> TripletPrediction | list[TripletPrediction]:
        """The triplets of one document, or of a list of documents (a :class:`TripletPrediction` each, in order).

        Args:
            documents: one document or a list of them. A document is a list of unit strings (clauses or
                utterances: a list of strings is ONE document), or one input of ``pipeline("emotion-cause")``: raw
                text (split into clauses), a dict with ``"text"`` / ``"clauses"`` / ``"units"`` / ``"utterances"``
                (+ ``"speakers"``), a canonical row.
            speakers: for unit lists, one name per unit (for a list of documents: such a list or ``None`` each);
                a dict carries its own.
            kind: ``"document"`` or ``"conversation"`` (the prompt's words), for all documents or one per document;
                default: a conversation for units with speakers and for a dict with ``"utterances"``, else a
                document.
            batch_size: documents per ``generate`` call; language: of raw text (clause splitting); constrained:
                grammar-constrained decoding. ``None``: the instance settings.

        A document without units gets an empty prediction without generating.
        """
        single = isinstance(documents, (str, Mapping)) or (
            isinstance(documents, (list, tuple)) and len(documents) > 0 and all(isinstance(u, str) for u in documents)
        )
        if not single and not isinstance(documents, (list, tuple)):
            raise TypeError(f"documents must be a document or a list of documents, got {type(documents).__name__}")
        batch = [documents] if single else list(documents)
        who = [speakers] if single else [None] * len(batch) if speakers is None else list(speakers)
        kinds = [kind] * len(batch) if kind is None or isinstance(kind, str) else list(kind)
        if len(who) != len(batch) or len(kinds) != len(batch):
            raise ValueError(f"got {len(who)} speaker lists and {len(kinds)} kinds for {len(batch)} documents")
        read = [self._document(document, names, language, given) for document, names, given in zip(batch, who, kinds)]
        todo = [k for k, (units, _, _) in enumerate(read) if units]
        prompts = [
            build_prompt(read[k][0], self.labels, speakers=read[k][1], kind=read[k][2], instruction=self.instruction)
            for k in todo
        ]
        generated = self.generate(prompts, [read[k][0] for k in todo], constrained=constrained, batch_size=batch_size)
        completions = dict(zip(todo, generated))
        predictions = []
        for k, (units, _, _) in enumerate(read):
            text, score = completions.get(k, ("", 0.0))
            parsed = parse_completion(text, units, self.labels) if units else ParseResult()
            predictions.append(TripletPrediction.of(units, text, score, parsed))
        return predictions[0] if single else predictions

    def _document(
        self, document: Any, speakers: Sequence[str] | None, language: str | None, kind: str | None
    ) -> tuple[list[str], list[str] | None, str]:
        """One document of :meth:`predict` → ``(units, speakers, kind)``."""
        if isinstance(document, (list, tuple)):
            units, speakers = normalise_input({"units": list(document), "speakers": speakers})
            return units, speakers, kind or ("conversation" if speakers else "document")
        if speakers is not None:
            raise ValueError("speakers= goes with a list of units; a dict document carries its own 'speakers'")
        units, speakers = normalise_input(document, self.language if language is None else language)
        conversation = isinstance(document, Mapping) and "utterances" in document
        return units, speakers, kind or ("conversation" if conversation else "document")

    def __call__(
        self, inputs: Any, *, batch_size: int | None = None, language: str | None = None
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """Same inputs as ``pipeline("emotion-cause")`` (a list is a batch): :meth:`predict`'s
        :meth:`TripletPrediction.to_dict`. ``batch_size`` and ``language`` override the instance settings for this
        call."""
        batch = isinstance(inputs, list)
        documents = [{"text": item} if isinstance(item, str) else item for item in (inputs if batch else [inputs])]
        results = [p.to_dict() for p in self.predict(documents, batch_size=batch_size, language=language)]
        return results if batch else results[0]

    # -- evaluation --------------------------------------------------------------------------------------------

    def predict_rows(
        self, rows: Sequence[Mapping[str, Any]], *, constrained: bool | None = None
    ) -> tuple[list[ParseResult], list[str]]:
        """Parse results and raw completions for canonical rows (:meth:`predict` with each row's units, speakers and
        kind: the prompts of training, :func:`~hf_ecpe.llm.data.row_prompt`)."""
        predictions = self.predict(
            [row["units"] for row in rows],
            [row.get("speakers") or None for row in rows],
            kind=[row.get("kind", "document") for row in rows],
            constrained=constrained,
        )
        return [p.parse for p in predictions], [p.generated_text for p in predictions]

    def evaluate(
        self, rows: Sequence[Mapping[str, Any]], *, keep_generations: int = 0, constrained: bool | None = None
    ) -> dict[str, Any]:
        """Scores of the generated triplets against the gold of canonical ``rows`` (all of one ``language``).

        Returns strict and proportional triplet P/R/F1 (:func:`hf_ecpe.evaluation.triplets.triplet_scores`), the
        unit-level scores of the same predictions with spans ignored (``unit_pair_*``: emotion and cause unit;
        ``unit_category_pair_*``: and category; ``unit_emotion_f1``/``unit_cause_f1``; see :func:`score_triplets`),
        ``malformed_rate`` (share of completions that are not well formed), dropped-content rates per completion,
        ``repeated_line_rate`` (share of the non-blank lines that repeat an earlier triplet of their completion, the
        parser's ``duplicates``) and generation speed (``tokens_per_second``; constrained:
        ``constraint_ms_per_token``, the time spent in the constraint per generated token), plus the decoding
        settings (``constrained``, ``no_repeat_lines`` (in effect: constrained and on), ``num_beams``,
        ``instruction``).
        ``constrained`` overrides the instance setting for this call.
        ``keep_generations=N`` adds ``generations``: the first N rows' ids, generated texts and gold completions."""
        from .prompts import render_completion

        rows = list(rows)
        if not rows:
            raise ValueError("evaluate() got no rows")
        languages = {row.get("language", "en") for row in rows}
        if len(languages) != 1:
            raise ValueError(f"rows mix languages {sorted(languages)}; evaluate each language separately")
        constrained = self.constrained if constrained is None else constrained
        tokens_before, seconds_before = self.generated_tokens, self.generation_seconds
        constraint_before = self.constraint_seconds
        parsed, texts = self.predict_rows(rows, constrained=constrained)
        gold = [row_triplets(row) for row in rows]
        scores = score_triplets(
            [p.triplets for p in parsed], gold, [row["units"] for row in rows], self.labels, languages.pop()
        )
        n = len(rows)
        seconds = self.generation_seconds - seconds_before
        tokens = self.generated_tokens - tokens_before
        scores.update(
            {
                "malformed_rate": sum(not p.well_formed for p in parsed) / n,
                "malformed_lines_per_example": sum(p.malformed_lines for p in parsed) / n,
                "dropped_spans_per_example": sum(p.dropped_spans for p in parsed) / n,
                "dropped_categories_per_example": sum(p.dropped_categories for p in parsed) / n,
                "repeated_line_rate": sum(p.duplicates for p in parsed) / max(sum(p.lines for p in parsed), 1),
                "tokens_per_second": tokens / seconds if seconds else 0.0,
                "num_examples": n,
                "constrained": bool(constrained),
                "no_repeat_lines": bool(constrained and self.no_repeat_lines),
                "num_beams": self.num_beams,
                "instruction": self.instruction,
            }
        )
        if constrained:
            scores["constraint_ms_per_token"] = 1000 * (self.constraint_seconds - constraint_before) / max(tokens, 1)
        if keep_generations:
            scores["generations"] = [
                {"id": row.get("id"), "generated": text, "gold": render_completion(g, row["units"])}
                for row, text, g in list(zip(rows, texts, gold))[:keep_generations]
            ]
        return scores


def score_triplets(
    predictions: Sequence[Sequence[Mapping[str, Any]]],
    references: Sequence[Sequence[Mapping[str, Any]]],
    units: Sequence[Sequence[str]],
    labels: Sequence[str],
    language: str = "en",
) -> dict[str, float]:
    """Strict / proportional triplet P/R/F1 plus the unit-level scores of the same triplets (spans ignored).

    Per example a list of triplet dicts (``emotion_unit``, ``emotion_start``, ... ``category``). Unit-level:
    ``unit_pair_*`` (emotion and cause unit match), ``unit_category_pair_*`` (and the category),
    ``unit_emotion_f1``, ``unit_cause_f1`` — :func:`~hf_ecpe.evaluation.pairs.ecpe_scores`, the scores the pair
    models report, with exact ratios (``epsilon=0``)."""
    from ..evaluation.pairs import ecpe_scores
    from ..evaluation.triplets import triplet_scores

    scores = triplet_scores(predictions, references, units, language=language)

    def unit_pairs(triplets: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        return [[t["emotion_unit"], t["cause_unit"], t["category"]] for t in triplets]

    by_unit = ecpe_scores(
        [unit_pairs(p) for p in predictions],
        [unit_pairs(r) for r in references],
        num_units=[len(u) for u in units],
        categories=labels,
        with_categories=True,
        epsilon=0.0,
    )
    for key in ("pair", "category_pair"):
        scores.update({f"unit_{key}_{m}": by_unit[f"{key}_{m}"] for m in ("precision", "recall", "f1")})
    scores.update({"unit_emotion_f1": by_unit["emotion_f1"], "unit_cause_f1": by_unit["cause_f1"]})
    return scores


__all__ = ["SMOLLM2", "EmotionCauseLLM", "Triplet", "TripletPrediction", "resolve_model_path", "score_triplets"]
