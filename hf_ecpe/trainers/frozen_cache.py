"""Frozen-layer cache: the frozen bottom of an encoder is computed once per input and reused.

With ``trainable_encoder_layers: N`` only the top N transformer blocks of the encoder train; the embeddings and the
blocks below never change, so their output for a given input is the same in every epoch. With
``cache_frozen_encoder: true`` (:class:`~hf_ecpe.trainers.EcpeTrainingArguments`) the trainer installs a
:class:`FrozenEncoderCache` as the model's ``encoder_runner`` (the hook of ``_run_encoder`` in the A2Net and pair
scorer model folders): every encoder pass then

1. looks up, for each input row (each window of a long document), the states after the frozen blocks under a key
   made of the row's token ids, attention mask and segment ids, the frozen part's identity (a hash of its weights,
   buffers and config) and the frozen depth; computes the rows it misses in one batch **in eval mode** (no dropout
   in the frozen part) without gradients, and stores them;
2. runs only the top blocks over those states, in the model's current mode, through the encoder's own ``forward``
   (its embeddings and lower blocks swapped out for the duration of the call), so the attention mask, MPNet's
   relative position bias and any other per-forward preparation are the model's own.

Semantics: the frozen part runs in eval mode, also during training (without the cache it would apply dropout there).
Training losses then equal those of an uncached run whose frozen part is in eval mode (``tests/test_frozen_cache.py``
checks 1e-5 on a tiny BERT and a tiny MPNet); the trainable top and the heads keep their dropout.

Storage and bounds: entries are CPU tensors `(tokens, hidden)` in ``frozen_cache_dtype`` (float32: exact; float16 /
bfloat16 halve the memory and round the states). An LRU in memory holds at most ``frozen_cache_memory_mb``; with
``frozen_cache_dir`` every entry is also written to disk (one safetensors file per row, written atomically, so a
killed run never leaves a half-written entry; one file per distinct input row: tokens x hidden x bytes per value in
all, e.g. ≈ 1.5 kB per token for a 768-wide encoder in float16) and read back after eviction or in a resumed run.
Without a folder, evicted rows are recomputed when next seen. Entries live under a sub-folder named by the frozen
part's fingerprint and depth: another encoder, other frozen weights or another depth never read them, and the
sub-folders of old runs can be deleted at any time.

Safety: on its first batch for a given frozen part the cache checks, in eval mode, that frozen-then-top reproduces
the encoder's whole forward (else it raises: the encoder's forward does more between its embeddings and blocks than
this split knows). Encoders with ``embeddings`` and a block list (:func:`hf_ecpe.defaults.encoder_layers`) that
run ``embeddings -> blocks`` (BERT, RoBERTa, XLM-R, MPNet, ...) pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import TrainerCallback

logger = logging.getLogger(__name__)

STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
#: Largest |frozen-then-top - whole forward| the first-batch check accepts (float32, eval mode).
CHECK_TOLERANCE = 1e-4


class _PrecomputedStates(nn.Module):
    """Stands in for an encoder's embeddings module: returns the given states whatever it is called with."""

    def __init__(self, states: torch.Tensor) -> None:
        super().__init__()
        self.states = states

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.states


@contextlib.contextmanager
def _replaced(parent: nn.Module, name: str, module: nn.Module) -> Iterator[None]:
    """``parent.<name>`` is ``module`` inside the block."""
    original = getattr(parent, name)
    setattr(parent, name, module)
    try:
        yield
    finally:
        setattr(parent, name, original)


