"""Training arguments of the hf_ecpe trainers: ``TrainingArguments`` plus the library's method-level options."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

from transformers import Seq2SeqTrainingArguments, TrainingArguments


class _ExpectedDistributedNotice(logging.Filter):
    """Drops transformers' "process group is initialized, but parallel_mode != DISTRIBUTED" notice, which it logs
    when an argument copy is made inside a multi-process CPU run (our trainers copy the arguments to force their
    settings); the run is data-parallel all the same (``tests/test_train_script.py`` checks world size 2)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "process group is initialized, but parallel_mode" not in record.getMessage()


logging.getLogger("transformers.training_args").addFilter(_ExpectedDistributedNotice())
# We pass broadcast_buffers=False on purpose (BERT's in-place buffers break DDP buffer broadcasting); torch 2.13
# renamed it forward_sync_buffers, which transformers cannot pass yet. Same behaviour for our models (they rely on no
# buffer being synced at init), so the rename notice is expected.
warnings.filterwarnings("ignore", message="`broadcast_buffers` is deprecated", category=FutureWarning)

THRESHOLD_SELECTIONS = ("auto", "always", "never")
RPCL_MARGINS = ("adaptive", "fixed")


@dataclass
class EcpeTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with the defaults hf_ecpe models need, plus a few method-level options.

    Differences from ``TrainingArguments``: ``remove_unused_columns=False`` (collators need the raw canonical
    columns), ``label_names`` left to the method (the trainer takes them from its :class:`~hf_ecpe.methods.MethodSpec`
    when unset), ``ddp_broadcast_buffers=False`` (BERT buffers modified in place break DDP buffer broadcasting), and
    ``metric_for_best_model="pair_f1"`` when ``load_best_model_at_end`` is set without one.

    Args:
        max_unit_tokens: truncate any single clause/utterance to this many tokens in the collator (off by default:
            documents are never truncated, the model windows long ones).
        lr_restart_period: when set, the learning rate follows the A2Net reference schedule,
            ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(T_0=lr_restart_period, T_mult=lr_restart_mult)``
            stepped once per optimiser step (the reference uses ``T_0=5, T_mult=2``); ``lr_scheduler_type`` and
            warm-up are then ignored. ``none`` on the command line switches a recipe's value off.
        lr_restart_mult: ``T_mult`` of that schedule.
        select_threshold: ``"auto"`` (default): after training, when the model decodes with the ``"threshold"``
            strategy, choose the pair threshold that maximises pair F1 on the evaluation split and store it in the
            saved config (``decode_threshold``, with ``decode_threshold_selected_on``); ``"always"``: also for other
            strategies; ``"never"``: keep the config's threshold.
        rpcl, rpcl_*: the RPCL objectives (Pan et al. 2026) for any pair model (:class:`~hf_ecpe.trainers.PairTrainer`).
            ``rpcl_margin="fixed"`` replaces CDMR's adaptive margin by ``rpcl_m0`` and ``rpcl_protect_gold=False``
            corrupts gold units too: with the loss weights they give the paper's controls and ablations (Tables 3 and
            5; ``docs/paper-experiments.md``). A term whose weights are all 0 is not computed.

    Honoured by :class:`~hf_ecpe.trainers.PairTrainer` (the pair models' trainer):

    Args:
        encoder_learning_rate: learning rate of the encoder's parameters (``model.encoder``); ``learning_rate`` is
            then the rate of every other parameter (RPCL: 1e-5 for RoBERTa, 5e-5 for the rest). Default: one rate.
        early_stopping_patience: stop when ``metric_for_best_model`` has not improved (by more than
            ``early_stopping_threshold``) for this many evaluations (``transformers.EarlyStoppingCallback``; needs
            ``load_best_model_at_end``). Evaluations up to epoch ``early_stopping_start_epoch`` never count (A2Net's
            reference stops only after epoch 35).
        max_train_units: training batches keep the first N units of each document / dialogue (pairs with a unit
            beyond are dropped from the training loss; RPCL: 35 utterances). Evaluation always scores whole
            documents, so no gold pair is ever removed from a score.
        decode_lexicon: the sentiment lexicon of the ``"reference"`` decoding in every evaluation: the 2nd and 3rd
            pair are kept only when their emotion unit is in the lexicon (:mod:`hf_ecpe.evaluation.lexicon`: a
            clause lexicon such as ``ecpe-zh/derived/sentimental_clauses.json``, RankCP/A2Net's, keyed by document
            id, or a word list). A relative path is also looked up under ``$HF_ECPE_DATA``. Stored in the model
            config (``decode_lexicon``) so that ``scripts.evaluate`` decodes the same way.
        cache_frozen_encoder: compute the frozen bottom of the encoder (its embeddings and the blocks that
            ``trainable_encoder_layers`` freezes) once per input and reuse it in every later epoch and evaluation
            (:mod:`hf_ecpe.trainers.frozen_cache`). The frozen part then runs in eval mode, without dropout, also
            in training; the losses equal those of an uncached run whose frozen part is in eval mode. A2Net and the
            pair scorer; single process or DDP. ``frozen_cache_dir`` (also on disk, reused by resumed runs),
            ``frozen_cache_memory_mb`` (LRU bound in memory, default 2048) and ``frozen_cache_dtype`` (``float32``,
            exact; ``float16`` / ``bfloat16`` halve the size) set where and how it is kept.
        audio_features / visual_features: per-utterance feature files (``.npz`` keyed by utterance, or ``.npy`` with
            ``feature_index``, e.g. ECF's ``video_id_mapping.json``) for a conversational pair model built with
            ``audio_dim`` / ``visual_dim`` (RPCL's T+A+V settings); the trainer gives them to its
            ``MultimodalCollator``.
    """

    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Kept False: the collator needs the raw 'units' and 'pairs' columns."}
    )
    label_names: list[str] | None = field(
        default=None, metadata={"help": "Label tensors of the batches (default: the method's, from its MethodSpec)."}
    )
    ddp_broadcast_buffers: bool | None = field(
        default=False, metadata={"help": "False: BERT's in-place buffers break DDP buffer broadcasting."}
    )
    max_unit_tokens: int | None = field(
        default=None, metadata={"help": "Truncate a single unit to this many tokens (default: never truncate)."}
    )
    lr_restart_period: int | None = field(
        default=None,
        metadata={"help": "A2Net reference schedule: CosineAnnealingWarmRestarts T_0 in optimiser steps (e.g. 5)."},
    )
    lr_restart_mult: int = field(default=2, metadata={"help": "T_mult of the warm-restart cosine schedule."})
    select_threshold: str = field(
        default="auto",
        metadata={
            "help": "Choose the pair threshold on the evaluation split after training and store it in the config: "
            "'auto' (threshold decoding only), 'always', 'never'."
        },
    )
    rpcl: bool = field(
        default=False,
        metadata={
            "help": "Add the RPCL objectives (Pan et al. 2026) to the model's loss during training: "
            "L = L_model + rpcl_lambda_row * CDMR + CCPS. Inference is unchanged."
        },
    )
    rpcl_k: int = field(default=8, metadata={"help": "CDMR: hard negatives per emotion row (k)."})
    rpcl_m0: float = field(default=0.05, metadata={"help": "CDMR: base margin m0."})
    rpcl_rho: float = field(default=0.30, metadata={"help": "CCPS: probability of zeroing an unprotected unit."})
    rpcl_lambda_row: float = field(default=0.3, metadata={"help": "Weight of CDMR (lambda_row)."})
    rpcl_lambda_cor: float = field(default=0.75, metadata={"help": "CCPS: weight of the corrupted-view CE."})
    rpcl_lambda_ali: float = field(default=0.2, metadata={"help": "CCPS: weight of the clean/corrupted alignment."})
    rpcl_margin: str = field(
        default="adaptive",
        metadata={"help": "CDMR margin: 'adaptive' (m0 * exp(sg(q_j- - q_j+)), the paper's) or 'fixed' (m0)."},
    )
    rpcl_protect_gold: bool = field(
        default=True,
        metadata={"help": "CCPS: never corrupt units of gold pairs (False: utterance-dropout control)."},
    )
    encoder_learning_rate: float | None = field(
        default=None,
        metadata={"help": "Learning rate of the encoder (learning_rate is then the rest's); default: one rate."},
    )
    early_stopping_patience: int | None = field(
        default=None,
        metadata={"help": "Stop after this many evaluations without improvement of metric_for_best_model."},
    )
    early_stopping_threshold: float = field(
        default=0.0, metadata={"help": "Minimum improvement that resets the early-stopping patience."}
    )
    early_stopping_start_epoch: float = field(
        default=0.0, metadata={"help": "Evaluations up to this epoch never count against the patience."}
    )
    max_train_units: int | None = field(
        default=None,
        metadata={"help": "Training batches keep the first N units of each document (RPCL: 35); eval is whole."},
    )
    audio_features: str | None = field(
        default=None, metadata={"help": "Audio feature file (.npz, or .npy with feature_index) for audio_dim models."}
    )
    visual_features: str | None = field(
        default=None,
        metadata={"help": "Visual feature file (.npz, or .npy with feature_index) for visual_dim models."},
    )
    feature_index: str | None = field(
        default=None, metadata={"help": "JSON {utterance key: row} of .npy feature arrays (ECF: video_id_mapping)."}
    )
    decode_lexicon: str | None = field(
        default=None,
        metadata={
            "help": "Sentiment lexicon of the 'reference' decoding in evaluation (clause-lexicon JSON or word list; "
            "relative paths also under $HF_ECPE_DATA), e.g. ecpe-zh/derived/sentimental_clauses.json."
        },
    )
    cache_frozen_encoder: bool = field(
        default=False,
        metadata={
            "help": "Compute the frozen bottom of the encoder (embeddings + frozen blocks, see "
            "trainable_encoder_layers) once per input, in eval mode (no dropout there), and reuse it in later epochs "
            "and evaluations; only the top blocks run again (hf_ecpe.trainers.frozen_cache)."
        },
    )
    frozen_cache_dir: str | None = field(
        default=None,
        metadata={"help": "Also keep the frozen-layer cache on disk here (reused by resumed runs); default: memory."},
    )
    frozen_cache_memory_mb: float = field(
        default=2048.0, metadata={"help": "Bound of the frozen-layer cache in memory (MiB, LRU)."}
    )
    frozen_cache_dtype: str = field(
        default="float32",
        metadata={"help": "Storage dtype of the frozen-layer cache: float32 (exact), float16 or bfloat16 (half)."},
    )

    def __post_init__(self) -> None:
        if self.load_best_model_at_end and self.metric_for_best_model is None:
            self.metric_for_best_model = "pair_f1"
        super().__post_init__()
        if self.lr_restart_period is not None and self.lr_restart_period < 1:
            raise ValueError(f"lr_restart_period must be a positive number of steps, got {self.lr_restart_period}")
        if self.lr_restart_mult < 1:
            raise ValueError(f"lr_restart_mult must be >= 1, got {self.lr_restart_mult}")
        if self.select_threshold not in THRESHOLD_SELECTIONS:
            raise ValueError(f"select_threshold must be one of {THRESHOLD_SELECTIONS}, got {self.select_threshold!r}")
        if self.rpcl_k < 1 or not 0.0 <= self.rpcl_rho <= 1.0 or self.rpcl_m0 < 0:
            raise ValueError(
                f"RPCL settings out of range: rpcl_k={self.rpcl_k} (>= 1), rpcl_rho={self.rpcl_rho} (in [0, 1]), "
                f"rpcl_m0={self.rpcl_m0} (>= 0)"
            )
        if self.rpcl_margin not in RPCL_MARGINS:
            raise ValueError(f"rpcl_margin must be one of {RPCL_MARGINS}, got {self.rpcl_margin!r}")
        if self.encoder_learning_rate is not None and self.encoder_learning_rate < 0:
            raise ValueError(f"encoder_learning_rate must be >= 0, got {self.encoder_learning_rate}")
        if self.early_stopping_patience is not None:
            if self.early_stopping_patience < 1:
                raise ValueError(f"early_stopping_patience must be >= 1, got {self.early_stopping_patience}")
            if not self.load_best_model_at_end:
                raise ValueError(
                    "early_stopping_patience needs load_best_model_at_end: true (and an eval_strategy), so that the "
                    "best evaluation is the model kept"
                )
        if self.max_train_units is not None and self.max_train_units < 1:
            raise ValueError(f"max_train_units must be >= 1, got {self.max_train_units}")
        from .frozen_cache import STORAGE_DTYPES

        if self.frozen_cache_dtype not in STORAGE_DTYPES:
            raise ValueError(
                f"frozen_cache_dtype must be one of {list(STORAGE_DTYPES)}, got {self.frozen_cache_dtype!r}"
            )
        if self.frozen_cache_memory_mb < 0:
            raise ValueError(f"frozen_cache_memory_mb must be >= 0, got {self.frozen_cache_memory_mb}")


@dataclass
class DistillationTrainingArguments(EcpeTrainingArguments):
    """:class:`EcpeTrainingArguments` for :class:`~hf_ecpe.trainers.DistillationTrainer`.

    Args:
        teacher_model_name_or_path: the trained teacher checkpoint (the training script loads it; a trainer built in
            Python takes ``teacher_model=`` instead).
        teacher_dropout: keep the frozen teacher in train mode (dropout on), as some reference code does by leaving
            it in train mode; default False: the teacher runs in eval mode.
    """

    teacher_model_name_or_path: str | None = field(
        default=None, metadata={"help": "Checkpoint of the trained (then frozen) teacher."}
    )
    teacher_dropout: bool = field(
        default=False, metadata={"help": "Teacher in train mode (dropout on), as the reference code leaves it."}
    )


@dataclass
class GenerationTrainingArguments(EcpeTrainingArguments, Seq2SeqTrainingArguments):
    """:class:`EcpeTrainingArguments` + ``Seq2SeqTrainingArguments`` (``predict_with_generate``, generation length
    and beams) for :class:`~hf_ecpe.trainers.GenerationTrainer`."""


__all__ = [
    "RPCL_MARGINS",
    "THRESHOLD_SELECTIONS",
    "DistillationTrainingArguments",
    "EcpeTrainingArguments",
    "GenerationTrainingArguments",
]
