"""Configurations of KD-ECS (Chen et al., AAAI 2024): a connective-prediction teacher and a prompt-based student.

This file imports only ``transformers`` so that ``save_pretrained`` can ship it as remote code. Every field is a
setting a recipe or the command line can give (``--alpha 1.0``); each is validated here with a message naming the
field and the allowed values. ``docs/kd-ecs.md`` maps the paper's equations and ablations to these fields.
"""

from __future__ import annotations

import string
from typing import Any

from transformers import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)

# Keys never forwarded from the nested encoder config: a checkpoint must not be able to switch on remote code
# for its encoder (the SpanMarker issue #85 attack).
UNSAFE_ENCODER_KEYS = ("trust_remote_code",)

#: Table 3 of the paper: the connective verbaliser.
CAUSAL_CONNECTIVES = ("because", "as", "since", "thus")
NONCAUSAL_CONNECTIVES = ("other",)
#: RECCON-DD's label set (Ekman's six + neutral); other corpora pass their own ``emotion_labels``.
RECCON_EMOTIONS = ("neutral", "happiness", "sadness", "anger", "fear", "surprise", "disgust")
#: How the connective mask is trained on gold relations: one golden word per relation (Eq. 4, the default) or
#: cross-entropy on the relation-level probability mass.
CONNECTIVE_TARGETS = ("fixed", "relation")
TEACHER_BACKBONES = ("AutoModelForMaskedLM", "AutoModelForCausalLM")
KD_DIRECTIONS = ("forward", "reverse")
CAUSAL_HEADS = ("connective", "cls", "span")
SPAN_HEADS = ("prompt", "token")
CANDIDATE_TARGETS = ("all", "emotional")

#: Eq. 1 (teacher). ``{mask}`` is the tokenizer's mask token (a causal LM reads the next token after "... is").
TEACHER_TEMPLATE = (
    "{history}{turn_i} {speaker_i} feels {emotion_i} and says {utterance_i} {turn_j} {speaker_j} says "
    "{utterance_j} The connective word between {turn_i} and {turn_j} is {mask} ."
)
#: Eq. 5 (student).
STUDENT_TEMPLATE = (
    "{history}{turn_i} {speaker_i} feels {mask_emo} and says {utterance_i} {mask_cau} {turn_j} {speaker_j} says "
    "{utterance_j} The causal span start at {mask_st} , end at {mask_ed} ."
)
TEACHER_FIELDS = ("history", "turn_i", "speaker_i", "emotion_i", "utterance_i", "turn_j", "speaker_j", "utterance_j")
STUDENT_FIELDS = (*TEACHER_FIELDS, "mask_emo", "mask_cau", "mask_st", "mask_ed")
#: The student's added mask tokens, in the order they are added to the tokenizer.
STUDENT_MASK_TOKENS = {
    "mask_emo": "<mask_emo>",
    "mask_cau": "<mask_cau>",
    "mask_st": "<mask_st>",
    "mask_ed": "<mask_ed>",
}


# Copied from hf_ecpe.models.a2net.configuration_a2net.sanitize_encoder_config with A2Net->KdEcs
def sanitize_encoder_config(encoder: dict[str, Any]) -> dict[str, Any]:
    """A copy of the nested encoder config dict without the keys in ``UNSAFE_ENCODER_KEYS``."""
    removed = [key for key in UNSAFE_ENCODER_KEYS if key in encoder]
    if removed:
        logger.warning(
            "Ignoring %s in the nested encoder config of KdEcsConfig (never honoured, for security).",
            removed,
        )
    return {key: value for key, value in encoder.items() if key not in UNSAFE_ENCODER_KEYS}


