"""The method registry: one :class:`MethodSpec` per method, the single place a method is declared.

A method is a model folder (``hf_ecpe/models/<m>/``: config + model, self-contained remote code) plus one entry
here. Everything that needs to know about methods reads this registry: Auto-class registration
(:mod:`hf_ecpe._registration`), the training script (``--method <name>``: config, collator, trainer,
``compute_metrics``, settings), the evaluation script (``scripts.evaluate``: which runner and metrics), the
pipelines (which output kind a model has), the model card (name, loss, citation, usage, primary metric) and the
tests (parametrised over :data:`METHODS`).

Shaped like :class:`hf_ecpe.data.corpora.base.CorpusSpec`. Heavy objects (trainers, metrics, collators) are given as
``"module:attribute"`` strings or small factories and resolved on first use, so ``import hf_ecpe`` stays light.

Adding a method: ``docs/adding-a-method.md``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: What a model returns; the pipeline class is chosen by it.
OUTPUT_KINDS = ("pairs", "triplets", "response")


@dataclass(frozen=True)
class PipelineTask:
    """A pipeline task hf_ecpe registers with transformers (``pipeline(name, model=...)``).

    Args:
        name: the task name (``"emotion-cause"``).
        pipeline_class: import path of the ``Pipeline`` subclass.
        auto_classes: the Auto classes ``pipeline()`` tries, in order, to load a model given by name.
        default_model: import path of a zero-argument function returning the embedded default model's folder, or
            ``None`` (the task then needs ``model=``).
    """

    name: str
    pipeline_class: str
    auto_classes: tuple[str, ...] = ("AutoModel",)
    default_model: str | None = None


#: Every pipeline task of the library, by name; a method's ``pipeline_tasks`` must name tasks of this table.
PIPELINE_TASKS: dict[str, PipelineTask] = {
    "emotion-cause": PipelineTask(
        name="emotion-cause",
        pipeline_class="hf_ecpe.pipelines.emotion_cause:EmotionCausePipeline",
        # causal LMs first (a LoRA-adapted LLM loads with its LM head); pair models fall through to AutoModel. Which
        # pipeline class serves the model is then decided by its method's output kind (EmotionCausePipeline).
        auto_classes=("AutoModelForCausalLM", "AutoModel"),
        default_model="hf_ecpe.defaults:default_model_path",
    ),
    "empathetic-response": PipelineTask(
        name="empathetic-response",
        pipeline_class="hf_ecpe.pipelines.empathetic:EmpatheticResponsePipeline",
        auto_classes=("AutoModelForSeq2SeqLM", "AutoModelForCausalLM"),
        default_model="hf_ecpe.defaults:default_empathy_model_path",
    ),
}


def resolve(path: str | Callable | type | None) -> Any:
    """``"package.module:attribute"`` → the attribute (imported now); anything else is returned unchanged."""
    if not isinstance(path, str):
        return path
    module_name, _, attribute = path.partition(":")
    if not attribute:
        raise ValueError(f"{path!r} is not an import path of the form 'package.module:attribute'")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class MethodSpec:
    """One method: its classes, how it trains and evaluates, and what its model card says.

    Args:
        name: the recipe name (``--method a2net``).
        display_name: the method's name in cards and tables (``"A2Net"``).
        config_class / model_class: the ``PretrainedConfig`` / ``PreTrainedModel`` of the model folder (``None`` for
            a method whose checkpoints are not hf_ecpe classes, e.g. the LoRA adapter of the triplet LLM).
        auto_classes: the transformers Auto classes the model registers with (``"AutoModel"``; a generator adds
            ``"AutoModelForSeq2SeqLM"``). The first one is written into ``auto_map`` for remote code.
        output_kind: what the model returns (:data:`OUTPUT_KINDS`); the config class's ``output_kind`` when it has
            one, else this field.
        pipeline_tasks: the pipeline tasks that serve it (``"emotion-cause"``, ``"empathetic-response"``).
        collator: ``factory(tokenizer, config, training_args) -> collator`` (import path or callable); ``None``: the
            trainer's default.
        trainer: the ``Trainer`` subclass that trains it (import path).
        compute_metrics: ``factory(model_getter) -> compute_metrics`` (import path or callable).
        evaluator: the :class:`~hf_ecpe.evaluation.evaluators.Evaluator` subclass ``scripts.evaluate`` runs
            (``evaluator(model, tokenizer, dataset, **settings) -> metrics``; it declares the settings it accepts,
            its primary metric and direction), an import path to it, or a plain runner function.
        primary_metric: the metric of checkpoint selection and of the card's ``model-index`` (``"pair_f1"``).
        label_names: the label tensors of its batches (the Trainer's ``label_names``).
        required_columns: dataset columns the trainer checks up front.
        loss_description / citation / usage / tags: card information (``usage`` may use ``{model_id}``).
        train_statistics: ``"pairs"`` (documents, units, pairs) or ``"examples"`` (rows) for the card.
        tiny_settings: config settings of a small instance over a tiny encoder (the registry-wide tests build one
            with ``model_class.from_encoder(tiny_encoder, **tiny_settings)``).
        prepare_dataset: ``f(dataset, config, tokenizer, split) -> dataset`` applied by ``scripts.train`` to every
            split of canonical rows before training (e.g. one row per candidate pair, or per listener turn); ``None``:
            the trainer takes canonical rows.
    """

    name: str
    display_name: str
    config_class: type | None = None
    model_class: type | None = None
    auto_classes: tuple[str, ...] = ("AutoModel",)
    output_kind: str = "pairs"
    pipeline_tasks: tuple[str, ...] = ("emotion-cause",)
    collator: str | Callable | None = None
    trainer: str | type | None = "hf_ecpe.trainers:PairTrainer"
    compute_metrics: str | Callable | None = "hf_ecpe.trainers.metrics:EcpeComputeMetrics"
    evaluator: str | Callable | type | None = "hf_ecpe.evaluation.evaluators:PairEvaluator"
    primary_metric: str = "pair_f1"
    label_names: tuple[str, ...] = ("emotion_labels", "cause_labels", "pair_labels")
    required_columns: tuple[str, ...] = ("units", "pairs")
    loss_description: str = ""
    citation: str = ""
    usage: str = ""
    tags: tuple[str, ...] = ()
    train_statistics: str = "pairs"
    tiny_settings: Mapping[str, Any] = field(default_factory=dict)
    prepare_dataset: str | Callable | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = self.kind
        if kind not in OUTPUT_KINDS:
            raise ValueError(f"method {self.name!r}: output_kind must be one of {OUTPUT_KINDS}, got {kind!r}")
        if self.config_class is not None and self.model_class is None:
            raise ValueError(f"method {self.name!r}: a config_class needs its model_class")
        unknown = [task for task in self.pipeline_tasks if task not in PIPELINE_TASKS]
        if unknown:
            raise ValueError(
                f"method {self.name!r}: pipeline task(s) {unknown} are not in hf_ecpe.methods.PIPELINE_TASKS "
                f"({sorted(PIPELINE_TASKS)}); add a PipelineTask entry"
            )

    @property
    def kind(self) -> str:
        """The output kind: the config class's ``output_kind`` when declared there, else the spec's."""
        return getattr(self.config_class, "output_kind", None) or self.output_kind

    @property
    def model_type(self) -> str | None:
        return getattr(self.config_class, "model_type", None)

    def config_fields(self) -> dict[str, inspect.Parameter]:
        """The settings a recipe or the command line may give the config: ``config_class.__init__`` parameters
        (without ``encoder`` and ``**kwargs``)."""
        if self.config_class is None:
            return {}
        parameters = inspect.signature(self.config_class.__init__).parameters
        return {
            name: parameter
            for name, parameter in parameters.items()
            if name not in ("self", "encoder")
            and parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
        }

    def trainer_class(self) -> type:
        if self.trainer is None:
            raise ValueError(f"method {self.name!r} has no trainer in hf_ecpe.scripts.train")
        return resolve(self.trainer)

    def build_collator(self, tokenizer: Any, config: Any, training_args: Any) -> Any:
        """The method's collator, or ``None`` for the trainer's default."""
        factory = resolve(self.collator)
        return factory(tokenizer, config, training_args) if factory is not None else None

    def build_compute_metrics(self, model_getter: Callable[[], Any]) -> Any:
        factory = resolve(self.compute_metrics)
        return factory(model_getter) if factory is not None else None

    def prepare(self, dataset: Any, config: Any, tokenizer: Any, split: str) -> Any:
        """``dataset`` as this method's trainer takes it (canonical rows unless ``prepare_dataset`` is set)."""
        function = resolve(self.prepare_dataset)
        return function(dataset, config, tokenizer, split) if function is not None else dataset

    def usage_snippet(self, model_id: str | None = None) -> str:
        return self.usage.replace("{model_id}", model_id or "path/to/this/model")


# ---------------------------------------------------------------------------------------------------------------
# Collator factories (named functions: recipes and tests refer to them by path)
# ---------------------------------------------------------------------------------------------------------------


def clause_collator(tokenizer: Any, config: Any, training_args: Any) -> Any:
    """``ClauseCollator`` for document models (A2Net)."""
    from hf_ecpe.data.collators import ClauseCollator

    return ClauseCollator(tokenizer, max_unit_tokens=getattr(training_args, "max_unit_tokens", None))


def conversation_collator(tokenizer: Any, config: Any, training_args: Any) -> Any:
    """``MultimodalCollator`` (speaker ids, category labels, optional features) for conversational pair models."""
    from hf_ecpe.data.multimodal import MultimodalCollator

    return MultimodalCollator(
        tokenizer,
        max_unit_tokens=getattr(training_args, "max_unit_tokens", None),
        emotion_categories=getattr(config, "emotion_categories", None),
    )


# ---------------------------------------------------------------------------------------------------------------
# Card texts
# ---------------------------------------------------------------------------------------------------------------

A2NET_CITATION = """@inproceedings{chen-etal-2022-joint,
    title = "Joint Alignment of Multi-Task Feature and Label Spaces for Emotion Cause Pair Extraction",
    author = "Chen, Shunjie and Shi, Xiaochuan and Li, Jingye and Wu, Shengqiong and Fei, Hao and Li, Fei and Ji, Donghong",
    booktitle = "Proceedings of the 29th International Conference on Computational Linguistics",
    year = "2022",
    address = "Gyeongju, Republic of Korea",
    publisher = "International Committee on Computational Linguistics",
    url = "https://aclanthology.org/2022.coling-1.606",
    pages = "6955--6965"
}"""

TRIPLET_LLM_CITATION = """@misc{triplet-llm-2025,
    title = "Span-level Emotion-Cause-Category Triplet Extraction with Instruction Tuning LLMs and Data Augmentation",
    year = "2025",
    eprint = "2504.12331",
    archivePrefix = "arXiv",
    url = "https://arxiv.org/abs/2504.12331"
}"""

RPCL_CITATION = """@misc{pan-2026-rpcl,
    title = "Learning Robust Pair Confidence for Multimodal Emotion-Cause Pair Extraction",
    author = "Pan, Zhuangzhuang and Dong, Ning and Su, Yingna and Xia, Yan",
    year = "2026",
    eprint = "2606.18893",
    archivePrefix = "arXiv",
    url = "https://arxiv.org/abs/2606.18893"
}"""

PAIR_USAGE = """import hf_ecpe  # registers the model classes and the "emotion-cause" pipeline
from transformers import pipeline

extractor = pipeline("emotion-cause", model="{model_id}")
result = extractor("I was so happy, because I passed the exam.")
print(result["pairs"])"""

CONVERSATION_USAGE = """import hf_ecpe  # registers the model classes and the "emotion-cause" pipeline
from transformers import pipeline

extractor = pipeline("emotion-cause", model="{model_id}")
result = extractor({"utterances": ["I lost my keys again.", "Oh no, that is annoying!"], "speakers": ["A", "B"]})
print(result["pairs"])"""

TRIPLET_USAGE = """import hf_ecpe

# hf_ecpe.pipeline reads the emotion categories from the adapter folder (transformers.pipeline needs labels=[...])
extractor = hf_ecpe.pipeline("emotion-cause", model="{model_id}")
result = extractor({"utterances": ["I lost my keys again.", "Oh no, that is annoying!"], "speakers": ["A", "B"]})
print(result["pairs"])  # with categories and character spans"""


def _builtin_methods() -> dict[str, MethodSpec]:
    from hf_ecpe.models import A2NetConfig, A2NetModel, MultimodalPairScorerConfig, MultimodalPairScorerModel

    specs = [
        MethodSpec(
            name="a2net",
            display_name="A2Net",
            config_class=A2NetConfig,
            model_class=A2NetModel,
            collator="hf_ecpe.methods:clause_collator",
            loss_description=(
                "pair BCE over the candidate window + λ1 · (emotion BCE + cause BCE) + λ2 · inter-task alignment "
                "(symmetric KL between the pair scores and the pseudo pair scores built from the emotion and cause "
                "heads)"
            ),
            citation=A2NET_CITATION,
            usage=PAIR_USAGE,
            tags=("a2net",),
            tiny_settings={"pfn_hidden_size": 8, "position_embedding_size": 4},
        ),
        MethodSpec(
            name="pair_scorer",
            display_name="Multimodal pair scorer",
            config_class=MultimodalPairScorerConfig,
            model_class=MultimodalPairScorerModel,
            collator="hf_ecpe.methods:conversation_collator",
            loss_description=(
                "2-way pair cross-entropy over the candidate set + weighted emotion BCE + cause BCE; with RPCL "
                "training, + λ_row · CDMR (row-wise confidence-difference margin against hard negatives) + CCPS "
                "(corrupted-view pair-score stability), training-only terms (Pan et al. 2026, no public code)"
            ),
            citation=RPCL_CITATION,
            usage=CONVERSATION_USAGE,
            tags=("multimodal pair scorer",),
            tiny_settings={"context_hidden_size": 8, "pair_hidden_size": 8, "relative_position_size": 4},
        ),
        MethodSpec(
            name="triplet_llm",
            display_name="Instruction-tuned triplet LLM",
            auto_classes=("AutoModelForCausalLM",),
            output_kind="triplets",
            trainer=None,  # trained by hf_ecpe.scripts.sft (TRL SFTTrainer + LoRA)
            compute_metrics=None,
            evaluator="hf_ecpe.evaluation.evaluators:TripletLLMEvaluator",
            primary_metric="strict_f1",
            label_names=(),
            required_columns=("units", "pairs"),
            loss_description="causal-LM cross-entropy on the completion tokens (TRL SFT, LoRA adapters)",
            citation=TRIPLET_LLM_CITATION,
            usage=TRIPLET_USAGE,
            tags=("triplet-llm", "lora", "sft"),
            train_statistics="examples",
        ),
        _empathy_method(),
        _empathy_lm_method(),
    ]
    # KD-ECS (Chen et al., AAAI 2024): a connective-prediction teacher and the student distilled from it.
    from hf_ecpe.models.kd_ecs import KdEcsStudentConfig, KdEcsStudentModel, KdEcsTeacherConfig, KdEcsTeacherModel

    kd_ecs_citation = """@inproceedings{chen-etal-2024-kd-ecs,
    title = "From Coarse to Fine: A Distillation Method for Fine-Grained Emotion-Causal Span Pair Extraction in Conversation",
    author = "Chen, Xinhao and Yang, Chong and Sun, Changzhi and Lan, Man and Zhou, Aimin",
    booktitle = "Proceedings of the AAAI Conference on Artificial Intelligence",
    volume = "38",
    number = "16",
    pages = "17790--17798",
    year = "2024"
}"""
    # one-token words of the tests' tiny vocabulary (tests/conftest.py TINY_WORDS)
    kd_ecs_tiny = {"causal_connectives": ["because", "when", "that"], "noncausal_connectives": ["but"]}
    tiny_emotion_words = ["today", "happy", "sad", "angry", "afraid", "surprised", "terrible"]
    specs += [
        MethodSpec(
            name="kd_ecs_teacher",
            display_name="KD-ECS teacher",
            config_class=KdEcsTeacherConfig,
            model_class=KdEcsTeacherModel,
            pipeline_tasks=(),  # reads the gold emotions: a training-time model; the student serves the pipeline
            collator="hf_ecpe.data.kd_ecs:collator_factory",
            trainer="hf_ecpe.trainers.kd_ecs:KdEcsTeacherTrainer",
            compute_metrics=None,
            evaluator="hf_ecpe.evaluation.evaluators:KdEcsTeacherEvaluator",
            primary_metric="utterance_macro_f1",
            label_names=("relation_labels",),
            required_columns=("units", "pairs", "emotions"),
            prepare_dataset="hf_ecpe.data.kd_ecs:prepare_dataset",
            loss_description=(
                "cross-entropy of the causal-connective verbaliser (because, as, since, thus / other) at the mask "
                "(or the next token of a causal LM) against the golden connective of the gold relation (Eq. 4)"
            ),
            citation=kd_ecs_citation,
            usage="# the teacher serves distillation: train the student with teacher_model_name_or_path={model_id}",
            tags=("kd-ecs", "teacher", "connective prediction"),
            train_statistics="examples",
            tiny_settings=kd_ecs_tiny,
            extra={"pipeline_class": "hf_ecpe.pipelines.kd_ecs:KdEcsPipeline"},  # refuses the teacher, saying why
        ),
        MethodSpec(
            name="kd_ecs_student",
            display_name="KD-ECS",
            config_class=KdEcsStudentConfig,
            model_class=KdEcsStudentModel,
            collator="hf_ecpe.data.kd_ecs:collator_factory",
            trainer="hf_ecpe.trainers.kd_ecs:KdEcsStudentTrainer",
            compute_metrics=None,
            evaluator="hf_ecpe.evaluation.evaluators:KdEcsStudentEvaluator",
            primary_metric="span_macro_f1",
            label_names=("emotion_labels", "relation_labels", "start_positions", "end_positions"),
            required_columns=("units", "pairs"),
            prepare_dataset="hf_ecpe.data.kd_ecs:prepare_dataset",
            loss_description=(
                "alpha * (emotion CE at <mask_emo> + span start/end CE + gold connective CE at <mask_cau>) + "
                "(1 - alpha) * tau^2 * KL(teacher || student) of the temperature-softened connective distributions "
                "(Eq. 10-13, offline distillation from a frozen teacher)"
            ),
            citation=kd_ecs_citation,
            usage=CONVERSATION_USAGE + '\nprint([(p["category"], p["cause_span_text"]) for p in result["pairs"]])',
            tags=("kd-ecs", "distillation", "span extraction"),
            train_statistics="examples",
            tiny_settings={**kd_ecs_tiny, "emotion_words": tiny_emotion_words},
            extra={"pipeline_class": "hf_ecpe.pipelines.kd_ecs:KdEcsPipeline"},
        ),
    ]
    return {spec.name: spec for spec in specs}


EMPATHY_CITATION = """@inproceedings{gao-etal-2021-improving-empathetic,
    title = "Improving Empathetic Response Generation by Recognizing Emotion Cause in Conversations",
    author = "Gao, Jun and Liu, Yuhan and Deng, Haolin and Wang, Wei and Cao, Yu and Du, Jiachen and Xu, Ruifeng",
    booktitle = "Findings of the Association for Computational Linguistics: EMNLP 2021",
    year = "2021",
    pages = "807--819",
    url = "https://aclanthology.org/2021.findings-emnlp.70"
}"""

EMPATHY_USAGE = """import hf_ecpe  # registers the model classes and the "empathetic-response" pipeline
from transformers import pipeline

responder = pipeline("empathetic-response", model="{model_id}")
result = responder(["i lost my job today .", "oh no , what happened ?", "they closed the whole office ."])
print(result["response"], result["emotion"], result["cause_utterances"])"""


def _empathy_method() -> MethodSpec:
    """Cause-aware empathetic response generation (Gao et al. 2021): docs/empathy.md."""
    from hf_ecpe.models.empathy import EmpathyConfig, EmpathyForConditionalGeneration

    return MethodSpec(
        name="empathy",
        display_name="Cause-aware empathetic generator (emotion reasoner + gated attention)",
        config_class=EmpathyConfig,
        model_class=EmpathyForConditionalGeneration,
        auto_classes=("AutoModelForSeq2SeqLM", "AutoModel"),
        output_kind="response",
        pipeline_tasks=("empathetic-response",),
        collator="hf_ecpe.data.empathy:empathy_collator",
        trainer="hf_ecpe.trainers.empathy:EmpathyTrainer",
        compute_metrics="hf_ecpe.trainers.empathy:empathy_compute_metrics",
        evaluator="hf_ecpe.evaluation.evaluators:EmpathyEvaluator",
        primary_metric="bleu_nltk",
        label_names=("labels", "emotion_labels", "cause_labels"),
        required_columns=("units",),
        loss_description=(
            "reasoner pre-training on L_r = emotion NLL + token cause NLL, then L = L_g (label-smoothed response NLL) "
            "+ L_r; the decoder's gated attention follows the reasoner's cause gates (hard: Gumbel straight-through, "
            "soft: P(cause))"
        ),
        citation=EMPATHY_CITATION,
        usage=EMPATHY_USAGE,
        tags=("empathetic-dialogue", "emotion-cause", "text2text-generation"),
        train_statistics="examples",
        tiny_settings={"d_model": 16, "num_heads": 2, "ffn_dim": 32, "encoder_layers": 1, "decoder_layers": 1},
        prepare_dataset="hf_ecpe.data.empathy:prepare_empathy_dataset",
    )


def _empathy_lm_method() -> MethodSpec:
    """The same mechanism over a pretrained chat LM (hf_ecpe's variant for small data): docs/empathy.md."""
    from hf_ecpe.models.empathy import EmpathyLMConfig, EmpathyLMForCausalLM

    return MethodSpec(
        name="empathy_lm",
        display_name="Cause-aware empathetic generator over a pretrained LM (emotion reasoner + cause-gated attention)",
        config_class=EmpathyLMConfig,
        model_class=EmpathyLMForCausalLM,
        auto_classes=("AutoModelForCausalLM", "AutoModel"),
        output_kind="response",
        pipeline_tasks=("empathetic-response",),
        collator="hf_ecpe.data.empathy:empathy_lm_collator",
        trainer="hf_ecpe.trainers.empathy_lm:EmpathyLMTrainer",
        compute_metrics="hf_ecpe.trainers.empathy_lm:empathy_lm_compute_metrics",
        evaluator="hf_ecpe.evaluation.evaluators:EmpathyEvaluator",
        primary_metric="bleu_nltk",
        label_names=("labels", "emotion_labels", "cause_labels"),
        required_columns=("units",),
        loss_description=(
            "L = reply NLL + w_e · emotion NLL (label-smoothed) + w_c · token cause BCE; the LM's bottom blocks are "
            "frozen, its top blocks train with the cause gates log P(cause) added to their attention scores over the "
            "context and the predicted emotion's embedding added to their input"
        ),
        citation=EMPATHY_CITATION,
        usage=EMPATHY_USAGE,
        tags=("empathetic-dialogue", "emotion-cause", "text-generation"),
        train_statistics="examples",
        tiny_settings={"trainable_layers": 1, "lm_weights_package": None, "max_response_tokens": 8},
        prepare_dataset="hf_ecpe.data.empathy:prepare_empathy_dataset",
        extra={"backbone": "causal_lm"},
    )


METHODS: dict[str, MethodSpec] = {}


def _ensure_builtins() -> None:
    if not METHODS:
        METHODS.update(_builtin_methods())


def register_method_classes(spec: MethodSpec) -> None:
    """``AutoConfig.register`` + ``<Auto class>.register`` + ``register_for_auto_class`` for one method spec
    (idempotent; run for every method by ``import hf_ecpe`` and by :func:`register_method`)."""
    import transformers

    from hf_ecpe._version import __version__

    config_cls, model_cls = spec.config_class, spec.model_class
    if config_cls is None:  # e.g. the triplet LLM: its checkpoints are transformers / PEFT classes
        return
    transformers.AutoConfig.register(config_cls.model_type, config_cls, exist_ok=True)
    config_cls.register_for_auto_class()
    for index, auto_name in enumerate(spec.auto_classes):
        auto_class = getattr(transformers, auto_name)
        auto_class.register(config_cls, model_cls, exist_ok=True)
        if index == 0:
            model_cls.register_for_auto_class(auto_name)
    # Lets the model warn when a checkpoint was made by another hf_ecpe version (None in remote code).
    config_cls.library_version = __version__


def register_method(spec: MethodSpec, *, replace: bool = False) -> MethodSpec:
    """Add ``spec`` to the registry and register its classes with the Auto classes (:func:`register_method_classes`)."""
    _ensure_builtins()
    if spec.name in METHODS and not replace and METHODS[spec.name] != spec:
        raise ValueError(f"a method named {spec.name!r} is already registered; pass replace=True to replace it")
    clash = [
        other.name
        for other in METHODS.values()
        if other.name != spec.name and spec.model_type and other.model_type == spec.model_type
    ]
    if clash:
        raise ValueError(f"model_type {spec.model_type!r} of method {spec.name!r} is already used by {clash}")
    METHODS[spec.name] = spec
    register_method_classes(spec)
    return spec


def unregister_method(name: str) -> None:
    """Remove a method from the registry (tests; its Auto registrations stay, as transformers cannot undo them)."""
    METHODS.pop(name, None)


def methods() -> dict[str, MethodSpec]:
    """All registered methods by recipe name."""
    _ensure_builtins()
    return dict(METHODS)


def get_method(name: str) -> MethodSpec:
    """The method called ``name``; a ``ValueError`` listing the valid names otherwise."""
    _ensure_builtins()
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {sorted(METHODS)}")
    return METHODS[name]


def method_for(model_or_config: Any) -> MethodSpec | None:
    """The method of a model, config or ``model_type`` string; ``None`` when it is not an hf_ecpe model."""
    _ensure_builtins()
    config = getattr(model_or_config, "config", model_or_config)
    model_type = config if isinstance(config, str) else getattr(config, "model_type", None)
    for spec in METHODS.values():
        if spec.model_type is not None and spec.model_type == model_type:
            return spec
    return None


__all__ = [
    "METHODS",
    "OUTPUT_KINDS",
    "MethodSpec",
    "clause_collator",
    "conversation_collator",
    "get_method",
    "method_for",
    "methods",
    "register_method",
    "register_method_classes",
    "resolve",
    "unregister_method",
]
