"""The method seam end to end: a toy method defined in a temporary module and registered through ONE MethodSpec —
without touching any other file — trains with scripts.train, evaluates with scripts.evaluate, gets a model card, and
loads through trust_remote_code in a fresh interpreter."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_without_hf_ecpe

from hf_ecpe.methods import MethodSpec, get_method, register_method, unregister_method

CONFIGURATION = """
from transformers import PretrainedConfig


class ToyPairConfig(PretrainedConfig):
    model_type = "toy-pair"
    output_kind = "pairs"
    supports_speaker_ids = False

    def __init__(self, vocab_size=100, hidden_size=8, decoding="threshold", decode_threshold=0.5, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.decoding = decoding
        self.decode_threshold = decode_threshold
        super().__init__(**kwargs)
"""

MODELING = '''
import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_toy import ToyPairConfig


class ToyPairModel(PreTrainedModel):
    """A bag-of-embeddings pair scorer: unit vector = mean of its token embeddings, bilinear pair score."""

    config_class = ToyPairConfig

    def __init__(self, config):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.emotion = nn.Linear(config.hidden_size, 1)
        self.cause = nn.Linear(config.hidden_size, 1)
        self.pair = nn.Bilinear(config.hidden_size, config.hidden_size, 1)
        self.post_init()

    @classmethod
    def from_encoder(cls, encoder, **kwargs):
        return cls(ToyPairConfig(vocab_size=encoder.config.vocab_size, **kwargs))

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, unit_token_index=None,
                unit_mask=None, emotion_labels=None, cause_labels=None, pair_labels=None, **unused):
        tokens = self.embeddings(input_ids) * attention_mask[..., None]
        positions = torch.arange(input_ids.size(1), device=input_ids.device)
        starts = unit_token_index[:, :, None]
        ends = torch.cat([unit_token_index[:, 1:], attention_mask.sum(-1, keepdim=True)], dim=1)[:, :, None]
        member = ((positions >= starts) & (positions < ends) & unit_mask[:, :, None]).float()
        units = member @ tokens / member.sum(-1, keepdim=True).clamp(min=1)
        n = units.size(1)
        emotion_logits = self.emotion(units).squeeze(-1)
        cause_logits = self.cause(units).squeeze(-1)
        left = units[:, :, None].expand(-1, -1, n, -1).contiguous()
        right = units[:, None].expand(-1, n, -1, -1).contiguous()
        pair_logits = self.pair(left, right).squeeze(-1)
        candidate_mask = unit_mask[:, :, None] & unit_mask[:, None, :]
        loss = loss_pair = None
        if pair_labels is not None:
            loss_pair = F.binary_cross_entropy_with_logits(pair_logits[candidate_mask], pair_labels[candidate_mask])
            loss_units = F.binary_cross_entropy_with_logits(emotion_logits[unit_mask], emotion_labels[unit_mask])
            loss = loss_pair + loss_units
            loss_pair = loss_pair.detach()
        return ModelOutput(loss=loss, loss_pair=loss_pair, emotion_logits=emotion_logits, cause_logits=cause_logits,
                           pair_logits=pair_logits, candidate_mask=candidate_mask)

    def decode_pairs(self, pair_logits, candidate_mask, *, strategy=None, threshold=None, top_k=None, lexicon_mask=None):
        threshold = self.config.decode_threshold if threshold is None else threshold
        probabilities = torch.sigmoid(torch.as_tensor(pair_logits).float())
        results = []
        for doc in range(probabilities.size(0)):
            kept = [(int(i), int(j), float(probabilities[doc, i, j])) for i, j in candidate_mask[doc].nonzero().tolist()
                    if probabilities[doc, i, j] > threshold]
            results.append(sorted(kept, key=lambda pair: -pair[2]))
        return results

    @staticmethod
    def decode_units(logits, unit_mask, threshold=0.5):
        probabilities = torch.sigmoid(torch.as_tensor(logits).float())
        return [[(int(i), float(probabilities[doc, i])) for i in range(probabilities.size(1))
                 if unit_mask[doc, i] and probabilities[doc, i] > threshold] for doc in range(probabilities.size(0))]
'''

# Run by `run_without_hf_ecpe` with the argument: the trained folder. The toy package is blocked too (it lies in
# the test's tmp_path, the script's folder), so the model comes from the folder's own code.
REMOTE = """
    import importlib.abc
    import sys

    from transformers import AutoModel


    class BlockToyMethod(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "toy_method":
                raise ImportError(f"{name} is blocked in this test")
            return None


    sys.meta_path.insert(0, BlockToyMethod())
    model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True)
    print(type(model).__module__, type(model).__name__)
    """


@pytest.fixture
def toy_method(tmp_path, monkeypatch):
    package = tmp_path / "toy_method"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "configuration_toy.py").write_text(CONFIGURATION)
    (package / "modeling_toy.py").write_text(textwrap.dedent(MODELING))
    monkeypatch.syspath_prepend(str(tmp_path))
    configuration = importlib.import_module("toy_method.configuration_toy")
    modeling = importlib.import_module("toy_method.modeling_toy")
    spec = register_method(
        MethodSpec(
            name="toy",
            display_name="Toy pair scorer",
            config_class=configuration.ToyPairConfig,
            model_class=modeling.ToyPairModel,
            collator="hf_ecpe.methods:clause_collator",
            loss_description="pair BCE + emotion BCE",
            usage='pipeline("emotion-cause", model="{model_id}")',
        )
    )
    yield spec
    unregister_method("toy")
    for name in [name for name in sys.modules if name.startswith("toy_method")]:
        del sys.modules[name]


def test_a_toy_method_through_the_whole_seam(toy_method, tmp_path):
    from hf_ecpe.scripts import evaluate, train

    assert get_method("toy") is toy_method
    out = tmp_path / "run"
    metrics = train.main(
        [
            "--method", "toy", "--dataset_name", "synthetic", "--synthetic_documents", "16",
            "--model_name_or_path", "tiny-random", "--hidden_size", "6",  # a setting of ToyPairConfig
            "--num_train_epochs", "2", "--per_device_train_batch_size", "4", "--eval_strategy", "epoch",
            "--save_strategy", "epoch", "--load_best_model_at_end", "true", "--report_to", "none",
            "--disable_tqdm", "true", "--logging_steps", "1", "--output_dir", str(out),
        ]
    )  # fmt: skip
    assert 0.0 <= metrics["test"]["test_pair_f1"] <= 1.0
    assert "loss_pair" in json.dumps(json.loads((out / "trainer_state.json").read_text())["log_history"])
    saved = json.loads((out / "config.json").read_text())
    assert saved["model_type"] == "toy-pair" and saved["hidden_size"] == 6
    assert "decode_threshold_selected_on" in saved  # threshold decoding: chosen on validation, stored
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Toy pair scorer" in card and "pair BCE + emotion BCE" in card

    record = evaluate.main(
        ["--model", str(out), "--dataset_path", str(_saved_synthetic(tmp_path)), "--split", "test",
         "--output", str(tmp_path / "scores.json")]
    )  # fmt: skip
    assert record["method"] == "toy"
    assert record["metrics"]["pair_f1"] == pytest.approx(metrics["test"]["test_pair_f1"])
    assert json.loads((tmp_path / "scores.json").read_text())["metrics"]["pair_f1"] == record["metrics"]["pair_f1"]

    done = run_without_hf_ecpe(REMOTE, [str(out)], tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [done.stdout.split()[0], "ToyPairModel"]
    assert done.stdout.startswith("transformers_modules.")


def _saved_synthetic(tmp_path: Path) -> Path:
    from hf_ecpe.data.corpora.synthetic import synthetic_corpus

    path = tmp_path / "synthetic_data"
    synthetic_corpus(16, seed=42).save_to_disk(str(path))
    return path
