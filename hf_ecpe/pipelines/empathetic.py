"""``pipeline("empathetic-response")``: an empathetic reply to a conversation, with the emotion and the causes the
model recognised (Gao et al. 2021). Registered by ``import hf_ecpe``::

    responder = pipeline("empathetic-response", model="outputs/empathy_ed")
    responder(["i lost my job today .", "oh no , what happened ?", "they closed the whole office ."])
    responder({"utterances": [...], "speakers": ["speaker", "listener", "speaker"]}, num_beams=5)
    responder([conversation_1, conversation_2], batch_size=2, do_sample=True, top_k=3, temperature=0.6)

Inputs: a conversation as a list of utterance strings, or a dict ``{"utterances": [...], "speakers": [...]}``
(speakers optional; the model reads the utterances in order). A list of such conversations is a batch. Keyword
arguments other than ``cause_threshold`` are ``generate()`` arguments (``max_new_tokens``, ``num_beams``,
``do_sample``, ``top_k``, ``top_p``, ``temperature``, ``num_return_sequences``, ...), on top of the model's saved
``GenerationConfig``.

Output per conversation::

    {"response": str, "emotion": str, "emotion_score": float,
     "cause_utterances": [{"index", "text", "score"}, ...],   # utterances whose mean P(cause) > cause_threshold
     "cause_tokens": [{"token", "utterance", "score", "gate"}, ...]}   # word pieces with P(cause) > cause_threshold

plus ``"responses"`` (all of them) when ``num_return_sequences > 1``. A model without a cause task (``gate="none"``)
returns empty cause lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from transformers import Pipeline

from hf_ecpe.data.inputs import check_units, normalise_input

OWN_PARAMETERS = ("cause_threshold",)


def _is_conversation(value: Any) -> bool:
    return isinstance(value, Mapping) or (
        isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(item, str) for item in value)
    )


class EmpatheticResponsePipeline(Pipeline):
    """See the module docstring."""

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from hf_ecpe.devices import check_device

        check_device(kwargs.get("device"))  # device=0 without an accelerator: an error, not a silent CPU run
        super().__init__(*args, **kwargs)
        from hf_ecpe.methods import method_for

        spec = method_for(self.model)
        if spec is None or spec.kind != "response":
            raise TypeError(
                f"{type(self.model).__name__} is not an hf_ecpe response generator: the empathetic-response pipeline "
                "serves checkpoints of the empathy method (EmpathyForConditionalGeneration)"
            )

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if _is_conversation(inputs):  # one conversation (a list of strings is ONE conversation here)
            return super().__call__([inputs], *args, **kwargs)[0]
        if isinstance(inputs, (list, tuple)):
            return super().__call__(list(inputs), *args, **kwargs) if inputs else []
        return super().__call__(inputs, *args, **kwargs)

    def _sanitize_parameters(self, cause_threshold: float | None = None, **generate_kwargs: Any):
        postprocess: dict[str, Any] = {}
        if cause_threshold is not None:
            if not 0.0 <= float(cause_threshold) <= 1.0:
                raise ValueError(f"cause_threshold is a probability in [0, 1], got {cause_threshold}")
            postprocess["cause_threshold"] = float(cause_threshold)
        return {}, {"generate_kwargs": generate_kwargs}, postprocess

    def preprocess(self, inputs: Any) -> dict[str, Any]:
        from hf_ecpe.data.empathy import encode_context

        if isinstance(inputs, (list, tuple)):
            utterances = check_units(list(inputs), "utterances")
        else:
            utterances, _ = normalise_input(inputs)
        if not utterances:
            raise ValueError("a conversation needs at least one utterance")
        ids, owners = encode_context(self.tokenizer, utterances, self.model.config.max_position_embeddings)
        return {
            "input_ids": torch.tensor([ids], dtype=torch.long),
            "attention_mask": torch.ones((1, len(ids)), dtype=torch.long),
            "meta": {"utterances": utterances, "owners": owners},
        }

    def _forward(self, model_inputs: dict[str, Any], generate_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
        meta = model_inputs.pop("meta")
        input_ids, attention_mask = model_inputs["input_ids"], model_inputs["attention_mask"]
        encoded = self.model.get_encoder()(input_ids, attention_mask)
        generate_kwargs = dict(generate_kwargs or {})
        generated = self.model.generate(
            input_ids=input_ids, attention_mask=attention_mask, encoder_outputs=encoded, **generate_kwargs
        )
        per_input = generated.size(0) // input_ids.size(0)
        result = {
            "generated": generated.reshape(input_ids.size(0), per_input, -1),
            "emotion_probabilities": torch.softmax(encoded.emotion_logits.float(), dim=-1),
            "attention_mask": attention_mask,
            "meta": [meta] if isinstance(meta, Mapping) else list(meta),
        }
        if encoded.cause_logits is not None:
            result["cause_probabilities"] = torch.softmax(encoded.cause_logits.float(), dim=-1)[..., 1]
            result["gates"] = encoded.gates.float()
        return result

    def postprocess(self, model_outputs: dict[str, Any], cause_threshold: float = 0.5) -> dict[str, Any]:
        from hf_ecpe.trainers.empathy import decode_texts

        meta = model_outputs["meta"]
        meta = meta[0] if isinstance(meta, list) else meta
        utterances, owners = meta["utterances"], meta["owners"]
        texts = decode_texts(self.tokenizer, model_outputs["generated"][0].cpu().numpy())
        probabilities = model_outputs["emotion_probabilities"][0]
        score, index = probabilities.max(dim=-1)
        result: dict[str, Any] = {
            "response": texts[0],
            "emotion": self.model.config.emotion_labels[int(index)],
            "emotion_score": float(score),
            "cause_utterances": [],
            "cause_tokens": [],
        }
        if len(texts) > 1:
            result["responses"] = texts
        if "cause_probabilities" in model_outputs:
            n = len(owners)
            cause = model_outputs["cause_probabilities"][0, :n].tolist()
            gates = model_outputs["gates"][0, :n].tolist()
            ids = model_outputs.get("input_ids")
            tokens = self.tokenizer.convert_ids_to_tokens(ids[0, :n].tolist()) if ids is not None else None
            sep = self.tokenizer.sep_token
            per_utterance: dict[int, list[float]] = {}
            for position, owner in enumerate(owners):
                if owner < 0 or (tokens is not None and tokens[position] == sep):
                    continue
                per_utterance.setdefault(owner, []).append(cause[position])
                if cause[position] > cause_threshold:
                    result["cause_tokens"].append(
                        {
                            "token": tokens[position] if tokens is not None else None,
                            "utterance": owner,
                            "score": cause[position],
                            "gate": gates[position],
                        }
                    )
            for owner, values in sorted(per_utterance.items()):
                mean = sum(values) / len(values)
                if mean > cause_threshold:
                    result["cause_utterances"].append({"index": owner, "text": utterances[owner], "score": mean})
        return result

    def forward(self, model_inputs: dict[str, Any], **forward_params: Any) -> dict[str, Any]:
        ids = model_inputs["input_ids"]
        outputs = super().forward(model_inputs, **forward_params)
        outputs["input_ids"] = ids
        return outputs


__all__ = ["EmpatheticResponsePipeline"]