class KdEcsConfig(PretrainedConfig):
    """Fields and validation shared by the teacher and the student (their base class; not registered itself)."""

    output_kind = "pairs"
    supports_speaker_ids = False
    library_version = None

    def _init_prompt(
        self,
        *,
        encoder: Any,
        encoder_auto_class: str,
        template: str,
        allowed_fields: tuple[str, ...],
        required_fields: tuple[str, ...],
        history_template: str,
        history_separator: str | None,
        turn_template: str,
        max_prompt_tokens: int | None,
        max_history_utterances: int | None,
        causal_connectives: Any,
        noncausal_connectives: Any,
        connective_target: str,
        candidate_targets: str,
        decode_threshold: float,
        hf_ecpe_version: str | None,
    ) -> None:
        self.encoder = _encoder_dict(encoder)
        self.encoder_auto_class = _auto_class_name("encoder_auto_class", encoder_auto_class)
        self.template = _template("template", template, allowed_fields, required_fields)
        self.history_template = _template("history_template", history_template, ("turn", "speaker", "utterance"), ())
        self.history_separator = None if history_separator is None else str(history_separator)
        self.turn_template = _template("turn_template", turn_template, ("turn",), ())
        self.max_prompt_tokens = (
            None if max_prompt_tokens is None else _positive_int("max_prompt_tokens", max_prompt_tokens, minimum=8)
        )
        self.max_history_utterances = (
            None
            if max_history_utterances is None
            else _positive_int("max_history_utterances", max_history_utterances, minimum=0)
        )
        self.causal_connectives = _words("causal_connectives", causal_connectives)
        self.noncausal_connectives = _words("noncausal_connectives", noncausal_connectives)
        overlap = sorted(set(self.causal_connectives) & set(self.noncausal_connectives))
        if overlap:
            raise ValueError(f"KdEcsConfig: {overlap} are both causal_connectives and noncausal_connectives")
        self.connective_target = _choice("connective_target", connective_target, CONNECTIVE_TARGETS)
        self.candidate_targets = _choice("candidate_targets", candidate_targets, CANDIDATE_TARGETS)
        self.decode_threshold = _probability("decode_threshold", decode_threshold)
        self.hf_ecpe_version = hf_ecpe_version

    @property
    def connectives(self) -> list[str]:
        """The verbaliser: causal words first, then the non-causal ones (the order of the logits)."""
        return [*self.causal_connectives, *self.noncausal_connectives]


