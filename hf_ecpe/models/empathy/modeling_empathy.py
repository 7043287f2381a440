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

This file imports only ``torch``, ``transformers`` and its configuration, so ``save_pretrained`` ships it as remote
code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, AutoModel, GenerationMixin, PreTrainedModel
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
                    from transformers import AutoTokenizer

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


def _detached(value: torch.Tensor | None) -> torch.Tensor | None:
    return value.detach() if value is not None else None


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
    "EmotionReasoner",
    "EmpathyEncoder",
    "EmpathyEncoderOutput",
    "EmpathyForConditionalGeneration",
    "EmpathyOutput",
    "EmpathyPreTrainedModel",
    "gated_softmax",
    "sinusoid_positions",
    "special_token_ids",
]
