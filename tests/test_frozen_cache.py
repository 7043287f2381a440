"""The frozen-layer cache (``cache_frozen_encoder``, :mod:`hf_ecpe.trainers.frozen_cache`): same outputs and training
losses as an uncached run whose frozen part is in eval mode, on a tiny random BERT and a tiny random MPNet, with long
documents windowed; invalidation; resume after a kill; two processes under ``accelerate launch``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from conftest import TINY_WORDS
from transformers import BertConfig, BertModel, BertTokenizer, MPNetConfig, MPNetModel, MPNetTokenizer

from hf_ecpe import A2NetModel, MultimodalPairScorerModel
from hf_ecpe.data.corpora.synthetic import synthetic_corpus
from hf_ecpe.defaults import freeze_encoder_below
from hf_ecpe.trainers import EcpeTrainingArguments, PairTrainer
from hf_ecpe.trainers.frozen_cache import (
    FrozenEncoderCache,
    disable_frozen_dropout,
    frozen_depth,
    frozen_fingerprint,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
LAYERS = 3  # 2 frozen + 1 trainable


def _save_encoder(path: Path, kind: str) -> Path:
    """A tiny random 3-layer BERT or MPNet (dropout 0.1 everywhere) with a word-level tokenizer, saved to ``path``."""
    torch.manual_seed(0)
    path.mkdir(parents=True, exist_ok=True)
    if kind == "bert":
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        vocab = {token: i for i, token in enumerate(dict.fromkeys(specials + TINY_WORDS))}
        tokenizer = BertTokenizer(vocab=vocab, do_lower_case=True)
        config = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=40)
        model_class = BertModel
    else:  # RoBERTa-style specials: <s>=0, <pad>=1, </s>=2; no segment embeddings
        specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        vocab = {token: i for i, token in enumerate(dict.fromkeys(specials + TINY_WORDS))}
        tokenizer = MPNetTokenizer(vocab=vocab, do_lower_case=True, unk_token="<unk>")
        config = MPNetConfig(vocab_size=len(tokenizer), max_position_embeddings=42, pad_token_id=1)
        model_class = MPNetModel
    assert len(tokenizer) == len(vocab) > 50
    config.update(dict(hidden_size=16, num_hidden_layers=LAYERS, num_attention_heads=2, intermediate_size=32))
    model_class(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module", params=["bert", "mpnet"])
def encoder_dir(request, tmp_path_factory) -> Path:
    return _save_encoder(tmp_path_factory.mktemp(f"tiny_{request.param}"), request.param)


def _model(encoder_dir: Path, method: str = "pair_scorer", trainable: int = 1):
    torch.manual_seed(1)
    if method == "pair_scorer":
        model = MultimodalPairScorerModel.from_encoder(
            str(encoder_dir), context_hidden_size=16, pair_hidden_size=16, relative_position_size=8
        )
    else:
        model = A2NetModel.from_encoder(str(encoder_dir), pfn_hidden_size=16, position_embedding_size=8)
    freeze_encoder_below(model, trainable)
    return model


def _data():
    corpus = synthetic_corpus(12, seed=3)
    long_row = dict(corpus["train"][0])  # longer than the 40-position window: encoded in overlapping windows
    long_row["units"] = [unit + " and the dog was so happy today" for unit in long_row["units"]] * 2
    long_row["id"] = "long"
    long_row["pairs"] = list(long_row["pairs"])
    rows = [long_row, *corpus["train"]]
    from datasets import Dataset

    return Dataset.from_list(rows, features=corpus["train"].features), corpus["validation"]


def _trainer(model, encoder_dir: Path, output_dir: Path, train, evaluation, **settings) -> PairTrainer:
    from transformers import AutoTokenizer

    defaults = {"num_train_epochs": 3, "eval_strategy": "epoch", "save_strategy": "no"}
    args = EcpeTrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        learning_rate=3e-3,
        logging_steps=1,
        seed=7,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
        **{**defaults, **settings},
    )
    return PairTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=evaluation,
        processing_class=AutoTokenizer.from_pretrained(encoder_dir),
    )


def _losses(trainer: PairTrainer) -> tuple[list[float], list[float]]:
    history = trainer.state.log_history
    return (
        [entry["loss"] for entry in history if "loss" in entry],
        [entry["eval_loss"] for entry in history if "eval_loss" in entry],
    )


# ---------------------------------------------------------------------------------------------------------------
# The model's encoder path
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["pair_scorer", "a2net"])
def test_cached_forward_equals_the_whole_encoder_in_eval_mode(encoder_dir, method):
    """Frozen bottom from the cache + top blocks = the whole encoder, windows of a long document included; the second
    pass reads every row from memory."""
    from transformers import AutoTokenizer

    from hf_ecpe.methods import method_for

    model = _model(encoder_dir, method).eval()
    train, _ = _data()
    collator = method_for(model).build_collator(AutoTokenizer.from_pretrained(encoder_dir), model.config, None)
    batch = collator([train[i] for i in range(4)])
    assert int(batch["attention_mask"].sum(-1).max()) > model.max_window_tokens  # the long row is windowed
    with torch.no_grad():
        reference = model(**batch)
        cache = FrozenEncoderCache()
        model.encoder_runner = cache
        first = model(**batch)
        computed = cache.stats["computed"]
        second = model(**batch)
    assert cache.depth == LAYERS - 1 and computed > 4  # more rows than documents: the windows
    assert cache.stats["computed"] == computed and cache.stats["memory_hits"] == computed
    for output in (first, second):
        assert torch.allclose(output.pair_logits, reference.pair_logits, atol=1e-5, rtol=0)
        assert torch.allclose(output.emotion_logits, reference.emotion_logits, atol=1e-5, rtol=0)


def test_benchmark_top_only_runner_computes_what_the_cache_computes(encoder_dir):
    """``benchmarks/frozen_cache.py`` times the limit of any cache with a runner that is handed the frozen states
    directly; it must compute the same outputs as the cache (windows of a long document included), or its timing
    would measure another model."""
    from conftest import import_benchmark
    from transformers import AutoTokenizer

    from hf_ecpe.methods import method_for

    model = _model(encoder_dir).eval()
    train, _ = _data()
    collator = method_for(model).build_collator(AutoTokenizer.from_pretrained(encoder_dir), model.config, None)
    batch = collator([train[i] for i in range(4)])
    with torch.no_grad():
        cache = FrozenEncoderCache()
        model.encoder_runner = cache
        cached = model(**batch)
        model.encoder_runner = import_benchmark("frozen_cache").TopBlocksOnly(FrozenEncoderCache())
        first, second = model(**batch), model(**batch)
    assert sum(states.shape[0] for states in model.encoder_runner.states.values()) > 4  # rows = the windows
    for output in (first, second):
        assert torch.allclose(output.pair_logits, cached.pair_logits, atol=1e-6, rtol=0)


# ---------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------


def test_training_losses_equal_the_uncached_run_with_the_frozen_part_in_eval_mode(encoder_dir, tmp_path):
    train, evaluation = _data()
    reference_model = _model(encoder_dir)
    assert disable_frozen_dropout(reference_model.encoder) > 0
    reference = _trainer(reference_model, encoder_dir, tmp_path / "reference", train, evaluation)
    reference.train()
    cached = _trainer(
        _model(encoder_dir), encoder_dir, tmp_path / "cached", train, evaluation, cache_frozen_encoder=True
    )
    cached.train()
    expected_train, expected_eval = _losses(reference)
    got_train, got_eval = _losses(cached)
    assert len(got_train) == len(expected_train) >= 9 and len(got_eval) == len(expected_eval) == 3
    assert got_train == pytest.approx(expected_train, abs=1e-5, rel=0)
    assert got_eval == pytest.approx(expected_eval, abs=1e-5, rel=0)
    assert cached.model_card_data.hyperparameters["cache_frozen_encoder"] is True  # the card says so
    assert "cache_frozen_encoder" not in reference.model_card_data.hyperparameters
    stats = cached.frozen_encoder_cache.describe()
    assert stats["frozen_blocks"] == LAYERS - 1
    # every distinct row (train windows + evaluation rows) computed once, later epochs and evaluations read it
    assert stats["computed"] < stats["rows"] / 2 and stats["memory_hits"] == stats["rows"] - stats["computed"]

    # the comparison is sensitive: with dropout in the frozen part (the plain uncached run) the losses differ
    plain = _trainer(_model(encoder_dir), encoder_dir, tmp_path / "plain", train, evaluation, num_train_epochs=1)
    plain.train()
    plain_train, _ = _losses(plain)
    assert max(abs(a - b) for a, b in zip(plain_train, expected_train)) > 1e-4


def test_settings_are_checked(encoder_dir, tmp_path):
    train, evaluation = _data()
    model = _model(encoder_dir, trainable=LAYERS)  # nothing frozen below the blocks: the embeddings train too
    for parameter in model.encoder.embeddings.parameters():
        parameter.requires_grad_(True)
    with pytest.raises(ValueError, match="trainable_encoder_layers"):
        _trainer(model, encoder_dir, tmp_path / "a", train, evaluation, cache_frozen_encoder=True)
    with pytest.raises(ValueError, match="frozen_cache_dtype"):
        EcpeTrainingArguments(output_dir=str(tmp_path / "b"), frozen_cache_dtype="int8")
    assert EcpeTrainingArguments(output_dir=str(tmp_path / "c")).cache_frozen_encoder is False  # off by default


# ---------------------------------------------------------------------------------------------------------------
# Keys, storage, invalidation
# ---------------------------------------------------------------------------------------------------------------


def test_invalidated_by_data_weights_and_depth_and_stored_on_disk(encoder_dir, tmp_path):
    model = _model(encoder_dir).eval()
    encoder = model.encoder
    ids = torch.tensor([[2, 7, 8, 9, 3, 0], [2, 10, 11, 3, 0, 0]])
    if encoder.config.model_type == "mpnet":
        ids = ids.masked_fill(ids == 0, 1)
    mask = (torch.arange(6)[None, :] < torch.tensor([[5], [4]])).long()
    cache = FrozenEncoderCache(cache_dir=tmp_path / "cache", max_memory_mb=0)  # memory bound 0: disk only
    with torch.no_grad():
        first = cache(encoder, input_ids=ids, attention_mask=mask)
        assert cache.stats["computed"] == 2 and cache.stats["disk_writes"] == 2
        again = cache(encoder, input_ids=ids, attention_mask=mask)
        assert cache.stats["computed"] == 2 and cache.stats["disk_hits"] == 2  # read back from disk
        assert torch.equal(first, again)
        # padding width does not change a row's key
        cache(encoder, input_ids=torch.cat([ids, ids[:, -1:]], 1), attention_mask=torch.cat([mask, mask[:, -1:]], 1))
        assert cache.stats["computed"] == 2
        # other data: a changed token is a new row
        changed = ids.clone()
        changed[0, 2] = 12
        cache(encoder, input_ids=changed, attention_mask=mask)
        assert cache.stats["computed"] == 3
    namespaces = {path.name for path in (tmp_path / "cache").iterdir()}
    assert len(namespaces) == 1 and (tmp_path / "cache" / namespaces.pop() / "namespace.json").is_file()

    fingerprint = frozen_fingerprint(encoder, 2)
    # other frozen weights
    with torch.no_grad():
        encoder.embeddings.word_embeddings.weight[5] += 1.0
    assert frozen_fingerprint(encoder, 2) != fingerprint
    cache.reset()
    with torch.no_grad():
        cache(encoder, input_ids=ids, attention_mask=mask)
    assert cache.stats["computed"] == 5
    # another depth
    for parameter in encoder.encoder.layer[1].parameters():  # the top 2 blocks train now
        parameter.requires_grad_(True)
    assert frozen_depth(encoder) == 1
    cache.reset()
    with torch.no_grad():
        cache(encoder, input_ids=ids, attention_mask=mask)
    assert cache.stats["computed"] == 7 and cache.depth == 1
    assert len(list((tmp_path / "cache").iterdir())) == 3
    # a damaged entry is recomputed, not trusted
    entry = next((tmp_path / "cache").glob("*-frozen1-*/*/*.safetensors"))
    entry.write_bytes(b"not a tensor")
    fresh = FrozenEncoderCache(cache_dir=tmp_path / "cache")
    with torch.no_grad():
        fresh(encoder, input_ids=ids, attention_mask=mask)
    assert fresh.stats["computed"] == 1 and fresh.stats["disk_hits"] == 1


def test_memory_bound_evicts_least_recently_used(encoder_dir):
    model = _model(encoder_dir).eval()
    row_bytes = 5 * 16 * 4  # 5 tokens x 16 wide x float32
    cache = FrozenEncoderCache(max_memory_mb=2.5 * row_bytes / 2**20)  # room for two rows
    with torch.no_grad():
        for token in (7, 8, 9):
            cache(model.encoder, input_ids=torch.tensor([[token, 8, 9, 10, 11]]), attention_mask=torch.ones(1, 5))
        assert cache.stats["evicted"] == 1 and cache.memory_bytes == 2 * row_bytes
        cache(model.encoder, input_ids=torch.tensor([[7, 8, 9, 10, 11]]), attention_mask=torch.ones(1, 5))
    assert cache.stats["computed"] == 4  # the evicted first row is recomputed
    half = FrozenEncoderCache(dtype="float16")
    with torch.no_grad():
        half(model.encoder, input_ids=torch.tensor([[7, 8, 9, 10, 11]]), attention_mask=torch.ones(1, 5))
    assert half.memory_bytes == row_bytes // 2


# ---------------------------------------------------------------------------------------------------------------
# Resume after a kill; two processes
# ---------------------------------------------------------------------------------------------------------------

KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from transformers import TrainerCallback
    import test_frozen_cache as t

    encoder_dir, output_dir, cache_dir, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    from pathlib import Path

    class Kill(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind

    train, evaluation = t._data()
    trainer = t._trainer(t._model(Path(encoder_dir)), Path(encoder_dir), Path(output_dir), train, evaluation,
                         **t.RESUME_SETTINGS, frozen_cache_dir=cache_dir)
    trainer.add_callback(Kill())
    trainer.train()
    """
)
RESUME_SETTINGS = {"cache_frozen_encoder": True, "save_strategy": "steps", "save_steps": 4, "eval_strategy": "no"}