@contextlib.contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """``module`` and its submodules in eval mode inside the block; each one's own mode restored after."""
    modes = [(sub, sub.training) for sub in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for sub, training in modes:
            sub.training = training


def _layer_list(base: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    """``(parent, attribute, blocks)`` of the encoder's transformer blocks."""
    from hf_ecpe.defaults import encoder_layers

    path, blocks = encoder_layers(base)
    parent_path, _, name = path.rpartition(".")
    return (base.get_submodule(parent_path) if parent_path else base), name, blocks


def base_encoder(encoder: nn.Module) -> nn.Module:
    """The base model of ``encoder`` (a model with a head, e.g. ``MPNetForMaskedLM``, runs its base model here)."""
    return getattr(encoder, "base_model", encoder)


def frozen_depth(encoder: nn.Module) -> int:
    """How many bottom blocks of ``encoder`` are frozen, counting only when everything outside the blocks (embeddings,
    position bias, ...) is frozen too: 0 when anything outside them trains."""
    base = base_encoder(encoder)
    _, _, blocks = _layer_list(base)
    in_blocks = {id(p) for p in blocks.parameters()}
    if any(p.requires_grad for p in base.parameters() if id(p) not in in_blocks):
        return 0
    depth = 0
    for block in blocks:
        if any(p.requires_grad for p in block.parameters()):
            break
        depth += 1
    return depth


def disable_frozen_dropout(encoder: nn.Module) -> int:
    """Set ``p = 0`` in every ``nn.Dropout`` of ``encoder``'s frozen part (everything outside its trainable top
    blocks), so that an uncached run computes what the cache computes (its frozen part in eval mode) for encoders
    whose only train/eval difference is dropout (BERT, RoBERTa, MPNet, ...). Returns how many modules changed."""
    base = base_encoder(encoder)
    _, _, blocks = _layer_list(base)
    top = {id(module) for block in list(blocks)[frozen_depth(encoder) :] for module in block.modules()}
    changed = 0
    for module in base.modules():
        if isinstance(module, nn.Dropout) and id(module) not in top:
            module.p = 0.0
            changed += 1
    return changed


def _tensor_bytes(tensor: torch.Tensor) -> memoryview:
    return memoryview(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())


def frozen_fingerprint(encoder: nn.Module, depth: int) -> str:
    """A hash of what the frozen part computes with: the encoder class and config, and every parameter and buffer
    of the base model outside the top ``len(blocks) - depth`` blocks (names, dtypes, shapes and values)."""
    base = base_encoder(encoder)
    _, _, blocks = _layer_list(base)
    top = {id(t) for block in list(blocks)[depth:] for t in [*block.parameters(), *block.buffers()]}
    digest = hashlib.blake2b(digest_size=20)
    config = base.config.to_dict() if hasattr(base, "config") else {}
    config.pop("_name_or_path", None)
    config["_attn_implementation"] = getattr(getattr(base, "config", None), "_attn_implementation", None)
    digest.update(type(base).__qualname__.encode())
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    digest.update(f"depth={depth}".encode())
    named = [*base.named_parameters(remove_duplicate=False), *base.named_buffers(remove_duplicate=False)]
    for name, tensor in sorted(named, key=lambda item: item[0]):
        if id(tensor) in top:
            continue
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(_tensor_bytes(tensor))
    return digest.hexdigest()


class FrozenEncoderCache:
    """Computes the frozen bottom of an encoder once per input row and runs only its top blocks (module docstring).

    Called by the model as ``runner(encoder, input_ids=..., attention_mask=..., token_type_ids=..., ...)`` in place
    of ``encoder(...)``; returns the last hidden state `(B, T, D)` (of the base model for an encoder with a head).

    Args:
        cache_dir: folder for the disk-backed store (None: memory only).
        max_memory_mb: bound of the in-memory LRU (MiB of stored tensors).
        dtype: storage dtype name, one of :data:`STORAGE_DTYPES`.
        check: verify frozen-then-top against the whole forward on the first batch of each frozen part.
    """

    def __init__(
        self,
        *,
        cache_dir: str | os.PathLike | None = None,
        max_memory_mb: float = 2048.0,
        dtype: str = "float32",
        check: bool = True,
    ) -> None:
        if dtype not in STORAGE_DTYPES:
            raise ValueError(f"frozen_cache_dtype must be one of {sorted(STORAGE_DTYPES)}, got {dtype!r}")
        if max_memory_mb < 0:
            raise ValueError(f"frozen_cache_memory_mb must be >= 0, got {max_memory_mb}")
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.max_memory_bytes = int(max_memory_mb * 2**20)
        self.dtype_name = dtype
        self.storage_dtype = STORAGE_DTYPES[dtype]
        self.check = check
        self._memory: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._memory_bytes = 0
        self._namespace: str | None = None
        self._encoder: weakref.ref | None = None  # the encoder last identified (a new object is re-identified)
        self.depth: int | None = None
        self._warned_eviction = False
        self._checked = not check
        self.stats = {"rows": 0, "memory_hits": 0, "disk_hits": 0, "computed": 0, "evicted": 0, "disk_writes": 0}

    # ------------------------------------------------------------------ identity
    def reset(self) -> None:
        """Forget which frozen part the cache saw last: the next call re-reads the frozen depth and re-hashes the
        frozen weights (the trainer calls this when training starts, after a resumed checkpoint is loaded, and
        when it ends). Entries of another fingerprint are never read."""
        self._encoder = None

    def _identify(self, encoder: nn.Module) -> str:
        """The namespace of ``encoder``'s frozen part (computed when the encoder is new to the cache or after
        :meth:`reset`)."""
        if self._encoder is not None and self._encoder() is encoder and self._namespace is not None:
            return self._namespace
        depth = frozen_depth(encoder)
        if depth == 0:
            raise ValueError(
                f"cache_frozen_encoder: the {type(encoder).__name__} encoder has no frozen bottom (its embeddings "
                "or its first block train); freeze it first, e.g. trainable_encoder_layers: 2"
            )
        fingerprint = frozen_fingerprint(encoder, depth)
        namespace = f"{fingerprint[:24]}-frozen{depth}-{self.dtype_name}"
        if namespace != self._namespace:
            self._memory.clear()
            self._memory_bytes = 0
            self._checked = not self.check
            _, _, blocks = _layer_list(base_encoder(encoder))
            logger.info(
                "frozen-layer cache: the embeddings and bottom %d of %d blocks of %s are computed once per input "
                "(eval mode) and stored as %s (memory bound %.0f MiB%s)",
                depth,
                len(blocks),
                type(base_encoder(encoder)).__name__,
                self.dtype_name,
                self.max_memory_bytes / 2**20,
                f", disk {self.cache_dir / namespace}" if self.cache_dir else ", no disk folder",
            )
            if self.cache_dir is not None:
                folder = self.cache_dir / namespace
                folder.mkdir(parents=True, exist_ok=True)
                description = {"encoder": type(base_encoder(encoder)).__name__, "frozen_blocks": depth}
                description.update(blocks=len(blocks), dtype=self.dtype_name, fingerprint=fingerprint)
                _atomic_write_text(folder / "namespace.json", json.dumps(description, indent=2))
        self._namespace, self._encoder, self.depth = namespace, weakref.ref(encoder), depth
        return namespace

    # ------------------------------------------------------------------ store
    def _row_key(self, namespace: str, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor | None) -> str:
        digest = hashlib.blake2b(namespace.encode(), digest_size=20)
        for part in (ids, mask, types):
            digest.update(b"|" if part is None else _tensor_bytes(part.to(torch.int64)))
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.cache_dir / self._namespace / key[:2] / f"{key}.safetensors"

    def _get(self, key: str) -> torch.Tensor | None:
        states = self._memory.get(key)
        if states is not None:
            self._memory.move_to_end(key)
            self.stats["memory_hits"] += 1
            return states
        if self.cache_dir is None:
            return None
        path = self._path(key)
        if not path.is_file():
            return None
        from safetensors.torch import load_file

        try:
            states = load_file(str(path))["states"]
        except Exception as err:  # noqa: BLE001 - an unreadable entry is recomputed and rewritten
            logger.warning("frozen-layer cache: unreadable entry %s (%s); recomputing it", path, err)
            return None
        self.stats["disk_hits"] += 1
        self._remember(key, states)
        return states

    def _put(self, key: str, states: torch.Tensor) -> None:
        self._remember(key, states)
        if self.cache_dir is not None:
            from safetensors.torch import save_file

            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            save_file({"states": states}, str(temporary))
            os.replace(temporary, path)  # atomic: readers see the whole entry or none
            self.stats["disk_writes"] += 1

    def _remember(self, key: str, states: torch.Tensor) -> None:
        size = states.numel() * states.element_size()
        if size > self.max_memory_bytes:
            return
        previous = self._memory.pop(key, None)
        if previous is not None:
            self._memory_bytes -= previous.numel() * previous.element_size()
        self._memory[key] = states
        self._memory_bytes += size
        while self._memory_bytes > self.max_memory_bytes:
            _, old = self._memory.popitem(last=False)
            self._memory_bytes -= old.numel() * old.element_size()
            self.stats["evicted"] += 1
            if self.cache_dir is None and not self._warned_eviction:
                self._warned_eviction = True
                logger.warning(
                    "frozen-layer cache: the memory bound (%.0f MiB) is reached and there is no frozen_cache_dir; "
                    "evicted rows are recomputed when next seen (raise frozen_cache_memory_mb or set "
                    "frozen_cache_dir)",
                    self.max_memory_bytes / 2**20,
                )

    @property
    def memory_bytes(self) -> int:
        """Bytes of the tensors held in memory now."""
        return self._memory_bytes

    # ------------------------------------------------------------------ compute
    def _run_bottom(self, base: nn.Module, inputs: dict[str, torch.Tensor], depth: int) -> torch.Tensor:
        """`(B, T, D)`: embeddings + the bottom ``depth`` blocks, eval mode, no gradients."""
        parent, name, blocks = _layer_list(base)
        with (
            torch.inference_mode(False),
            torch.no_grad(),
            _eval_mode(base),
            _replaced(parent, name, nn.ModuleList(list(blocks)[:depth])),
        ):
            return base(**inputs, return_dict=True).last_hidden_state

    def run_top(self, base: nn.Module, states: torch.Tensor, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """`(B, T, D)`: the top blocks over frozen ``states`` `(B, T, D)`, in the encoder's current mode, through its
        own forward (embeddings replaced by the states, the bottom blocks left out)."""
        parent, name, blocks = _layer_list(base)
        with (
            _replaced(base, "embeddings", _PrecomputedStates(states)),
            _replaced(parent, name, nn.ModuleList(list(blocks)[self.depth :])),
        ):
            return base(**inputs, return_dict=True).last_hidden_state

    def frozen_states(self, encoder: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """`(B, T, D)` states after the frozen blocks for a right-padded batch (``input_ids``, ``attention_mask``,
        optional ``token_type_ids``): from the store where present, computed once otherwise. Positions after a row's
        last attended token are zero (the top blocks never attend to them)."""
        namespace = self._identify(encoder)
        base = base_encoder(encoder)
        input_ids, attention_mask = inputs["input_ids"], inputs["attention_mask"]
        types = inputs.get("token_type_ids")
        ids_cpu, mask_cpu = input_ids.detach().cpu(), attention_mask.detach().cpu()
        types_cpu = types.detach().cpu() if types is not None else None
        batch, width = ids_cpu.shape
        attended = mask_cpu.ne(0)
        lengths = [int(row.nonzero().max()) + 1 if bool(row.any()) else 0 for row in attended]
        keys, found, missing = [], {}, []
        for row in range(batch):
            end = lengths[row]
            key = self._row_key(
                namespace,
                ids_cpu[row, :end],
                mask_cpu[row, :end],
                types_cpu[row, :end] if types_cpu is not None else None,
            )
            keys.append(key)
            states = self._get(key)
            if states is None:
                missing.append(row)
            else:
                found[row] = states
        self.stats["rows"] += batch
        if missing:
            rows = torch.tensor(missing, device=input_ids.device)
            sub_inputs = {name: value.index_select(0, rows) for name, value in inputs.items()}
            computed = self._run_bottom(base, sub_inputs, self.depth)
            self.stats["computed"] += len(missing)
            for index, row in enumerate(missing):
                states = computed[index, : lengths[row]].to("cpu", self.storage_dtype).clone()
                self._put(keys[row], states)
                found[row] = states
        dtype = next(base.parameters()).dtype
        output = torch.zeros((batch, width, found[0].size(-1) if batch else 0), dtype=dtype)
        for row, states in found.items():
            output[row, : states.size(0)] = states.to(dtype)
        return output.to(input_ids.device)

    def __call__(self, encoder: nn.Module, **kwargs: Any) -> torch.Tensor:
        """The encoder's last hidden state `(B, T, D)` for ``input_ids`` / ``attention_mask`` / ``token_type_ids``
        (other keyword arguments of ``encoder(...)``, e.g. ``return_dict``, are accepted and ignored)."""
        inputs = {
            name: kwargs[name]
            for name in ("input_ids", "attention_mask", "token_type_ids")
            if kwargs.get(name) is not None
        }
        if "attention_mask" not in inputs:
            inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        states = self.frozen_states(encoder, inputs)
        base = base_encoder(encoder)
        if not self._checked:
            self._check(base, inputs)
        return self.run_top(base, states, inputs)

    def _check(self, base: nn.Module, inputs: dict[str, torch.Tensor]) -> None:
        """Raise unless frozen-then-top equals the whole forward on this batch (eval mode, attended positions, the
        frozen states unrounded)."""
        with torch.inference_mode(False), torch.no_grad(), _eval_mode(base):
            whole = base(**inputs, return_dict=True).last_hidden_state
            split = self.run_top(base, self._run_bottom(base, inputs, self.depth), inputs)
        attended = inputs["attention_mask"].bool()
        difference = float((whole - split).abs()[attended].max()) if bool(attended.any()) else 0.0
        scale = max(1.0, float(whole.abs()[attended].max())) if bool(attended.any()) else 1.0
        if difference > CHECK_TOLERANCE * scale:
            raise RuntimeError(
                f"cache_frozen_encoder: running the bottom {self.depth} blocks of {type(base).__name__} and then its "
                f"top blocks does not reproduce its forward (max difference {difference:.2e}); this encoder does "
                "more between its embeddings and its blocks than the cache can split. Train without "
                "cache_frozen_encoder."
            )
        self._checked = True

    def describe(self) -> dict[str, Any]:
        """Counters and sizes, for logs and benchmarks."""
        return {
            **self.stats,
            "frozen_blocks": self.depth,
            "memory_mb": round(self._memory_bytes / 2**20, 2),
            "entries_in_memory": len(self._memory),
            "dtype": self.dtype_name,
            "cache_dir": str(self.cache_dir / self._namespace) if self.cache_dir and self._namespace else None,
        }


def _atomic_write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def install_frozen_cache(model: nn.Module, args: Any) -> FrozenEncoderCache:
    """Give ``model`` (unwrapped) a :class:`FrozenEncoderCache` built from the ``frozen_cache_*`` training arguments
    as its ``encoder_runner``; raises a ValueError saying what to do when the model or the run cannot use one."""
    if not hasattr(type(model), "encoder_runner") or not isinstance(getattr(model, "encoder", None), nn.Module):
        raise ValueError(
            f"cache_frozen_encoder: {type(model).__name__} has no encoder_runner hook (supported: the models whose "
            "encoder is a transformers encoder with frozen bottom layers: A2Net and the pair scorer); train without "
            "cache_frozen_encoder"
        )
    if getattr(args, "fsdp", None) or getattr(args, "deepspeed", None):
        raise ValueError(
            "cache_frozen_encoder works in single-process and data-parallel (DDP) runs, not under FSDP or DeepSpeed"
        )
    if frozen_depth(model.encoder) == 0:
        raise ValueError(
            "cache_frozen_encoder needs an encoder whose embeddings and bottom blocks are frozen: set "
            "trainable_encoder_layers (e.g. 2) or freeze them with hf_ecpe.defaults.freeze_encoder_below"
        )
    cache = FrozenEncoderCache(
        cache_dir=getattr(args, "frozen_cache_dir", None),
        max_memory_mb=getattr(args, "frozen_cache_memory_mb", 2048.0),
        dtype=getattr(args, "frozen_cache_dtype", "float32"),
    )
    model.encoder_runner = cache
    return cache


class FrozenCacheCallback(TrainerCallback):
    """Re-identifies the frozen part when training starts (after a resumed checkpoint's weights are loaded) and ends
    (after the best model is loaded back), and logs the cache's counters at the end."""

    def __init__(self, cache: FrozenEncoderCache) -> None:
        self.cache = cache

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.cache.reset()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.cache.reset()
        if state.is_world_process_zero:
            logger.info("frozen-layer cache: %s", self.cache.describe())


def attach_frozen_cache(trainer: Any) -> FrozenEncoderCache | None:
    """When ``trainer.args.cache_frozen_encoder``: install a cache on the trainer's model
    (:func:`install_frozen_cache`) and the callback that keeps it current; returns the cache (None when off)."""
    if not getattr(trainer.args, "cache_frozen_encoder", False):
        return None
    if trainer.model is None:
        raise ValueError("cache_frozen_encoder needs the model itself (model=...), not model_init")
    cache = install_frozen_cache(trainer.accelerator.unwrap_model(trainer.model), trainer.args)
    trainer.add_callback(FrozenCacheCallback(cache))
    return cache


__all__ = [
    "STORAGE_DTYPES",
    "FrozenCacheCallback",
    "FrozenEncoderCache",
    "attach_frozen_cache",
    "base_encoder",
    "disable_frozen_dropout",
    "frozen_depth",
    "frozen_fingerprint",
    "install_frozen_cache",
]
