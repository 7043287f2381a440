"""KD-ECS (Chen et al., AAAI 2024): coarse-to-fine distillation for emotion-causal span pair extraction.

Two models over any pretrained language model, each one prompt per candidate pair (u_i, u_j), j <= i:

- :class:`KdEcsTeacherModel` (Eq. 1-4): utterance-level causality as causal-connective prediction. A masked LM reads
  the connective at the mask token; a causal LM (the paper's LLM teacher, optionally with LoRA) reads it as the next
  token after "... is". Its logits are restricted to the verbaliser (Table 3: *because, as, since, thus* / *other*);
  the relation probability is the mass of the causal words.
- :class:`KdEcsStudentModel` (Eq. 5-13): one masked-LM prompt with four added tokens: the emotion of u_i from the
  MLM head at ``<mask_emo>`` restricted to the emotion words (Eq. 6), the connective distribution at ``<mask_cau>``
  (Eq. 7), the causal span's start / end from the ``<mask_st>`` / ``<mask_ed>`` states (Eq. 8-9, restricted to the
  tokens of u_j), and the loss L = α (L_emo + L_span + w_c L_conn) + (1 - α) τ² KL (Eq. 10-13).

Prompts, tokenizer binding, prompt batches and decoding to character spans live in ``processing_kd_ecs.py``
(``predict`` runs them: conversations in, :class:`~processing_kd_ecs.SpanPairPrediction` out); the training examples
and collator in ``hf_ecpe.data.kd_ecs``. This file imports only ``torch``, ``transformers`` and its folder's files
(``peft`` only inside a ``try`` when LoRA is on), so that ``save_pretrained`` ships a working remote-code copy.
Equations → code: ``docs/kd-ecs.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import transformers
from torch import nn
from torch.nn import functional as F
from transformers import AutoConfig, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput, logging

from .configuration_kd_ecs import (
    STUDENT_MASK_TOKENS,
    KdEcsConfig,
    KdEcsStudentConfig,
    KdEcsTeacherConfig,
    sanitize_encoder_config,
)
from .processing_kd_ecs import (
    SpanPairPrediction,
    add_student_tokens,
    bind_tokenizer,
    predict_conversations,
)

logger = logging.get_logger(__name__)

#: Value of masked-out span logits (finite, so that softmaxes never produce NaN).
SPAN_LOGIT_FILL = -1e4
# Copied from hf_ecpe.losses.kd_ecs.IGNORE_INDEX
IGNORE_INDEX = -100


# ---------------------------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class KdEcsTeacherOutput(ModelOutput):
    """Output of :class:`KdEcsTeacherModel`.

    Attributes:
        loss / loss_connective: cross-entropy on the gold relation (Eq. 4; ``connective_target``), when labels given.
        logits: `(B, K)` verbaliser logits at the connective position (causal words first) — what the student distils.
        causal_probability: `(B,)` softmax mass of the causal words.
    """

    loss: torch.FloatTensor | None = None
    loss_connective: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    causal_probability: torch.FloatTensor | None = None


@dataclass
class KdEcsStudentOutput(ModelOutput):
    """Output of :class:`KdEcsStudentModel` (B prompts of T tokens).

    Attributes:
        loss: α (L_emo + L_span + w_c L_conn) + (1 - α) τ² L_KD (Eq. 13; terms absent from the batch are left out).
        loss_emotion / loss_span / loss_connective / loss_relation / loss_kd: the components (logged by the trainer).
        emotion_logits: `(B, E)` emotion-word logits at ``<mask_emo>`` (None with ``given_emotion``).
        logits: `(B, K)` verbaliser logits at ``<mask_cau>`` (``causal_head="connective"``), else None.
        relation_logits: `(B, 2)` the ``[CLS]`` head (``causal_head="cls"``), else None.
        causal_probability: `(B,)` probability that u_j causes u_i's emotion (the decision reads it against
            ``config.decode_threshold``).
        start_logits / end_logits: `(B, T)` span logits, ``SPAN_LOGIT_FILL`` outside the allowed positions.
        span_mask: `(B, T)` the allowed positions (u_j's tokens, plus the null position 0 when
            ``causal_head="span"``).
    """

    loss: torch.FloatTensor | None = None
    loss_emotion: torch.FloatTensor | None = None
    loss_span: torch.FloatTensor | None = None
    loss_connective: torch.FloatTensor | None = None
    loss_relation: torch.FloatTensor | None = None
    loss_kd: torch.FloatTensor | None = None
    emotion_logits: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    relation_logits: torch.FloatTensor | None = None
    causal_probability: torch.FloatTensor | None = None
    start_logits: torch.FloatTensor | None = None
    end_logits: torch.FloatTensor | None = None
    span_mask: torch.BoolTensor | None = None


# ---------------------------------------------------------------------------------------------------------------
# Equations
# ---------------------------------------------------------------------------------------------------------------


def relation_probability(connective_logits: torch.Tensor, num_causal: int) -> torch.Tensor:
    """`(B,)` the softmax mass of the first ``num_causal`` verbaliser words (the causal relation)."""
    return connective_logits.float().softmax(-1)[:, :num_causal].sum(-1)


# Copied from hf_ecpe.losses.kd_ecs.connective_loss
def connective_loss(
    connective_logits: torch.Tensor, relation_labels: torch.Tensor, num_causal: int, target: str = "fixed"
) -> torch.Tensor | None:
    """Cross-entropy of the verbaliser distribution against the gold relation (1 causal, 0 not; -100 ignored).

    ``target="fixed"``: towards one golden word per relation, the first of its list (Eq. 4). ``"relation"``:
    -log of the relation's probability mass (any causal word is right). ``None`` when no example is labelled.
    """
    keep = relation_labels != IGNORE_INDEX
    if not bool(keep.any()):
        return None
    logits = connective_logits[keep].float()
    labels = relation_labels[keep].long()
    if target == "fixed":
        golden = torch.where(labels == 1, torch.zeros_like(labels), torch.full_like(labels, num_causal))
        return F.cross_entropy(logits, golden)
    log_probs = logits.log_softmax(-1)
    causal = log_probs[:, :num_causal].logsumexp(-1)
    other = log_probs[:, num_causal:].logsumexp(-1)
    return -torch.where(labels == 1, causal, other).mean()


# Copied from hf_ecpe.losses.kd_ecs.distillation_loss
def distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float, direction: str = "forward"
) -> torch.Tensor:
    """KL divergence between the temperature-softened verbaliser distributions, summed over words, mean over the batch.

    ``"forward"``: KL(teacher ‖ student) = Σ p_t (log p_t − log p_s), Eq. 12 (Hinton et al.). ``"reverse"``:
    KL(student ‖ teacher), what ``nn.KLDivLoss(reduction="batchmean")(log_softmax(teacher / τ), softmax(student / τ))``
    computes in the reference code (``cubenlp/CP_KD-for-IDRR``). The τ² factor of Eq. 13 is applied by the caller.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} differ: "
            "the teacher and the student must use the same verbaliser words"
        )
    log_student = (student_logits.float() / temperature).log_softmax(-1)
    log_teacher = (teacher_logits.detach().float() / temperature).log_softmax(-1)
    if direction == "forward":
        pointwise = log_teacher.exp() * (log_teacher - log_student)
    elif direction == "reverse":
        pointwise = log_student.exp() * (log_student - log_teacher)
    else:
        raise ValueError(f"direction must be 'forward' or 'reverse', got {direction!r}")
    return pointwise.sum(-1).mean()