class KdEcsTeacherConfig(KdEcsConfig):
    r"""Configuration of :class:`KdEcsTeacherModel`: utterance-level causality as causal-connective prediction (Eq. 1-4).

    Args:
        encoder (`dict`): the backbone's config as a dict (with ``model_type``).
        encoder_auto_class (`str`, defaults to ``"AutoModelForMaskedLM"``): ``"AutoModelForMaskedLM"`` (the
            connective is read at the mask token) or ``"AutoModelForCausalLM"`` (an LLM teacher: the template is cut
            before ``{mask}`` so that the prompt ends with "... is" and the connective is the next token).
        template (`str`): the prompt (Eq. 1) with the fields ``{history}``, ``{turn_i}``, ``{speaker_i}``,
            ``{emotion_i}`` (the gold emotion label of u_i), ``{utterance_i}``, ``{turn_j}``, ``{speaker_j}``,
            ``{utterance_j}`` and ``{mask}``.
        history_template (`str`, defaults to ``"{utterance}"``): one history utterance (``{turn}``, ``{speaker}``,
            ``{utterance}``); the paper joins the bare utterances.
        history_separator (`str`, *optional*): joins the history items; default the tokenizer's separator token
            (``[SEP]``, ``</s>``), or a newline for tokenizers without one.
        turn_template (`str`, defaults to ``"turn {turn}"``): d_i, the 1-based turn id.
        max_prompt_tokens (`int`, *optional*): most tokens per prompt; the oldest history utterances are dropped first, u_i
            and u_j are never cut. Default: the backbone's positions (at most 512).
        max_history_utterances (`int`, *optional*): keep at most this many history utterances (newest first).
        causal_connectives / noncausal_connectives (`list[str]`): the verbaliser (Table 3); every word must be one
            token of the backbone's tokenizer (checked, the error names the word).
        connective_target (`str`, defaults to ``"fixed"``): ``"fixed"``: cross-entropy towards the *first* word of
            the relation's list (the paper's "golden connective word", Eq. 4); ``"relation"``: cross-entropy on the
            relation-level mass (log of the summed probability of the relation's words).
        candidate_targets (`str`, defaults to ``"all"``): the target utterances u_i of the training / evaluation
            prompts: ``"all"`` (every utterance; neutral ones give negatives, as at inference) or ``"emotional"``
            (only gold non-neutral utterances: RECCON's question set).
        decode_threshold (`float`, defaults to 0.5): a pair is causal when the causal mass exceeds it (chosen on
            validation by the trainer, stored with ``decode_threshold_selected_on``).
        lora_r (`int`, defaults to 0): LoRA rank on the backbone (0: full fine-tuning); needs ``peft``.
        lora_alpha / lora_dropout / lora_target_modules: the LoRA settings (``"all-linear"`` by default).
    """

    model_type = "hf-ecpe-kd-ecs-teacher"
    keys_to_ignore_at_inference = ["loss_connective", "causal_probability"]

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        encoder_auto_class: str = "AutoModelForMaskedLM",
        template: str = TEACHER_TEMPLATE,
        history_template: str = "{utterance}",
        history_separator: str | None = None,
        turn_template: str = "turn {turn}",
        max_prompt_tokens: int | None = None,
        max_history_utterances: int | None = None,
        causal_connectives: list[str] | tuple[str, ...] = CAUSAL_CONNECTIVES,
        noncausal_connectives: list[str] | tuple[str, ...] = NONCAUSAL_CONNECTIVES,
        connective_target: str = "fixed",
        candidate_targets: str = "all",
        decode_threshold: float = 0.5,
        lora_r: int = 0,
        lora_alpha: int = 16,
        lora_dropout: float = 0.05,
        lora_target_modules: list[str] | str | None = "all-linear",
        hf_ecpe_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._init_prompt(
            encoder=encoder,
            encoder_auto_class=encoder_auto_class,
            template=template,
            allowed_fields=(*TEACHER_FIELDS, "mask"),
            required_fields=("utterance_i", "utterance_j", "mask"),
            history_template=history_template,
            history_separator=history_separator,
            turn_template=turn_template,
            max_prompt_tokens=max_prompt_tokens,
            max_history_utterances=max_history_utterances,
            causal_connectives=causal_connectives,
            noncausal_connectives=noncausal_connectives,
            connective_target=connective_target,
            candidate_targets=candidate_targets,
            decode_threshold=decode_threshold,
            hf_ecpe_version=hf_ecpe_version,
        )
        if self.encoder_auto_class not in TEACHER_BACKBONES:
            raise ValueError(
                f"KdEcsTeacherConfig.encoder_auto_class must be one of {TEACHER_BACKBONES}, got "
                f"{self.encoder_auto_class!r}"
            )
        self.lora_r = _positive_int("lora_r", lora_r, minimum=0)
        self.lora_alpha = _positive_int("lora_alpha", lora_alpha)
        self.lora_dropout = _probability("lora_dropout", lora_dropout)
        if isinstance(lora_target_modules, tuple):
            lora_target_modules = list(lora_target_modules)
        if lora_target_modules is not None and not isinstance(lora_target_modules, (str, list)):
            raise ValueError(
                f"KdEcsTeacherConfig.lora_target_modules must be 'all-linear', a list of module names or None, got "
                f"{lora_target_modules!r}"
            )
        self.lora_target_modules = lora_target_modules
        super().__init__(**kwargs)