@pytest.mark.slow
def test_resume_after_a_kill_with_the_cache_present_or_absent(encoder_dir, tmp_path):
    train, evaluation = _data()
    uninterrupted = _trainer(
        _model(encoder_dir), encoder_dir, tmp_path / "whole", train, evaluation, **RESUME_SETTINGS
    )
    uninterrupted.train()
    expected, _ = _losses(uninterrupted)

    script = tmp_path / "killed_run.py"
    script.write_text(KILLED_RUN.format(tests=str(Path(__file__).parent)), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    for case in ("present", "absent"):
        output_dir, cache_dir = tmp_path / f"run_{case}", tmp_path / f"cache_{case}"
        done = subprocess.run(
            [sys.executable, str(script), str(encoder_dir), str(output_dir), str(cache_dir), "8"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == -9, done.stderr[-3000:]  # killed at step 8, after checkpoint-8 was written
        assert (output_dir / "checkpoint-8").is_dir() and any(cache_dir.rglob("*.safetensors"))
        if case == "absent":
            import shutil

            shutil.rmtree(cache_dir)
        resumed = _trainer(
            _model(encoder_dir),
            encoder_dir,
            output_dir,
            train,
            evaluation,
            **RESUME_SETTINGS,
            frozen_cache_dir=str(cache_dir),
        )
        resumed.train(resume_from_checkpoint=str(output_dir / "checkpoint-8"))
        got, _ = _losses(resumed)
        assert got == pytest.approx(expected, abs=1e-5, rel=0), case  # the log history restored + the rest
        stats = resumed.frozen_encoder_cache.describe()
        if case == "present":
            assert stats["disk_hits"] > 0 and stats["computed"] < stats["rows"]
        else:
            assert stats["disk_hits"] == 0 and stats["computed"] > 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_processes_under_accelerate_launch(tmp_path):
    """``scripts.train --cache_frozen_encoder true`` with 2 gloo processes: trains, evaluates, shares a disk cache."""
    encoder_dir = _save_encoder(tmp_path / "bert", "bert")
    output_dir, cache_dir = tmp_path / "two", tmp_path / "cache"
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(_free_port()),
        "-m",
        "hf_ecpe.scripts.train",
        "--config",
        str(REPO_ROOT / "recipes" / "pair_scorer_tiny.yaml"),
        "--model_name_or_path",
        str(encoder_dir),
        "--trainable_encoder_layers",
        "1",
        "--cache_frozen_encoder",
        "true",
        "--frozen_cache_dir",
        str(cache_dir),
        "--synthetic_documents",
        "16",
        "--num_train_epochs",
        "2",
        "--output_dir",
        str(output_dir),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["run"]["world_size"] == 2 and 0.0 <= metrics["validation"]["eval_pair_f1"] <= 1.0
    assert "frozen-layer cache: {" in done.stderr  # the counters logged at the end of training
    counters = json.loads(
        done.stderr.split("frozen-layer cache: ")[-1].split("\n")[0].replace("'", '"').replace("None", "null")
    )
    assert counters["frozen_blocks"] == LAYERS - 1 and counters["memory_hits"] > 0
    assert len(list(cache_dir.rglob("*.safetensors"))) >= 16  # both processes' rows, on disk
