"""Cause-aware empathetic response generation (Gao et al., Findings of EMNLP 2021) as a transformers generator.

An **emotion reasoner** reads the context ``[CLS] u_1 [SEP] u_2 [SEP] …`` and predicts the context emotion from the
first token (Eq. 1) and a binary emotion-cause label per token (Eq. 2; loss Eq. 4). A Transformer **encoder–decoder**
generates the response; every encoder and decoder input is word + position + the predicted emotion's embedding,
and every decoder block has, after cross-attention, a **gated attention** sublayer over the encoder states whose
weights are a_i = g_i · exp(q·h_i) / Σ_j g_j · exp(q·h_j) (Eq. 5), with hard gates (Gumbel-softmax
straight-through while training, argmax at inference) or soft gates g_i = P(c_i = 1).

Incremental decoding uses the transformers cache classes: an ``EncoderDecoderCache`` whose self-attention part grows
per step and whose cross-attention part holds, per block, the keys/values of the cross-attention and of the gated
attention (concatenated along the head axis, as both attend over the same encoder states).

:meth:`EmpathyForConditionalGeneration.predict` is the one prediction path (the ``empathetic-response`` pipeline,
the evaluation runner and the sample report call it): utterances in, a :class:`ResponsePrediction` per conversation
out.

This file imports only ``torch``, ``transformers`` and its configuration, so ``save_pretrained`` ships it as remote
code (``predict`` included).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModel, AutoTokenizer, GenerationMixin, PreTrainedModel
from transformers.cache_utils import Cache, DynamicCache, EncoderDecoderCache
from transformers.utils import ModelOutput, logging

from .configuration_empathy import EmpathyConfig

logger = logging.get_logger(__name__)

NEG_INF = -1e9


def sinusoid_positions(length: int, dim: int, offset: int = 0, device: Any = None) -> torch.Tensor:
    """``(length, dim)`` sinusoidal position encodings of positions ``offset … offset + length - 1`` (Vaswani et
    al.; sin on the first half of the dimensions, cos on the second, as texar's ``SinusoidsPositionEmbedder``)."""
    positions = torch.arange(offset, offset + length, dtype=torch.float32, device=device)[:, None]
    half = dim // 2
    scale = math.log(10000.0) / max(half - 1, 1)
    inv = torch.exp(torch.arange(half, dtype=torch.float32, device=device) * -scale)[None]
    table = torch.cat([torch.sin(positions * inv), torch.cos(positions * inv)], dim=-1)
    if dim % 2:
        table = F.pad(table, (0, 1))
    return table


def gated_softmax(scores: torch.Tensor, gates: torch.Tensor | None) -> torch.Tensor:
    """Eq. 5: ``g_i · exp(s_i) / Σ_j g_j · exp(s_j)`` over the last axis (``gates`` broadcast to ``scores``).

    Written multiplicatively (not as ``softmax(s + log g)``), so hard straight-through gates, which are exactly 0 in
    the forward pass, still pass a finite gradient to the cause logits. ``gates=None`` is a plain softmax."""
    if gates is None:
        return torch.softmax(scores, dim=-1)
    shifted = scores - scores.amax(dim=-1, keepdim=True).detach()
    weights = torch.exp(shifted) * gates
    return weights / weights.sum(dim=-1, keepdim=True).clamp_min(1e-30)


class EmpathyAttention(nn.Module):
    """Multi-head attention with separate key/value projection (so keys and values can be cached)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def _split(self, states: torch.Tensor) -> torch.Tensor:
        batch, length, _ = states.shape
        return states.view(batch, length, self.heads, self.head_dim).transpose(1, 2)

    def keys_values(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, heads, S, head_dim)`` keys and values of ``states``."""
        return self._split(self.k_proj(states)), self._split(self.v_proj(states))

    def forward(
        self,
        hidden: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        bias: torch.Tensor | None = None,
        gates: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``hidden`` (B, T, d) attends over ``keys`` / ``values``; ``bias`` is added to the scores (masks),
        ``gates`` (B, 1, 1, S) multiply the exponentiated scores (Eq. 5). Returns the output and the weights."""
        query = self._split(self.q_proj(hidden))
        scores = query @ keys.transpose(-1, -2) / math.sqrt(self.head_dim)
        if bias is not None:
            scores = scores + bias
        weights = gated_softmax(scores, gates)
        attended = F.dropout(weights, p=self.dropout, training=self.training) @ values
        batch, _, length, _ = attended.shape
        return self.out_proj(attended.transpose(1, 2).reshape(batch, length, -1)), weights


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.dropout = dropout

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        inner = F.dropout(F.relu(self.fc1(states)), p=self.dropout, training=self.training)
        return self.fc2(inner)


class EncoderLayer(nn.Module):
    """Pre-norm Transformer encoder block (texar's layout: LayerNorm → sublayer → dropout → residual)."""

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float, attention_dropout: float) -> None:
        super().__init__()
        self.self_attn = EmpathyAttention(dim, heads, attention_dropout)
        self.self_attn_norm = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim, dropout)
        self.ffn_norm = nn.LayerNorm(dim)
        self.dropout = dropout

    def forward(self, states: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        normed = self.self_attn_norm(states)
        keys, values = self.self_attn.keys_values(normed)
        attended, _ = self.self_attn(normed, keys, values, bias=bias)
        states = states + F.dropout(attended, p=self.dropout, training=self.training)
        return states + F.dropout(self.ffn(self.ffn_norm(states)), p=self.dropout, training=self.training)


class DecoderLayer(nn.Module):
    """Pre-norm decoder block: causal self-attention, cross-attention, **gated attention** (Eq. 5; absent when
    ``gate="none"``), feed-forward."""

    def __init__(self, config: EmpathyConfig, layer_idx: int) -> None:
        super().__init__()
        dim, heads = config.d_model, config.num_heads
        self.layer_idx = layer_idx
        self.self_attn = EmpathyAttention(dim, heads, config.attention_dropout)
        self.self_attn_norm = nn.LayerNorm(dim)
        self.cross_attn = EmpathyAttention(dim, heads, config.attention_dropout)
        self.cross_attn_norm = nn.LayerNorm(dim)
        self.gated_attn = EmpathyAttention(dim, heads, config.attention_dropout) if config.uses_causes else None
        self.gated_attn_norm = nn.LayerNorm(dim) if config.uses_causes else None
        self.ffn = FeedForward(dim, config.ffn_dim, config.dropout)
        self.ffn_norm = nn.LayerNorm(dim)
        self.dropout = config.dropout
        self.soft_reference = config.gate == "soft" and config.soft_gate_form == "reference"

    def _residual(self, states: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
        return states + F.dropout(update, p=self.dropout, training=self.training)

    def _memory(
        self, memory: torch.Tensor, gates: torch.Tensor | None, cache: EncoderDecoderCache | None
    ) -> tuple[torch.Tensor, ...]:
        """Keys/values of cross-attention and gated attention over the encoder states (cached after step 1)."""
        heads = self.cross_attn.heads
        if cache is not None and cache.is_updated.get(self.layer_idx):
            layer = cache.cross_attention_cache.layers[self.layer_idx]
            keys, values = layer.keys, layer.values
        else:
            keys, values = self.cross_attn.keys_values(memory)
            if self.gated_attn is not None:
                gated_memory = memory
                if self.soft_reference:  # reference soft model: memory * P(cause), plain attention over it
                    gated_memory = memory * gates.squeeze(1).squeeze(1).unsqueeze(-1)
                gated_keys, gated_values = self.gated_attn.keys_values(gated_memory)
                keys, values = torch.cat([keys, gated_keys], dim=1), torch.cat([values, gated_values], dim=1)
            if cache is not None:
                keys, values = cache.cross_attention_cache.update(keys, values, self.layer_idx)
                cache.is_updated[self.layer_idx] = True
        return keys[:, :heads], values[:, :heads], keys[:, heads:], values[:, heads:]

    def forward(
        self,
        states: torch.Tensor,
        self_bias: torch.Tensor,
        memory: torch.Tensor,
        memory_bias: torch.Tensor,
        gates: torch.Tensor | None,
        cache: EncoderDecoderCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        normed = self.self_attn_norm(states)
        keys, values = self.self_attn.keys_values(normed)
        if cache is not None:
            keys, values = cache.self_attention_cache.update(keys, values, self.layer_idx)
        attended, _ = self.self_attn(normed, keys, values, bias=self_bias)
        states = self._residual(states, attended)

        cross_keys, cross_values, gated_keys, gated_values = self._memory(memory, gates, cache)
        attended, _ = self.cross_attn(self.cross_attn_norm(states), cross_keys, cross_values, bias=memory_bias)
        states = self._residual(states, attended)

        gated_weights = None
        if self.gated_attn is not None:
            # queries from the cross-attention output, keys/values from the encoder states, weights ∝ g_i·exp(q·h_i)
            attended, gated_weights = self.gated_attn(
                self.gated_attn_norm(states),
                gated_keys,
                gated_values,
                bias=memory_bias,
                gates=None if self.soft_reference else gates,
            )
            states = self._residual(states, attended)
        return self._residual(states, self.ffn(self.ffn_norm(states))), gated_weights


@dataclass
class EmpathyEncoderOutput(ModelOutput):
    """The encoder side: generator encoder states plus everything the reasoner predicted.

    Attributes:
        last_hidden_state: ``(B, S, d)`` encoder states H.
        gates: ``(B, S)`` the gates g (``None`` with ``gate="none"``); 1 at [CLS], 0 at padding.
        emotion_logits: ``(B, n_emotions)``; cause_logits: ``(B, S, 2)`` (``None`` without causes).
        emotion_ids: ``(B,)`` the predicted emotion; emotion_vector: ``(B, d)`` its embedding (``None`` without).
        attention_mask: ``(B, S)`` the source mask (carried so that the decoder sees it after beam expansion).
    """

    last_hidden_state: torch.Tensor | None = None
    gates: torch.Tensor | None = None
    emotion_logits: torch.Tensor | None = None
    cause_logits: torch.Tensor | None = None
    emotion_ids: torch.Tensor | None = None
    emotion_vector: torch.Tensor | None = None
    attention_mask: torch.Tensor | None = None


@dataclass
class EmpathyOutput(ModelOutput):
    """Output of :class:`EmpathyForConditionalGeneration`.

    ``loss`` = L_g + L_r (joint stage; L_r only in the reasoner stage), with the components ``loss_generation``
    (response NLL, label-smoothed), ``loss_emotion`` and ``loss_cause`` (reasoner, Eq. 4) logged separately.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    loss_generation: torch.Tensor | None = None
    loss_emotion: torch.Tensor | None = None
    loss_cause: torch.Tensor | None = None
    emotion_logits: torch.Tensor | None = None
    cause_logits: torch.Tensor | None = None
    gates: torch.Tensor | None = None
    cache: Cache | None = None
    encoder_last_hidden_state: torch.Tensor | None = None
    gated_attentions: tuple[torch.Tensor, ...] | None = None


#: P(cause) above which a word piece, or an utterance (the mean over its word pieces), is reported as a cause.
DEFAULT_CAUSE_THRESHOLD = 0.5


@dataclass
class CauseUtterance:
    """A context utterance the cause detector selected: 0-based ``index``, its ``text`` and ``score``, the mean
    P(cause) of its word pieces ([SEP] excluded)."""

    index: int
    text: str
    score: float


@dataclass
class CauseToken:
    """A context word piece whose P(cause) (``score``) is above the threshold: the tokenizer's ``token``, the 0-based
    index of its ``utterance`` and the ``gate`` g_i the generator used there (hard: 0/1, soft: P(cause))."""

    token: str
    utterance: int
    score: float
    gate: float


@dataclass
class ResponsePrediction:
    """One conversation's reply and what the emotion reasoner recognised in it: the ``response`` schema of hf_ecpe
    (:meth:`EmpathyForConditionalGeneration.predict`; ``pipeline("empathetic-response")`` returns :meth:`to_dict`).

    Attributes:
        response: the reply (the first returned sequence), in the corpus tokenisation (:func:`decode_texts`).
        responses: every returned reply, best first (more than one with ``num_return_sequences``).
        emotion: the context emotion (Eq. 1, a label of ``config.emotion_labels``); emotion_score: its probability.
        cause_utterances: the utterances whose mean P(cause) is above the threshold, in order
            (:class:`CauseUtterance`); empty for a model without a cause task (``gate="none"``).
        cause_tokens: the word pieces of the utterances ([CLS] and [SEP] excluded) whose P(cause) is above the
            threshold, in order (:class:`CauseToken`); empty without a cause task.
        tokens: the source ``[CLS] u_1 [SEP] u_2 [SEP] …`` as word pieces (the newest tokens when the context is
            longer than ``max_position_embeddings``); token_utterances: per token its utterance index (-1: [CLS]).
        cause_probabilities: per source token P(cause); gates: per source token g_i (both ``None`` without a cause
            task).

    :meth:`to_dict` (the pipeline's output) keeps ``response``, ``emotion``, ``emotion_score``, ``cause_utterances``
    (``{"index", "text", "score"}``), ``cause_tokens`` (``{"token", "utterance", "score", "gate"}``) and
    ``responses`` when there is more than one; the per-token fields serve the sample report.
    """

    response: str
    responses: list[str]
    emotion: str
    emotion_score: float
    cause_utterances: list[CauseUtterance]
    cause_tokens: list[CauseToken]
    tokens: list[str]
    token_utterances: list[int]
    cause_probabilities: list[float] | None = None
    gates: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The pipeline's output (see the class docstring)."""
        result: dict[str, Any] = {
            "response": self.response,
            "emotion": self.emotion,
            "emotion_score": self.emotion_score,
            "cause_utterances": [asdict(cause) for cause in self.cause_utterances],
            "cause_tokens": [asdict(token) for token in self.cause_tokens],
        }
        if len(self.responses) > 1:
            result["responses"] = list(self.responses)
        return result


class EmotionReasoner(nn.Module):
    """Emotion reasoner: a small Transformer encoder (or a pretrained one, ``config.encoder``) with the context
    emotion head on the first token (Eq. 1) and the binary cause head on every token (Eq. 2)."""

    def __init__(self, config: EmpathyConfig) -> None:
        super().__init__()
        self.config = config
        if config.encoder is not None:
            self.pretrained = AutoModel.from_config(AutoConfig.for_model(**config.encoder))
            hidden = self.pretrained.config.hidden_size
            self.embed_tokens = self.layers = self.norm = None
        else:
            self.pretrained = None
            hidden = config.d_model
            self.embed_tokens = nn.Embedding(config.vocab_size, hidden, padding_idx=config.pad_token_id)
            self.layers = nn.ModuleList(
                EncoderLayer(hidden, config.reasoner_heads, config.ffn_dim, config.dropout, config.attention_dropout)
                for _ in range(config.reasoner_layers)
            )
            self.norm = nn.LayerNorm(hidden)
        self.emotion_head = nn.Linear(hidden, config.num_emotions)
        self.cause_head = nn.Linear(hidden, 2) if config.uses_causes else None

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.pretrained is not None:
            states = self.pretrained(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        else:
            states = self.embed_tokens(input_ids) * math.sqrt(self.config.d_model)
            if self.config.reasoner_positions:
                states = states + sinusoid_positions(input_ids.size(1), states.size(-1), device=states.device)
            states = F.dropout(states, p=self.config.dropout, training=self.training)
            bias = padding_bias(attention_mask, states.dtype)
            for layer in self.layers:
                states = layer(states, bias)
            states = self.norm(states)
        emotion_logits = self.emotion_head(states[:, 0])
        cause_logits = self.cause_head(states) if self.cause_head is not None else None
        return emotion_logits, cause_logits


def padding_bias(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(B, 1, 1, S)`` additive bias: 0 on tokens, a large negative number on padding."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * NEG_INF


class EmpathyEncoder(nn.Module):
    """Reasoner + generator encoder: what ``generate()`` runs once per input (``model.get_encoder()``)."""

    main_input_name = "input_ids"

    def __init__(self, config: EmpathyConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
        self.emotion_embed = nn.Embedding(config.num_emotions, config.d_model) if config.emotion_embedding else None
        self.reasoner = EmotionReasoner(config)
        self.layers = nn.ModuleList(
            EncoderLayer(config.d_model, config.num_heads, config.ffn_dim, config.dropout, config.attention_dropout)
            for _ in range(config.encoder_layers)
        )
        self.norm = nn.LayerNorm(config.d_model)

    def embed(self, input_ids: torch.Tensor, emotion_vector: torch.Tensor | None, offset: int = 0) -> torch.Tensor:
        """word · √d + sinusoidal position (+ emotion embedding), then dropout: the input of encoder and decoder."""
        states = self.embed_tokens(input_ids) * math.sqrt(self.config.d_model)
        states = states + sinusoid_positions(input_ids.size(1), states.size(-1), offset, states.device).to(
            states.dtype
        )
        if emotion_vector is not None:
            states = states + emotion_vector[:, None, :]
        return F.dropout(states, p=self.config.dropout, training=self.training)

    def gates_from(self, cause_logits: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The gates g (B, S): hard (Gumbel straight-through while training, argmax at inference unless
        ``hard_gate_sampling``) or soft (P(c = 1)); 1 at [CLS], 0 at padding."""
        config = self.config
        if config.gate == "soft":
            gates = torch.softmax(cause_logits.float(), dim=-1)[..., 1]
        elif self.training or config.hard_gate_sampling:
            gates = F.gumbel_softmax(cause_logits.float(), tau=config.gumbel_temperature, hard=True)[..., 1]
        else:
            gates = (cause_logits[..., 1] > cause_logits[..., 0]).float()
        first = torch.zeros_like(gates)
        first[:, 0] = 1.0
        gates = gates * (1.0 - first) + first  # [CLS] is always a cause token (Sec. 4.2), so Σ g > 0
        return (gates * attention_mask.to(gates.dtype)).to(cause_logits.dtype)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        gates: torch.Tensor | None = None,
        emotion_ids: torch.Tensor | None = None,
        reasoner_only: bool = False,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = True,
    ) -> EmpathyEncoderOutput:
        """Run the reasoner, then the encoder on word + position + emotion embeddings.

        ``gates`` (B, S) / ``emotion_ids`` (B,) replace the reasoner's predictions (analysis; e.g. gold causes).
        ``reasoner_only`` stops after the reasoner (reasoner pre-training)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        emotion_logits, cause_logits = self.reasoner(input_ids, attention_mask)
        if reasoner_only:
            return EmpathyEncoderOutput(
                emotion_logits=emotion_logits, cause_logits=cause_logits, attention_mask=attention_mask
            )
        config = self.config
        detach = not config.joint_training
        if emotion_ids is None:
            emotion_ids = emotion_logits.argmax(dim=-1)
        emotion_vector = self.emotion_embed(emotion_ids) if self.emotion_embed is not None else None
        if config.uses_causes and gates is None:
            gates = self.gates_from(cause_logits.detach() if detach else cause_logits, attention_mask)
        elif not config.uses_causes:
            gates = None
        states = self.embed(input_ids, emotion_vector)
        bias = padding_bias(attention_mask, states.dtype)
        for layer in self.layers:
            states = layer(states, bias)
        return EmpathyEncoderOutput(
            last_hidden_state=self.norm(states),
            gates=gates,
            emotion_logits=emotion_logits,
            cause_logits=cause_logits,
            emotion_ids=emotion_ids,
            emotion_vector=emotion_vector,
            attention_mask=attention_mask,
        )


class EmpathyDecoder(nn.Module):
    def __init__(self, config: EmpathyConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(config, index) for index in range(config.decoder_layers))
        self.norm = nn.LayerNorm(config.d_model)

    def forward(
        self,
        states: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor,
        gates: torch.Tensor | None,
        cache: EncoderDecoderCache | None,
        past_length: int,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        length = states.size(1)
        total = past_length + length
        query_positions = torch.arange(past_length, total, device=states.device)[:, None]
        key_positions = torch.arange(total, device=states.device)[None, :]
        self_bias = (key_positions > query_positions).to(states.dtype)[None, None] * NEG_INF
        memory_bias = padding_bias(memory_mask, states.dtype)
        gate_weights = gates[:, None, None, :] if gates is not None else None
        gated = []
        for layer in self.layers:
            states, weights = layer(states, self_bias, memory, memory_bias, gate_weights, cache)
            if weights is not None:
                gated.append(weights)
        return self.norm(states), tuple(gated)


class EmpathyPreTrainedModel(PreTrainedModel):
    config_class = EmpathyConfig
    base_model_prefix = "empathy"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False
    _supports_cache_class = True

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.d_model**-0.5)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class EmpathyForConditionalGeneration(EmpathyPreTrainedModel, GenerationMixin):
    """Emotion reasoner + gated-attention Transformer encoder–decoder (Gao et al. 2021); see the module docstring.

    ``forward(input_ids, attention_mask, labels, emotion_labels, cause_labels)`` returns :class:`EmpathyOutput`;
    ``generate(input_ids, attention_mask, ...)`` works with greedy search, beam search and sampling, with or without
    the KV cache. ``stage="reasoner"`` runs and trains only the reasoner (its pre-training).
    """

    # output layer tied to the word embeddings (the decoder reads the encoder's word embeddings directly)
    _tied_weights_keys = {"lm_head.weight": "encoder.embed_tokens.weight"}
    # not saved (tied): lets the Trainer re-tie instead of warning when it loads the best checkpoint
    _keys_to_ignore_on_save = ["lm_head.weight"]

    def __init__(self, config: EmpathyConfig) -> None:
        super().__init__(config)
        self.encoder = EmpathyEncoder(config)
        self.decoder = EmpathyDecoder(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()
        self._set_generation_defaults()

    def _set_generation_defaults(self) -> None:
        config = self.config
        if self.generation_config is not None:
            self.generation_config.decoder_start_token_id = config.decoder_start_token_id
            self.generation_config.bos_token_id = config.bos_token_id
            self.generation_config.eos_token_id = config.eos_token_id
            self.generation_config.pad_token_id = config.pad_token_id
            self.generation_config.max_new_tokens = config.max_response_tokens
            self.generation_config.max_length = None

    def get_input_embeddings(self) -> nn.Embedding:
        return self.encoder.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.encoder.embed_tokens = value

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    def get_encoder(self, modality: str | None = None) -> EmpathyEncoder:
        return self.encoder

    # ----- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_encoder(cls, encoder_model_or_path: Any, *, tokenizer: Any = None, **config_kwargs: Any):
        """A fresh model over a pretrained encoder (a folder, Hub id or ``PreTrainedModel``): its vocabulary size and,
        by ``encoder_init``, its word embeddings (→ the generator's and the reasoner's; output layer tied) and the
        encoder itself as the reasoner. Special tokens come from ``tokenizer`` (or the folder's tokenizer): [CLS]
        starts the source and the response, [SEP] separates utterances and ends the response, [PAD] pads."""
        if isinstance(encoder_model_or_path, PreTrainedModel):
            encoder = encoder_model_or_path
        else:
            encoder = AutoModel.from_pretrained(str(encoder_model_or_path))
            if tokenizer is None:
                try:
                    tokenizer = AutoTokenizer.from_pretrained(str(encoder_model_or_path))
                except (OSError, ValueError):
                    tokenizer = None
        encoder_config = encoder.config
        init = config_kwargs.get("encoder_init", "embeddings")
        config_kwargs.setdefault("vocab_size", encoder_config.vocab_size)
        if init != "random":
            config_kwargs.setdefault("d_model", encoder_config.hidden_size)
        if init == "reasoner":
            config_kwargs["encoder"] = encoder_config.to_dict()
        if tokenizer is not None:
            config_kwargs.update(special_token_ids(tokenizer))
        config_kwargs.setdefault("hf_ecpe_version", getattr(cls.config_class, "library_version", None))
        model = cls(cls.config_class(**config_kwargs))
        if init != "random":
            words = encoder.get_input_embeddings().weight
            if words.shape != model.encoder.embed_tokens.weight.shape:
                raise ValueError(
                    f"encoder_init={init!r}: the encoder's word embeddings are {tuple(words.shape)} but the model's are "
                    f"{tuple(model.encoder.embed_tokens.weight.shape)}; set d_model to the encoder's hidden size "
                    f"({encoder_config.hidden_size}) or encoder_init='random'"
                )
            with torch.no_grad():
                model.encoder.embed_tokens.weight.copy_(words)
                reasoner = model.encoder.reasoner
                if reasoner.embed_tokens is not None:
                    reasoner.embed_tokens.weight.copy_(words)
        if init == "reasoner":
            model.encoder.reasoner.pretrained.load_state_dict(encoder.state_dict())
        return model

    def sync_special_tokens(self, tokenizer: Any) -> None:
        """Set the special-token ids of config and generation config from ``tokenizer`` ([CLS], [SEP], [PAD])."""
        for key, value in special_token_ids(tokenizer).items():
            setattr(self.config, key, value)
        self._set_generation_defaults()

    # ----- forward ------------------------------------------------------------------------------------------

    def shift_right(self, labels: torch.Tensor) -> torch.Tensor:
        start = torch.full_like(labels[:, :1], self.config.decoder_start_token_id)
        shifted = torch.cat([start, labels[:, :-1]], dim=1)
        return shifted.masked_fill(shifted == -100, self.config.pad_token_id)

    def reasoner_loss(
        self,
        emotion_logits: torch.Tensor,
        cause_logits: torch.Tensor | None,
        emotion_labels: torch.Tensor | None,
        cause_labels: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Eq. 4 as the reference computes it: emotion NLL (label-smoothed) and the token cause NLL averaged over
        the labelled tokens (labels -100 at [CLS] and padding)."""
        loss_emotion = loss_cause = None
        if emotion_labels is not None and (emotion_labels != -100).any():
            loss_emotion = F.cross_entropy(
                emotion_logits.float(),
                emotion_labels,
                ignore_index=-100,
                label_smoothing=self.config.emotion_label_smoothing,
            )
        if cause_logits is not None and cause_labels is not None and (cause_labels != -100).any():
            loss_cause = F.cross_entropy(
                cause_logits.float().reshape(-1, 2), cause_labels.reshape(-1).long(), ignore_index=-100
            )
        return loss_emotion, loss_cause

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: EmpathyEncoderOutput | None = None,
        cache: Cache | None = None,
        labels: torch.Tensor | None = None,
        emotion_labels: torch.Tensor | None = None,
        cause_labels: torch.Tensor | None = None,
        gates: torch.Tensor | None = None,
        use_cache: bool | None = None,
        stage: str | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = True,
        **kwargs: Any,
    ) -> EmpathyOutput:
        """Args:
        input_ids / attention_mask: the context ``[CLS] u_1 [SEP] … u_k [SEP]`` (B, S).
        labels: response ids ending with [SEP] (B, T; -100 at padding); ``decoder_input_ids`` default to them
            shifted right behind [CLS].
        emotion_labels: (B,) context emotion ids (-100: unknown); cause_labels: (B, S) 0/1 token labels (-100 at
            [CLS] and padding).
        gates: (B, S) gates to use instead of the reasoner's (e.g. gold causes, for analysis).
        stage: ``"reasoner"`` computes only the reasoner and L_r (reasoner pre-training); default: everything.
        cache: an ``EncoderDecoderCache`` (``generate`` passes it; ``past_key_values`` is accepted as its old name).
        """
        if cache is None:
            cache = kwargs.pop("past_key_values", None)
        if stage not in (None, "joint", "reasoner"):
            raise ValueError(f"stage must be 'reasoner' or 'joint', got {stage!r}")
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids, attention_mask, gates=gates, reasoner_only=stage == "reasoner")
        loss_emotion, loss_cause = self.reasoner_loss(
            encoder_outputs.emotion_logits, encoder_outputs.cause_logits, emotion_labels, cause_labels
        )
        reasoner_terms = [term for term in (loss_emotion, loss_cause) if term is not None]
        loss_reasoner = sum(reasoner_terms) if reasoner_terms else None
        if stage == "reasoner":
            return EmpathyOutput(
                loss=loss_reasoner,
                loss_emotion=_detached(loss_emotion),
                loss_cause=_detached(loss_cause),
                emotion_logits=encoder_outputs.emotion_logits,
                cause_logits=encoder_outputs.cause_logits,
            )

        if decoder_input_ids is None:
            if labels is None:
                raise ValueError("give decoder_input_ids or labels (the response) to run the decoder")
            decoder_input_ids = self.shift_right(labels)
        if use_cache and cache is None:
            cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        if not use_cache:
            cache = None
        past_length = cache.get_seq_length() if cache is not None else 0
        memory_mask = encoder_outputs.attention_mask
        if memory_mask is None:
            memory_mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
        states = self.encoder.embed(decoder_input_ids, encoder_outputs.emotion_vector, offset=past_length)
        states, gated = self.decoder(
            states, encoder_outputs.last_hidden_state, memory_mask, encoder_outputs.gates, cache, past_length
        )
        logits = self.lm_head(states)

        loss = loss_generation = None
        if labels is not None:
            loss_generation = F.cross_entropy(
                logits.float().reshape(-1, logits.size(-1)),
                labels.reshape(-1),
                ignore_index=-100,
                label_smoothing=self.config.label_smoothing,
            )
            loss = loss_generation
            if loss_reasoner is not None:
                # the paper trains jointly (Eq. 7); the reference freezes the reasoner but still adds (logs) L_r
                loss = loss + (loss_reasoner if self.config.joint_training else loss_reasoner.detach())
        return EmpathyOutput(
            loss=loss,
            logits=logits,
            loss_generation=_detached(loss_generation),
            loss_emotion=_detached(loss_emotion),
            loss_cause=_detached(loss_cause),
            emotion_logits=encoder_outputs.emotion_logits,
            cause_logits=encoder_outputs.cause_logits,
            gates=encoder_outputs.gates,
            cache=cache,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            gated_attentions=gated if output_attentions else None,
        )

    def prepare_inputs_for_generation(
        self,
        input_ids: torch.Tensor,
        cache: Cache | None = None,
        attention_mask: torch.Tensor | None = None,
        encoder_outputs: EmpathyEncoderOutput | None = None,
        use_cache: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Only the new token when a cache holds the past ones; the encoder outputs (gates, emotion, H) as given."""
        if cache is None:
            cache = kwargs.get("past_key_values")
        if use_cache and cache is not None and cache.get_seq_length() > 0:
            input_ids = input_ids[:, cache.get_seq_length() :]
        return {
            "decoder_input_ids": input_ids,
            "encoder_outputs": encoder_outputs,
            "attention_mask": attention_mask,
            "cache": cache if use_cache else None,
            "use_cache": use_cache,
        }

    def _reorder_cache(self, cache: Cache, beam_idx: torch.Tensor) -> Cache:
        cache.reorder_cache(beam_idx)
        return cache

    def cause_probabilities(self, cause_logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(cause_logits.float(), dim=-1)[..., 1]

    # ----- prediction ---------------------------------------------------------------------------------------

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
        """A reply to each conversation, with the emotion and the causes the reasoner recognised in it.

        Args:
            conversations: one conversation (its utterances in order: the context the reply follows) or a list of
                them.
            speakers: the speaker of each utterance (per conversation for a list), or ``None``; checked against the
                utterances, not read: the model reads the utterances in order.
            tokenizer: the model's tokenizer; default: the one saved with the model (:func:`default_tokenizer`).
            batch_size: conversations per ``generate`` call (right-padded).
            cause_threshold: P(cause) above which a word piece, or an utterance (mean over its word pieces), is a
                cause.
            generate_kwargs: ``generate()`` arguments on top of the saved ``GenerationConfig`` (``max_new_tokens``,
                ``num_beams``, ``do_sample``, ``top_k``, ``num_return_sequences``, ...).

        Returns:
            a :class:`ResponsePrediction` for one conversation, a list of them for a list (in order).
        """
        single, batch = checked_conversations(conversations, speakers, cause_threshold, batch_size)
        tokenizer = tokenizer if tokenizer is not None else default_tokenizer(self)
        was_training = self.training
        self.eval()
        try:
            predictions = [
                prediction
                for start in range(0, len(batch), batch_size)
                for prediction in self._respond(
                    batch[start : start + batch_size], tokenizer, float(cause_threshold), generate_kwargs
                )
            ]
        finally:
            self.train(was_training)
        return predictions[0] if single else predictions

    def _respond(
        self,
        conversations: list[list[str]],
        tokenizer: Any,
        cause_threshold: float,
        generate_kwargs: dict[str, Any],
    ) -> list[ResponsePrediction]:
        """:meth:`predict` on one batch of validated conversations."""
        end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        sources = [
            encode_context(tokenizer, utterances, self.config.max_position_embeddings) for utterances in conversations
        ]
        width = max(len(ids) for ids, _ in sources)
        input_ids = torch.full((len(sources), width), tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(sources), width), dtype=torch.long)
        for b, (ids, _) in enumerate(sources):
            input_ids[b, : len(ids)] = torch.tensor(ids)
            attention_mask[b, : len(ids)] = 1
        device = next(self.parameters()).device
        input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
        encoded = self.get_encoder()(input_ids, attention_mask)
        generated = self.generate(
            input_ids=input_ids, attention_mask=attention_mask, encoder_outputs=encoded, **generate_kwargs
        )
        per_input = generated.size(0) // len(sources)
        texts = decode_texts(tokenizer, generated[:, 1:].cpu())  # after the decoder start token
        emotion_probabilities = torch.softmax(encoded.emotion_logits.float(), dim=-1)
        cause = self.cause_probabilities(encoded.cause_logits) if encoded.cause_logits is not None else None
        predictions = []
        for b, (utterances, (ids, owners)) in enumerate(zip(conversations, sources)):
            n = len(ids)
            score, index = emotion_probabilities[b].max(dim=-1)
            tokens = tokenizer.convert_ids_to_tokens(ids)
            probabilities = cause[b, :n].tolist() if cause is not None else None
            gates = encoded.gates[b, :n].float().tolist() if cause is not None else None
            cause_tokens: list[CauseToken] = []
            per_utterance: dict[int, list[float]] = {}
            if probabilities is not None:
                for position, owner in enumerate(owners):
                    if owner < 0 or ids[position] == end:  # [CLS] and the separators belong to no utterance's text
                        continue
                    per_utterance.setdefault(owner, []).append(probabilities[position])
                    if probabilities[position] > cause_threshold:
                        cause_tokens.append(
                            CauseToken(tokens[position], owner, probabilities[position], gates[position])
                        )
            means = {owner: sum(values) / len(values) for owner, values in sorted(per_utterance.items())}
            responses = texts[b * per_input : (b + 1) * per_input]
            predictions.append(
                ResponsePrediction(
                    response=responses[0],
                    responses=responses,
                    emotion=self.config.emotion_labels[int(index)],
                    emotion_score=float(score),
                    cause_utterances=[
                        CauseUtterance(owner, utterances[owner], mean)
                        for owner, mean in means.items()
                        if mean > cause_threshold
                    ],
                    cause_tokens=cause_tokens,
                    tokens=tokens,
                    token_utterances=list(owners),
                    cause_probabilities=probabilities,
                    gates=gates,
                )
            )
        return predictions


def _detached(value: torch.Tensor | None) -> torch.Tensor | None:
    return value.detach() if value is not None else None


def checked_conversations(
    conversations: Any, speakers: Any, cause_threshold: float, batch_size: int, *, non_empty: bool = False
) -> tuple[bool, list[list[str]]]:
    """The checks of a response generator's ``predict``: ``(single, batch)`` — whether one conversation was given,
    and the conversations as lists of utterances; ``TypeError`` / ``ValueError`` saying what is wrong. With
    ``non_empty`` an utterance must hold more than white space."""
    if isinstance(conversations, (str, dict)):
        raise TypeError(
            "conversations must be a list of utterance strings (or a list of such lists); "
            'pipeline("empathetic-response") also reads text and {"utterances": ...} dicts'
        )
    single = len(conversations) > 0 and all(isinstance(utterance, str) for utterance in conversations)
    batch = [list(conversations)] if single else [list(conversation) for conversation in conversations]
    who = [speakers] if single else list(speakers) if speakers is not None else [None] * len(batch)
    if len(who) != len(batch):
        raise ValueError(f"got speakers for {len(who)} conversations, but {len(batch)} conversations")
    for index, (utterances, names) in enumerate(zip(batch, who)):
        usable = all(isinstance(u, str) and (u.strip() or not non_empty) for u in utterances)
        if not utterances or not usable:
            what = "a non-empty string" if non_empty else "a string"
            raise ValueError(f"conversation {index}: give at least one utterance, each {what}")
        if names is not None and len(names) != len(utterances):
            raise ValueError(
                f"conversation {index}: {len(names)} speakers for {len(utterances)} utterances; one per utterance"
            )
    if not 0.0 <= float(cause_threshold) <= 1.0:
        raise ValueError(f"cause_threshold is a probability in [0, 1], got {cause_threshold}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return single, batch


# Copied from hf_ecpe.prediction.default_tokenizer
def default_tokenizer(model: Any) -> Any:
    """The tokenizer saved with ``model`` (``AutoTokenizer`` on ``model.name_or_path``), loaded once and kept on the
    model; ``ValueError`` when the model was not loaded from a folder or Hub id. A model that runs as remote code
    (loaded with ``trust_remote_code``) reads its folder's config, whose class is that code, with the same trust."""
    tokenizer = getattr(model, "_prediction_tokenizer", None)
    if tokenizer is None:
        name = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None), "_name_or_path", None)
        if not name:
            raise ValueError(
                f"this {type(model).__name__} was not loaded from a folder, so it has no saved tokenizer: pass "
                "tokenizer=... (the encoder's tokenizer) to predict"
            )
        remote = type(model).__module__.startswith("transformers_modules.")
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=remote)
        model._prediction_tokenizer = tokenizer
    return tokenizer


def encode_context(tokenizer: Any, utterances: Sequence[str], max_length: int) -> tuple[list[int], list[int]]:
    """``[CLS] u_1 [SEP] u_2 [SEP] …`` ids and, per token, its utterance index (-1 for [CLS]); longer contexts keep
    [CLS] and the last ``max_length - 1`` tokens (the oldest utterances are cut)."""
    start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    ids, owners = [start], [-1]
    for index, utterance in enumerate(utterances):
        pieces = tokenizer(utterance, add_special_tokens=False)["input_ids"] + [end]
        ids.extend(pieces)
        owners.extend([index] * len(pieces))
    if len(ids) > max_length:
        keep = max_length - 1
        ids, owners = [start] + ids[-keep:], [-1] + owners[-keep:]
    return ids, owners


def to_corpus_tokens(text: str) -> str:
    """A decoded WordPiece text in the tokenisation of the ED corpus: ``i ' m`` → ``i 'm``, ``n ' t`` → ``n't``."""
    text = re.sub(r"\bn ' t\b", " n't", text)
    text = re.sub(r" ' (m|s|re|ve|ll|d)\b", r" '\1", text)
    return " ".join(text.split())


def decode_texts(tokenizer: Any, ids: Any) -> list[str]:
    """Token id rows (a 2-D tensor or array, or lists; -100 padding allowed) → corpus-tokenised texts, cut at the
    first [SEP]/EOS.

    Word pieces are joined by hand (``##`` continues a word) and every word is separated by one space: the
    tokenizers decoder's clean-up would glue punctuation to words (``great .`` → ``great.``), which is not the
    corpus tokenisation the references are in."""
    end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    special = set(tokenizer.all_special_ids)
    texts = []
    for row in ids.tolist() if hasattr(ids, "tolist") else ids:
        row = [int(token) for token in row if int(token) >= 0]
        if end in row:
            row = row[: row.index(end)]
        words: list[str] = []
        for token in tokenizer.convert_ids_to_tokens([token for token in row if token not in special]):
            if token.startswith("##") and words:
                words[-1] += token[2:]
            else:
                words.append(token)
        texts.append(to_corpus_tokens(" ".join(words)))
    return texts


def special_token_ids(tokenizer: Any) -> dict[str, int]:
    """``pad_token_id`` / ``bos_token_id`` (= [CLS], which starts source and response) / ``eos_token_id`` (= [SEP])
    / ``decoder_start_token_id`` of a BERT-style tokenizer."""
    start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    if start is None or end is None or tokenizer.pad_token_id is None:
        raise ValueError(
            "the tokenizer needs [CLS]/[SEP]/[PAD] (or BOS/EOS/PAD) tokens: the source is [CLS] u_1 [SEP] u_2 [SEP] …"
        )
    return {
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": start,
        "eos_token_id": end,
        "decoder_start_token_id": start,
    }


__all__ = [
    "DEFAULT_CAUSE_THRESHOLD",
    "CauseToken",
    "CauseUtterance",
    "EmotionReasoner",
    "EmpathyEncoder",
    "EmpathyEncoderOutput",
    "EmpathyForConditionalGeneration",
    "EmpathyOutput",
    "EmpathyPreTrainedModel",
    "ResponsePrediction",
    "decode_texts",
    "encode_context",
    "gated_softmax",
    "sinusoid_positions",
    "checked_conversations",
    "special_token_ids",
    "to_corpus_tokens",
]