class KdEcsStudentConfig(KdEcsConfig):
    r"""Configuration of :class:`KdEcsStudentModel`: emotion, connective and causal span from one prompt (Eq. 5-13).

    Args:
        encoder (`dict`): the masked-LM backbone's config as a dict (with ``model_type``).
        encoder_auto_class (`str`, defaults to ``"AutoModelForMaskedLM"``): the student always needs an MLM head.
        template (`str`): the prompt (Eq. 5): the teacher's fields without ``{emotion_i}``/``{mask}`` plus
            ``{mask_emo}``, ``{mask_cau}``, ``{mask_st}``, ``{mask_ed}`` (the added tokens
            ``<mask_emo>``, ``<mask_cau>``, ``<mask_st>``, ``<mask_ed>``). ``{mask_cau}`` renders empty when
            ``causal_head != "connective"``; ``{mask_emo}`` renders the gold emotion word when ``given_emotion``.
        history_template / history_separator / turn_template / max_prompt_tokens / max_history_utterances /
            candidate_targets: as the teacher.
        causal_connectives / noncausal_connectives / connective_target: as the teacher (the same words: the KD term
            compares the two verbaliser distributions; the trainer checks they match).
        emotion_labels (`list[str]`): the corpus's emotion labels (RECCON's 7 by default; SemEval/ECF: 7 with
            ``joy``; FG-RECCON: 16).
        emotion_words (`list[str]`, *optional*): the verbaliser word of each label (default the label itself); each
            must be one token of the tokenizer.
        alpha (`float`, defaults to 0.6): α of Eq. 13; ``1.0`` is the "w/o KD" ablation (no teacher needed).
        kd_temperature (`float`, defaults to 2.0): τ of Eq. 12-13.
        kd_direction (`str`, defaults to ``"forward"``): ``"forward"``: KL(teacher ‖ student), Eq. 12 (Hinton);
            ``"reverse"``: KL(student ‖ teacher), what the reference code's ``KLDivLoss`` argument order computes.
        connective_loss_weight (`float`, defaults to 1.0): weight of the student's own cross-entropy on the gold
            relation at ``<mask_cau>`` inside the α term (the reference code's ``mask_loss``; 0 gives Eq. 13
            literally, where the connective is learnt from the teacher alone).
        causal_head (`str`, defaults to ``"connective"``): how the student decides utterance-level causality:
            ``"connective"`` (the verbaliser at ``<mask_cau>``), ``"cls"`` ("w/o connectives": a binary head on the
            first token's state), ``"span"`` ("w/o <mask_cau>": no utterance-level head; a pair is causal when its
            best span beats the null span at the first token, SQuAD-2 style).
        span_head (`str`, defaults to ``"prompt"``): ``"prompt"``: Eq. 8-9, position logits from the ``<mask_st>`` /
            ``<mask_ed>`` states through linear layers over the ``max_prompt_tokens`` sequence positions; ``"token"``: the
            per-token start/end head of the RECCON SpanBERT baseline. Both are restricted to the tokens of u_j.
        max_span_tokens (`int`, defaults to 64): longest decoded span in tokens.
        given_emotion (`bool`, defaults to False): Table 6: the gold emotion label is written into the prompt in
            place of ``<mask_emo>`` (no emotion loss; inference then needs the emotions as input).
        decode_threshold (`float`, defaults to 0.5): threshold on the causal probability of a pair.
    """

    model_type = "hf-ecpe-kd-ecs-student"
    keys_to_ignore_at_inference = ["loss_emotion", "loss_span", "loss_kd", "loss_connective", "loss_relation"]

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        encoder_auto_class: str = "AutoModelForMaskedLM",
        template: str = STUDENT_TEMPLATE,
        history_template: str = "{utterance}",
        history_separator: str | None = None,
        turn_template: str = "turn {turn}",
        max_prompt_tokens: int | None = None,
        max_history_utterances: int | None = None,
        causal_connectives: list[str] | tuple[str, ...] = CAUSAL_CONNECTIVES,
        noncausal_connectives: list[str] | tuple[str, ...] = NONCAUSAL_CONNECTIVES,
        connective_target: str = "fixed",
        candidate_targets: str = "all",
        emotion_labels: list[str] | tuple[str, ...] = RECCON_EMOTIONS,
        emotion_words: list[str] | tuple[str, ...] | None = None,
        alpha: float = 0.6,
        kd_temperature: float = 2.0,
        kd_direction: str = "forward",
        connective_loss_weight: float = 1.0,
        causal_head: str = "connective",
        span_head: str = "prompt",
        max_span_tokens: int = 64,
        given_emotion: bool = False,
        decode_threshold: float = 0.5,
        mask_token_ids: dict[str, int] | None = None,
        hf_ecpe_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._init_prompt(
            encoder=encoder,
            encoder_auto_class=encoder_auto_class,
            template=template,
            allowed_fields=STUDENT_FIELDS,
            required_fields=("utterance_i", "utterance_j", "mask_emo", "mask_st", "mask_ed"),
            history_template=history_template,
            history_separator=history_separator,
            turn_template=turn_template,
            max_prompt_tokens=max_prompt_tokens,
            max_history_utterances=max_history_utterances,
            causal_connectives=causal_connectives,
            noncausal_connectives=noncausal_connectives,
            connective_target=connective_target,
            candidate_targets=candidate_targets,
            decode_threshold=decode_threshold,
            hf_ecpe_version=hf_ecpe_version,
        )
        if self.encoder_auto_class != "AutoModelForMaskedLM":
            raise ValueError(
                "KdEcsStudentConfig.encoder_auto_class must be 'AutoModelForMaskedLM' (the student reads the MLM head "
                f"at <mask_emo> and <mask_cau>), got {self.encoder_auto_class!r}"
            )
        self.emotion_labels = _words("emotion_labels", emotion_labels, single_word=False)
        if emotion_words is None:
            emotion_words = list(self.emotion_labels)
        self.emotion_words = _words("emotion_words", emotion_words)
        if len(self.emotion_words) != len(self.emotion_labels):
            raise ValueError(
                f"KdEcsStudentConfig.emotion_words has {len(self.emotion_words)} words for "
                f"{len(self.emotion_labels)} emotion_labels; give one word per label, in the same order"
            )
        if len(set(self.emotion_words)) != len(self.emotion_words):
            raise ValueError(f"KdEcsStudentConfig.emotion_words must be distinct, got {self.emotion_words}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"KdEcsStudentConfig.alpha must be a number in [0, 1], got {alpha!r}")
        self.alpha = float(alpha)
        self.kd_temperature = _non_negative("kd_temperature", kd_temperature)
        if self.kd_temperature == 0:
            raise ValueError("KdEcsStudentConfig.kd_temperature must be > 0, got 0")
        self.kd_direction = _choice("kd_direction", kd_direction, KD_DIRECTIONS)
        self.connective_loss_weight = _non_negative("connective_loss_weight", connective_loss_weight)
        self.causal_head = _choice("causal_head", causal_head, CAUSAL_HEADS)
        self.span_head = _choice("span_head", span_head, SPAN_HEADS)
        self.max_span_tokens = _positive_int("max_span_tokens", max_span_tokens)
        if not isinstance(given_emotion, bool):
            raise ValueError(f"KdEcsStudentConfig.given_emotion must be true or false, got {given_emotion!r}")
        self.given_emotion = given_emotion
        if "{mask_cau}" not in self.template and self.causal_head == "connective":
            raise ValueError(
                "KdEcsStudentConfig.template has no {mask_cau} but causal_head='connective' reads the connective "
                "there; add it or set causal_head to 'cls' or 'span'"
            )
        self.mask_token_ids = dict(mask_token_ids) if mask_token_ids else None
        super().__init__(**kwargs)

    @property
    def uses_teacher(self) -> bool:
        """Whether training distils from a teacher (α < 1 and a connective mask to distil into)."""
        return self.alpha < 1.0 and self.causal_head == "connective"


def _template(name: str, value: Any, allowed: tuple[str, ...], required: tuple[str, ...]) -> str:
    """A ``str.format`` template using only ``allowed`` fields, each of ``required`` exactly once."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"KdEcsConfig.{name} must be a non-empty template string, got {value!r}")
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
    except ValueError as err:
        raise ValueError(f"KdEcsConfig.{name} is not a valid template ({err}): {value!r}") from None
    unknown = sorted({field for field in fields if field not in allowed})
    if unknown:
        raise ValueError(f"KdEcsConfig.{name} uses unknown field(s) {unknown}; allowed: {list(allowed)}")
    for field in required:
        if fields.count(field) != 1:
            raise ValueError(
                f"KdEcsConfig.{name} must contain {{{field}}} exactly once, found it {fields.count(field)} times"
            )
    return value


def _words(name: str, value: Any, single_word: bool = True) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list) or not value or not all(isinstance(word, str) and word.strip() for word in value):
        raise ValueError(f"KdEcsConfig.{name} must be a non-empty list of words, got {value!r}")
    words = [word.strip() for word in value]
    if single_word and any(len(word.split()) != 1 for word in words):
        raise ValueError(f"KdEcsConfig.{name}: each entry must be one word, got {words}")
    if len(set(words)) != len(words):
        raise ValueError(f"KdEcsConfig.{name} must not repeat a word, got {words}")
    return words


# Copied from hf_ecpe.models.a2net.configuration_a2net._encoder_dict with A2Net->KdEcs
def _encoder_dict(encoder: Any) -> dict[str, Any] | None:
    """The nested encoder config as a dict (a ``PretrainedConfig`` is converted), without unsafe keys."""
    if encoder is None:
        return None
    if not isinstance(encoder, dict):
        to_dict = getattr(encoder, "to_dict", None)
        if to_dict is None:
            raise TypeError(f"KdEcsConfig.encoder must be a config dict or a PretrainedConfig, got {type(encoder)}")
        encoder = to_dict()
    if "model_type" not in encoder:
        raise ValueError(
            "KdEcsConfig.encoder needs a 'model_type' key (e.g. BertConfig(...).to_dict() or "
            "AutoConfig.from_pretrained('bert-base-uncased').to_dict())."
        )
    return sanitize_encoder_config(encoder)


# Copied from hf_ecpe.models.a2net.configuration_a2net._auto_class_name with A2Net->KdEcs
def _auto_class_name(name: str, value: Any) -> str:
    """The name of a transformers Auto model class (an Auto class itself is accepted too)."""
    if isinstance(value, type):
        value = value.__name__
    if not isinstance(value, str) or not value.startswith("AutoModel") or not value.isidentifier():
        raise ValueError(
            f"KdEcsConfig.{name} must name a transformers Auto model class (e.g. 'AutoModel', "
            f"'AutoModelForMaskedLM'), got {value!r}"
        )
    return value


# Copied from hf_ecpe.models.a2net.configuration_a2net._positive_int with A2Net->KdEcs
def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"KdEcsConfig.{name} must be an integer >= {minimum}, got {value!r}")
    return value


# Copied from hf_ecpe.models.a2net.configuration_a2net._probability with A2Net->KdEcs
def _probability(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"KdEcsConfig.{name} must be a number in [0, 1), got {value!r}")
    return float(value)


# Copied from hf_ecpe.models.a2net.configuration_a2net._non_negative with A2Net->KdEcs
def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"KdEcsConfig.{name} must be a number >= 0, got {value!r}")
    return float(value)


# Copied from hf_ecpe.models.a2net.configuration_a2net._choice with A2Net->KdEcs
def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"KdEcsConfig.{name} must be one of {choices}, got {value!r}")
    return value


__all__ = ["KdEcsConfig", "KdEcsStudentConfig", "KdEcsTeacherConfig"]
