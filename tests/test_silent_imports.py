"""``import hf_ecpe`` makes the documented submodules reachable as attributes, lazily (issue 11, item 11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_documented_submodules_are_attributes_of_the_package_and_load_lazily():
    code = (
        "import sys, hf_ecpe\n"
        "lazy = ('hf_ecpe.llm', 'hf_ecpe.evaluation', 'hf_ecpe.plotting', 'hf_ecpe.hub')\n"
        "print('eager:' + ','.join(m for m in lazy if m in sys.modules))\n"
        "assert callable(hf_ecpe.data.split_clauses)\n"
        "assert hf_ecpe.llm.corpus_labels('semeval2024_ecac')\n"
        "assert hf_ecpe.evaluation.ecpe_scores([[[1, 0]]], [[[1, 0]]])['pair_f1'] > 0.99\n"
        "assert callable(hf_ecpe.data.corpora.get_corpus)\n"
        "print('ok')\n"
    )
    loaded_at_import, ok = _run(code).splitlines()
    assert loaded_at_import == "eager:", f"`import hf_ecpe` imported {loaded_at_import} eagerly"
    assert ok == "ok"


def test_unknown_attributes_still_raise_attribute_error():
    code = (
        "import hf_ecpe\n"
        "for name in ('nope', '_private', 'dataa'):\n"
        "    try:\n"
        "        getattr(hf_ecpe, name)\n"
        "    except AttributeError as err:\n"
        "        print(err)\n"
    )
    assert _run(code).splitlines() == [
        "module 'hf_ecpe' has no attribute 'nope'",
        "module 'hf_ecpe' has no attribute '_private'",
        "module 'hf_ecpe' has no attribute 'dataa'",
    ]


def test_import_registers_the_auto_classes_without_the_heavy_parts():
    """Issue 27: ``import hf_ecpe`` took 6.7 s. It needs the config/model classes (Auto registration) and the pipeline
    classes (task registration); trainers, datasets, TRL/PEFT, evaluation and LLM code load on first use."""
    code = (
        "import sys, hf_ecpe\n"
        "heavy = ('datasets', 'trl', 'peft', 'pandas', 'sklearn', 'hf_ecpe.trainers', 'hf_ecpe.evaluation', "
        "'hf_ecpe.llm', 'hf_ecpe.data.schema', 'hf_ecpe.data.corpora')\n"
        "print('eager:' + ','.join(m for m in heavy if m in sys.modules))\n"
        "from transformers import AutoConfig, AutoModel\n"
        "config = AutoConfig.for_model('hf-ecpe-a2net')\n"
        "assert type(config).__name__ == 'A2NetConfig', type(config)\n"
        "from transformers.pipelines import PIPELINE_REGISTRY\n"
        "assert 'emotion-cause' in PIPELINE_REGISTRY.get_supported_tasks()\n"
        "from hf_ecpe.trainers import PairTrainer, EcpeTrainingArguments\n"
        "from hf_ecpe.data import FEATURES, NEUTRAL, CorpusFormatError\n"
        "assert callable(hf_ecpe.pipeline) and hf_ecpe.EcpeTrainer is PairTrainer and NEUTRAL == 'neutral'\n"
        "print('ok')\n"
    )
    loaded_at_import, ok = _run(code).splitlines()
    assert loaded_at_import == "eager:", f"`import hf_ecpe` imported {loaded_at_import} eagerly"
    assert ok == "ok"