def best_spans(
    start_logits: torch.Tensor, end_logits: torch.Tensor, span_mask: torch.Tensor, max_span_tokens: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The best span of each row: ``start <= end``, both allowed by ``span_mask``, at most ``max_span_tokens`` long.

    Returns `(B,)` start and end token positions and their score ``start_logit + end_logit``; a row without an
    allowed position gets ``(-1, -1, -inf)``.
    """
    length = start_logits.size(1)
    positions = torch.arange(length, device=start_logits.device)
    offset = positions[None, :] - positions[:, None]  # end - start
    allowed = (offset >= 0) & (offset < max_span_tokens)
    allowed = allowed[None] & span_mask[:, :, None].bool() & span_mask[:, None, :].bool()
    scores = start_logits.float()[:, :, None] + end_logits.float()[:, None, :]
    scores = scores.masked_fill(~allowed, float("-inf")).flatten(1)
    best, flat = scores.max(-1)
    start, end = flat // length, flat % length
    none = torch.isinf(best)
    return start.masked_fill(none, -1), end.masked_fill(none, -1), best


# ---------------------------------------------------------------------------------------------------------------
# Backbone helpers
# ---------------------------------------------------------------------------------------------------------------


def _verbaliser_ids(config, name: str) -> list[int]:
    ids = getattr(config, name, None)
    if not ids:
        raise ValueError(
            f"{type(config).__name__}.{name} is not set: build the model with from_encoder(path) (it reads the "
            "tokenizer there) or pass the batch through hf_ecpe.data.kd_ecs.KdEcsCollator, which binds the tokenizer"
        )
    return list(ids)


def _head_of(backbone: PreTrainedModel) -> nn.Module | None:
    """The prediction head of a model with a head: its one child module besides the base model."""
    base = getattr(backbone, "base_model", backbone)
    if base is backbone:
        return None
    others = [module for module in backbone.children() if module is not base]
    return others[0] if len(others) == 1 else None


class _Backbone:
    """Runs a language model's base model and applies its LM head only where asked (not over every position)."""

    def __init__(self, model: PreTrainedModel, kind: str) -> None:
        self.model = model
        self.kind = kind

    def hidden_states(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        base = getattr(self.model, "base_model", self.model)
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask, "return_dict": True}
        if token_type_ids is not None and getattr(self.model.config, "type_vocab_size", 0):
            kwargs["token_type_ids"] = token_type_ids
        if base is self.model:
            raise ValueError(f"{type(self.model).__name__} has no LM head (build the backbone with a head)")
        return base(**kwargs).last_hidden_state

    def vocabulary_logits(self, states: torch.Tensor) -> torch.Tensor:
        """`(..., V)` LM-head logits of some hidden states."""
        if self.kind == "AutoModelForCausalLM":
            return self.model.get_output_embeddings()(states)
        head = _head_of(self.model)
        if head is None:
            raise ValueError(f"cannot find the MLM head of {type(self.model).__name__}")
        return head(states)


def _gather(states: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    return states[torch.arange(states.size(0), device=states.device), positions]


def _token_positions(input_ids: torch.Tensor, token_id: int, name: str) -> torch.Tensor:
    """`(B,)` the position of ``token_id`` in each row, which must occur exactly once."""
    hits = input_ids == token_id
    counts = hits.sum(-1)
    if bool((counts != 1).any()):
        bad = (counts != 1).nonzero().flatten().tolist()[:5]
        raise ValueError(
            f"rows {bad} of input_ids do not contain {name} (id {token_id}) exactly once: build the prompts with "
            "hf_ecpe.data.kd_ecs (the template must keep it, and history truncation never removes it)"
        )
    return hits.float().argmax(-1)


# ---------------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------------


class KdEcsPreTrainedModel(PreTrainedModel):
    base_model_prefix = "backbone"
    supports_gradient_checkpointing = True
    accepts_loss_kwargs = False  # per-batch mean losses; the Trainer keeps dividing by GA steps

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """BERT-style initialisation of the task heads; the backbone (a ``PreTrainedModel``) initialises itself."""
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                init.zeros_(module.bias)

    @property
    def runner(self) -> _Backbone:
        """The backbone's base model + LM head, applied separately (a plain wrapper, not a submodule)."""
        return _Backbone(self.backbone, self.config.encoder_auto_class)

    def _build_backbone(self, config, backbone: PreTrainedModel | None) -> PreTrainedModel:
        if backbone is None:
            if config.encoder is None:
                raise ValueError(
                    f"{type(config).__name__}.encoder is None: give the backbone config as a dict or use "
                    f"{type(self).__name__}.from_encoder(...)"
                )
            encoder_config = AutoConfig.for_model(**sanitize_encoder_config(config.encoder))
            auto_class = _encoder_auto_class(config.encoder_auto_class)
            backbone = auto_class.from_config(encoder_config, dtype=_float_dtype(config), trust_remote_code=False)
        elif config.encoder is None:
            config.encoder = backbone.config.to_dict()
        return backbone

    @classmethod
    def _backbone_from(cls, encoder_model_or_path, auto_name: str, tokenizer=None):
        """(backbone with its head, tokenizer or None): a path is loaded with its tokenizer; a loaded model without
        the head gets one (for an MLM: ``AutoModelForMaskedLM.from_config`` + the base weights; the decoder is tied
        to the word embeddings, the head's transform is freshly initialised)."""
        auto_class = _encoder_auto_class(auto_name)
        if isinstance(encoder_model_or_path, PreTrainedModel):
            model = encoder_model_or_path
        else:  # a checkpoint without the head (MiniLM) gets a new one, its decoder tied to the word embeddings
            path = str(encoder_model_or_path)
            model = auto_class.from_pretrained(path, dtype=torch.float32, trust_remote_code=False)
            if tokenizer is None:
                tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        mapping = getattr(auto_class, "_model_mapping", None)
        try:
            expected = mapping[type(model.config)]
        except (KeyError, TypeError):
            expected = None
        if expected is not None and not isinstance(model, expected):
            base = getattr(model, "base_model", model)
            with_head = auto_class.from_config(model.config, dtype=torch.float32, trust_remote_code=False)
            weights = {k: v for k, v in base.state_dict().items() if not k.startswith("pooler.")}  # MLMs have none
            missing, unexpected = with_head.base_model.load_state_dict(weights, strict=False)
            if unexpected or [key for key in missing if "pooler" not in key]:
                raise ValueError(
                    f"cannot put the weights of {type(model).__name__} under {type(with_head).__name__}: missing "
                    f"{missing[:5]}, unexpected {unexpected[:5]}"
                )
            with_head.tie_weights()
            model = with_head
        return model.to(torch.float32), tokenizer

    def _check_version(self) -> None:
        library_version = getattr(type(self.config), "library_version", None)
        saved_version = getattr(self.config, "hf_ecpe_version", None)
        if library_version and saved_version and saved_version != library_version:
            logger.warning(
                "This %s checkpoint was created with hf_ecpe %s; you are running %s.",
                type(self).__name__,
                saved_version,
                library_version,
            )

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """``PreTrainedModel.from_pretrained`` in float32 unless ``dtype`` is given; warns on another hf_ecpe version."""
        if kwargs.get("dtype") is None and kwargs.get("torch_dtype") is None:
            kwargs["dtype"] = torch.float32
        model = super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        model._check_version()
        return model

    def predict(
        self,
        conversations: Sequence[str] | Sequence[Sequence[str]],
        speakers: Sequence[str] | Sequence[Sequence[str] | None] | None = None,
        *,
        emotions: Sequence[str] | Sequence[Sequence[str] | None] | None = None,
        tokenizer: Any = None,
        batch_size: int = 8,
        prompt_batch_size: int = 32,
        threshold: float | None = None,
        max_span_tokens: int | None = None,
    ) -> SpanPairPrediction | list[SpanPairPrediction]:
        """Emotion–cause span pairs of conversations (``processing_kd_ecs.predict_conversations``).

        Args:
            conversations: one conversation (a list of utterance strings) or a list of them.
            speakers: the speaker of every utterance (a list, or one list or None per conversation), optional.
            emotions: the gold emotion of every utterance (as ``speakers``): required by the models whose prompts
                carry it, the teacher (Eq. 1) and a ``given_emotion`` student, and refused by a student that predicts
                emotions itself. The teacher's pairs then have the given emotion as ``category`` and the whole cause
                utterance as ``cause_span``.
            tokenizer: the model's tokenizer (default: loaded once from the model's folder, ``name_or_path``, and
                kept on the model).
            batch_size: conversations whose prompts share forward passes (one prompt per candidate pair: a
                conversation of n utterances costs n (n + 1) / 2 prompts).
            prompt_batch_size: prompts per forward pass.
            threshold: the causal-probability threshold for this call (default ``config.decode_threshold``).
            max_span_tokens: the longest decoded span in tokens for this call (default ``config.max_span_tokens``);
                the config is not changed.

        Returns:
            a :class:`SpanPairPrediction` for one conversation, a list of them for a list (``.to_dict()`` is the
            emotion-cause pipeline's output).
        """
        if isinstance(conversations, str):
            raise TypeError("conversations must be a list of utterance strings (or a list of such lists), got a str")
        single = bool(conversations) and all(isinstance(unit, str) for unit in conversations)
        if single:
            conversations = [conversations]
            speakers = None if speakers is None else [speakers]
            emotions = None if emotions is None else [emotions]
        results = predict_conversations(
            self,
            self._prediction_tokenizer(tokenizer),
            conversations,
            speakers,
            emotions,
            batch_size=batch_size,
            prompt_batch_size=prompt_batch_size,
            threshold=threshold,
            max_span_tokens=max_span_tokens,
        )
        return results[0] if single else results

    def _prediction_tokenizer(self, tokenizer: Any = None) -> Any:
        """``tokenizer``, else the tokenizer of the model's folder, loaded once and kept on the model."""
        if tokenizer is not None:
            return tokenizer
        cached = getattr(self, "_cached_tokenizer", None)
        if cached is not None:
            return cached
        source = self.name_or_path
        if not source:
            raise ValueError(
                f"{type(self).__name__}.predict needs the model's tokenizer: pass tokenizer=... (this model was not "
                "loaded from a folder, so there is none to load)"
            )
        try:
            cached = transformers.AutoTokenizer.from_pretrained(source)
        except (OSError, ValueError) as err:
            raise ValueError(
                f"{type(self).__name__}.predict could not load a tokenizer from {source!r} ({err}): pass tokenizer=..."
            ) from err
        self._cached_tokenizer = cached
        return cached


class KdEcsTeacherModel(KdEcsPreTrainedModel):
    """The KD-ECS teacher: causal-connective prediction over a masked or causal LM (see the module docstring).

    Inputs: ``input_ids`` / ``attention_mask`` (right-padded) of the teacher prompts (``hf_ecpe.data.kd_ecs``),
    optional ``relation_labels`` `(B,)` (1 causal, 0 not, -100 ignored).
    """

    config_class = KdEcsTeacherConfig

    def __init__(self, config: KdEcsTeacherConfig, backbone: PreTrainedModel | None = None) -> None:
        super().__init__(config)
        backbone = self._build_backbone(config, backbone)
        if config.lora_r > 0:
            backbone = _inject_lora(backbone, config)
        self.backbone = backbone
        self.post_init()

    @classmethod
    def from_encoder(
        cls, encoder_model_or_path, *, tokenizer=None, encoder_auto_class: str | None = None, **config_kwargs
    ) -> KdEcsTeacherModel:
        """A new teacher on a pretrained LM (masked or causal, ``encoder_auto_class``); reads the verbaliser ids from
        the tokenizer (of the path, or ``tokenizer=``) and checks that every word is one token."""
        auto_name = encoder_auto_class or config_kwargs.pop("encoder_auto_class", None) or "AutoModelForMaskedLM"
        if isinstance(auto_name, type):
            auto_name = auto_name.__name__
        backbone, tokenizer = cls._backbone_from(encoder_model_or_path, auto_name, tokenizer)
        encoder_dict = backbone.config.to_dict()
        encoder_dict["dtype"] = "float32"
        config_kwargs.setdefault("hf_ecpe_version", cls.config_class.library_version)
        config_kwargs.setdefault("max_prompt_tokens", _default_max_tokens(backbone, tokenizer))
        config = cls.config_class(encoder=encoder_dict, encoder_auto_class=auto_name, **config_kwargs)
        if tokenizer is not None:
            bind_tokenizer(config, tokenizer)
        return cls(config, backbone=backbone)

    def connective_positions(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """`(B,)` where the connective is read: the mask token (MLM) or the last real token (causal LM)."""
        if self.config.encoder_auto_class == "AutoModelForCausalLM":
            return attention_mask.long().sum(-1) - 1
        mask_id = getattr(self.config, "mask_token_id", None)
        if mask_id is None:
            raise ValueError("KdEcsTeacherConfig.mask_token_id is not set (bind the tokenizer, see from_encoder)")
        return _token_positions(input_ids, mask_id, "the mask token")

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        relation_labels: torch.Tensor | None = None,
        **unused,
    ) -> KdEcsTeacherOutput:
        ids = _verbaliser_ids(self.config, "connective_token_ids")
        hidden = self.runner.hidden_states(input_ids, attention_mask, token_type_ids)
        states = _gather(hidden, self.connective_positions(input_ids, attention_mask))
        logits = self.runner.vocabulary_logits(states)[:, ids].float()
        num_causal = len(self.config.causal_connectives)
        loss = None
        if relation_labels is not None:
            loss = connective_loss(logits, relation_labels, num_causal, self.config.connective_target)
        return KdEcsTeacherOutput(
            loss=loss,
            loss_connective=None if loss is None else loss.detach(),
            logits=logits,
            causal_probability=relation_probability(logits, num_causal),
        )


class KdEcsStudentModel(KdEcsPreTrainedModel):
    """The KD-ECS student: emotion, connective and causal span from one masked-LM prompt (see the module docstring).

    Inputs (``hf_ecpe.data.kd_ecs.KdEcsCollator``): ``input_ids`` / ``attention_mask`` / ``token_type_ids`` of the
    student prompts with the added mask tokens, ``cause_token_mask`` `(B, T)` (the tokens of u_j), and for training
    ``emotion_labels`` (index into ``config.emotion_labels``), ``relation_labels`` (1 / 0), ``start_positions`` /
    ``end_positions`` (token positions of the gold span; -100 for no span), ``teacher_logits`` `(B, K)`.
    """

    config_class = KdEcsStudentConfig

    def __init__(self, config: KdEcsStudentConfig, backbone: PreTrainedModel | None = None) -> None:
        super().__init__(config)
        self.backbone = self._build_backbone(config, backbone)
        hidden_size = self.backbone.config.hidden_size
        dropout = getattr(self.backbone.config, "hidden_dropout_prob", 0.1)
        self.dropout = nn.Dropout(dropout if isinstance(dropout, float) else 0.1)
        if config.span_head == "prompt":
            if config.max_prompt_tokens is None:
                raise ValueError("KdEcsStudentConfig.max_prompt_tokens must be set for span_head='prompt' (Eq. 8-9)")
            self.span_start = nn.Linear(hidden_size, config.max_prompt_tokens)
            self.span_end = nn.Linear(hidden_size, config.max_prompt_tokens)
        else:
            self.span_token = nn.Linear(hidden_size, 2)
        if config.causal_head == "cls":
            self.relation_head = nn.Linear(hidden_size, 2)
        self.post_init()

    @classmethod
    def from_encoder(cls, encoder_model_or_path, *, tokenizer=None, **config_kwargs) -> KdEcsStudentModel:
        """A new student on a pretrained masked LM: adds the four mask tokens (``<mask_emo>``, ``<mask_cau>``,
        ``<mask_st>``, ``<mask_ed>``) after the vocabulary, resizes the embeddings and initialises the new rows from
        the ``[MASK]`` embedding (so the pretrained MLM head reads them as masks); reads the verbaliser ids from the
        tokenizer. The tokenizer (of the path, or ``tokenizer=``) gets the tokens added in place."""
        config_kwargs.pop("encoder_auto_class", None)
        backbone, tokenizer = cls._backbone_from(encoder_model_or_path, "AutoModelForMaskedLM", tokenizer)
        vocab_size = backbone.get_input_embeddings().weight.size(0)
        if tokenizer is not None:
            mask_ids = add_student_tokens(tokenizer)
        else:  # a loaded model without its tokenizer: the tokens come right after the vocabulary (checked later)
            mask_ids = {name: vocab_size + k for k, name in enumerate(STUDENT_MASK_TOKENS)}
        new_size = max(vocab_size, max(mask_ids.values()) + 1)
        if new_size > vocab_size:
            backbone.resize_token_embeddings(new_size, mean_resizing=False)
        mask_id = getattr(tokenizer, "mask_token_id", None) if tokenizer is not None else None
        embeddings = backbone.get_input_embeddings().weight
        with torch.no_grad():
            source = embeddings[mask_id] if mask_id is not None else embeddings[:vocab_size].mean(0)
            for token_id in mask_ids.values():
                embeddings[token_id] = source
        encoder_dict = backbone.config.to_dict()
        encoder_dict["dtype"] = "float32"
        config_kwargs.setdefault("hf_ecpe_version", cls.config_class.library_version)
        config_kwargs.setdefault("max_prompt_tokens", _default_max_tokens(backbone, tokenizer))
        config = cls.config_class(encoder=encoder_dict, mask_token_ids=mask_ids, **config_kwargs)
        if tokenizer is not None:
            bind_tokenizer(config, tokenizer)
        return cls(config, backbone=backbone)

    def _mask_id(self, name: str) -> int:
        ids = self.config.mask_token_ids
        if not ids or name not in ids:
            raise ValueError("KdEcsStudentConfig.mask_token_ids is not set: build the model with from_encoder")
        return int(ids[name])

    def span_logits(
        self, hidden: torch.Tensor, input_ids: torch.Tensor, span_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`(B, T)` start / end logits (Eq. 8-9 or the per-token head), ``SPAN_LOGIT_FILL`` outside ``span_mask``."""
        length = hidden.size(1)
        if self.config.span_head == "prompt":
            if length > self.config.max_prompt_tokens:
                raise ValueError(
                    f"prompts of {length} tokens exceed max_prompt_tokens={self.config.max_prompt_tokens}, the "
                    "positions of the span layers (Eq. 8-9)"
                )
            start_state = _gather(hidden, _token_positions(input_ids, self._mask_id("mask_st"), "<mask_st>"))
            end_state = _gather(hidden, _token_positions(input_ids, self._mask_id("mask_ed"), "<mask_ed>"))
            start = self.span_start(self.dropout(start_state))[:, :length]
            end = self.span_end(self.dropout(end_state))[:, :length]
        else:
            both = self.span_token(self.dropout(hidden))
            start, end = both[..., 0], both[..., 1]
        return (
            start.float().masked_fill(~span_mask, SPAN_LOGIT_FILL),
            end.float().masked_fill(~span_mask, SPAN_LOGIT_FILL),
        )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        cause_token_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        emotion_labels: torch.Tensor | None = None,
        relation_labels: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        teacher_logits: torch.Tensor | None = None,
        max_span_tokens: int | None = None,
        **unused,
    ) -> KdEcsStudentOutput:
        """``max_span_tokens``: longest span in tokens for this call (default ``config.max_span_tokens``); it bounds
        the best non-null span that the ``"span"`` causal head compares with the null span."""
        config = self.config
        span_limit = config.max_span_tokens if max_span_tokens is None else int(max_span_tokens)
        if cause_token_mask.shape != input_ids.shape:
            raise ValueError(
                f"cause_token_mask {tuple(cause_token_mask.shape)} must have the shape of input_ids "
                f"{tuple(input_ids.shape)}"
            )
        hidden = self.runner.hidden_states(input_ids, attention_mask, token_type_ids)
        num_causal = len(config.causal_connectives)

        emotion_logits = None
        if not config.given_emotion:
            ids = _verbaliser_ids(config, "emotion_token_ids")
            state = _gather(hidden, _token_positions(input_ids, self._mask_id("mask_emo"), "<mask_emo>"))
            emotion_logits = self.runner.vocabulary_logits(state)[:, ids].float()

        connective_logits = relation_logits = None
        if config.causal_head == "connective":
            ids = _verbaliser_ids(config, "connective_token_ids")
            state = _gather(hidden, _token_positions(input_ids, self._mask_id("mask_cau"), "<mask_cau>"))
            connective_logits = self.runner.vocabulary_logits(state)[:, ids].float()
        elif config.causal_head == "cls":
            relation_logits = self.relation_head(self.dropout(hidden[:, 0])).float()

        span_mask = cause_token_mask.bool() & attention_mask.bool()
        if config.causal_head == "span":  # the null span sits at position 0 (SQuAD 2.0)
            span_mask = span_mask.clone()
            span_mask[:, 0] = True
        start_logits, end_logits = self.span_logits(hidden, input_ids, span_mask)

        if connective_logits is not None:
            causal_probability = relation_probability(connective_logits, num_causal)
        elif relation_logits is not None:
            causal_probability = relation_logits.softmax(-1)[:, 1]
        else:
            without_null = span_mask.clone()
            without_null[:, 0] = cause_token_mask[:, 0].bool()
            _, _, best = best_spans(start_logits, end_logits, without_null, span_limit)
            null = start_logits[:, 0] + end_logits[:, 0]
            causal_probability = torch.sigmoid((best - null).clamp(min=-1e4))

        # ----- losses (Eq. 10-13) -----
        supervised: dict[str, torch.Tensor] = {}
        if emotion_labels is not None and emotion_logits is not None and bool((emotion_labels != IGNORE_INDEX).any()):
            supervised["emotion"] = F.cross_entropy(emotion_logits, emotion_labels.long(), ignore_index=IGNORE_INDEX)
        if start_positions is not None and end_positions is not None:
            starts, ends = start_positions.long(), end_positions.long()
            if config.causal_head == "span" and relation_labels is not None:
                negative = relation_labels == 0
                starts = starts.masked_fill(negative, 0)
                ends = ends.masked_fill(negative, 0)
            if bool((starts != IGNORE_INDEX).any()):
                supervised["span"] = F.cross_entropy(
                    start_logits, starts, ignore_index=IGNORE_INDEX
                ) + F.cross_entropy(end_logits, ends, ignore_index=IGNORE_INDEX)
        if relation_labels is not None:
            if connective_logits is not None:
                term = connective_loss(connective_logits, relation_labels, num_causal, config.connective_target)
                if term is not None:
                    supervised["connective"] = term
            elif relation_logits is not None and bool((relation_labels != IGNORE_INDEX).any()):
                supervised["relation"] = F.cross_entropy(
                    relation_logits, relation_labels.long(), ignore_index=IGNORE_INDEX
                )
        kd = None
        if teacher_logits is not None and connective_logits is not None and config.alpha < 1.0:
            kd = distillation_loss(
                connective_logits, teacher_logits.to(connective_logits.device), config.kd_temperature,
                config.kd_direction,
            )  # fmt: skip
        loss = None
        if supervised or kd is not None:
            weights = {"connective": config.connective_loss_weight, "relation": config.connective_loss_weight}
            total = sum(weights.get(name, 1.0) * value for name, value in supervised.items())
            loss = config.alpha * total if supervised else torch.zeros((), device=hidden.device)
            if kd is not None:
                loss = loss + (1.0 - config.alpha) * config.kd_temperature**2 * kd

        def detached(name: str) -> torch.Tensor | None:
            return supervised[name].detach() if name in supervised else None

        return KdEcsStudentOutput(
            loss=loss,
            loss_emotion=detached("emotion"),
            loss_span=detached("span"),
            loss_connective=detached("connective"),
            loss_relation=detached("relation"),
            loss_kd=None if kd is None else kd.detach(),
            emotion_logits=emotion_logits,
            logits=connective_logits,
            relation_logits=relation_logits,
            causal_probability=causal_probability,
            start_logits=start_logits,
            end_logits=end_logits,
            span_mask=span_mask,
        )

    def decode_spans(
        self,
        start_logits: torch.Tensor,
        end_logits: torch.Tensor,
        cause_token_mask: torch.Tensor,
        max_span_tokens=None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Best span inside u_j per prompt (``start <= end``, at most ``max_span_tokens`` tokens; token positions)."""
        limit = self.config.max_span_tokens if max_span_tokens is None else int(max_span_tokens)
        return best_spans(start_logits, end_logits, cause_token_mask.bool(), limit)


def _default_max_tokens(backbone: PreTrainedModel, tokenizer) -> int:
    """The prompt limit: the backbone's usable positions, at most 512."""
    positions = getattr(backbone.config, "max_position_embeddings", None) or 512
    embeddings = getattr(getattr(backbone, "base_model", backbone), "embeddings", None)
    padding_idx = getattr(embeddings, "padding_idx", None)
    if isinstance(padding_idx, int) and getattr(backbone.config, "model_type", "") in ("roberta", "xlm-roberta"):
        positions -= padding_idx + 1  # RoBERTa-style position ids start after the padding index
    limit = getattr(tokenizer, "model_max_length", None) if tokenizer is not None else None
    if isinstance(limit, int) and 0 < limit < positions:
        positions = limit
    return int(min(positions, 512))


def _inject_lora(backbone: PreTrainedModel, config: KdEcsTeacherConfig) -> PreTrainedModel:
    """LoRA adapters injected into the backbone in place (peft ``inject_adapter_in_model``; only they train)."""
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ImportError as err:  # pragma: no cover - peft is a dependency of hf_ecpe
        raise ImportError("KdEcsTeacherConfig.lora_r > 0 needs the peft package (pip install peft)") from err
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules,
    )
    backbone = inject_adapter_in_model(lora, backbone)
    for name, parameter in backbone.named_parameters():
        parameter.requires_grad_("lora_" in name)
    return backbone


# Copied from hf_ecpe.models.a2net.modeling_a2net._float_dtype with A2Net->KdEcs
def _float_dtype(config: KdEcsConfig) -> torch.dtype:
    """The dtype to build the encoder in: the config's resolved ``dtype`` if it is a float dtype, else float32."""
    dtype = getattr(config, "dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else torch.float32


# Copied from hf_ecpe.models.a2net.modeling_a2net._encoder_auto_class
def _encoder_auto_class(name: str | None, encoder: PreTrainedModel | None = None) -> type:
    """The transformers Auto class named ``name`` (``AutoModel`` when None: configs saved before
    ``encoder_auto_class`` existed); with ``encoder``, also checks that the class builds that model's type."""
    name = name or "AutoModel"
    auto_class = getattr(transformers, name, None) if name.startswith("AutoModel") else None
    if not isinstance(auto_class, type) or not hasattr(auto_class, "from_config"):
        raise ValueError(f"encoder_auto_class={name!r} is not a transformers Auto model class (e.g. 'AutoModel')")
    if encoder is not None:
        mapping = getattr(auto_class, "_model_mapping", None)
        try:
            expected = mapping[type(encoder.config)] if mapping is not None else type(encoder)
        except KeyError:
            expected = None
        if expected is None or not isinstance(encoder, expected):
            raise ValueError(
                f"{name} does not build {type(encoder).__name__} (for {type(encoder.config).__name__} it builds "
                f"{getattr(expected, '__name__', 'nothing')}): pass the encoder_auto_class that matches the model"
            )
    return auto_class


__all__ = [
    "IGNORE_INDEX",
    "SPAN_LOGIT_FILL",
    "KdEcsPreTrainedModel",
    "KdEcsStudentModel",
    "KdEcsStudentOutput",
    "KdEcsTeacherModel",
    "KdEcsTeacherOutput",
    "best_spans",
    "connective_loss",
    "distillation_loss",
    "relation_probability",
]
