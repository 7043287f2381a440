"""The shipped accelerate launch configs: they load with accelerate's own parser and the CPU ones really launch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hf_ecpe.scripts.accelerate_configs import available_configs, config_path

pytest.importorskip("accelerate")
from accelerate.commands.config.config_args import ClusterConfig  # noqa: E402
from accelerate.utils import DistributedType  # noqa: E402

EXPECTED = {
    # name: (distributed_type, use_cpu, mixed_precision)
    "single_cpu": (DistributedType.NO, True, "no"),
    # MULTI_GPU selects the torchrun launcher; with use_cpu the workers form a gloo group (see multi_cpu.yaml)
    "multi_cpu": (DistributedType.MULTI_GPU, True, "no"),
    "multi_gpu": (DistributedType.MULTI_GPU, False, "bf16"),
    "deepspeed_zero2": (DistributedType.DEEPSPEED, False, "bf16"),
    "fsdp2": (DistributedType.FSDP, False, "bf16"),
}

# Each process writes its own record (stdout lines of two processes can interleave).
PROBE = """
import json, sys
from pathlib import Path
from accelerate import Accelerator
from accelerate.state import AcceleratorState

Accelerator()
state = AcceleratorState()
record = {"index": state.process_index, "num_processes": state.num_processes,
          "distributed_type": str(state.distributed_type)}
out = Path(sys.argv[1]) / f"{state.process_index}-{state.num_processes}-{__import__('os').getpid()}.json"
out.write_text(json.dumps(record))
"""


def test_every_config_is_shipped_and_known():
    assert available_configs() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_parses_with_accelerate(name):
    path = config_path(name)
    assert path.is_file() and path.suffix == ".yaml"
    assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)
    config = ClusterConfig.from_yaml_file(yaml_file=str(path))  # rejects unknown keys, as `accelerate launch` does
    distributed_type, use_cpu, mixed_precision = EXPECTED[name]
    assert config.distributed_type == distributed_type
    assert config.use_cpu is use_cpu
    assert str(config.mixed_precision) == mixed_precision
    assert config.num_machines == 1
    assert config.num_processes == (1 if name == "single_cpu" else 2)


def test_zero2_and_fsdp2_settings():
    zero2 = ClusterConfig.from_yaml_file(yaml_file=str(config_path("deepspeed_zero2")))
    assert zero2.deepspeed_config["zero_stage"] == 2
    fsdp = ClusterConfig.from_yaml_file(yaml_file=str(config_path("fsdp2.yaml")))
    assert fsdp.fsdp_config["fsdp_version"] == 2
    assert fsdp.fsdp_config["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"


def test_unknown_name_lists_the_shipped_configs():
    with pytest.raises(ValueError, match=r"no shipped accelerate config named 'zero3'.*'multi_cpu'"):
        config_path("zero3")
    with pytest.raises(TypeError, match="as a str"):
        config_path(Path("multi_gpu.yaml"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(tmp_path: Path, launch_args: list[str], env: dict[str, str]) -> list[dict]:
    """Run the probe under ``accelerate launch``; returns one record per process, sorted by process index."""
    script = tmp_path / "probe.py"
    script.write_text(PROBE, encoding="utf-8")
    command = [sys.executable, "-m", "accelerate.commands.launch", *launch_args]
    records_dir = tmp_path / "records"
    records_dir.mkdir()
    command += ["--main_process_port", str(_free_port()), str(script), str(records_dir)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HOME": str(tmp_path / "hf_home"), **env}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    records = [json.loads(path.read_text(encoding="utf-8")) for path in records_dir.glob("*.json")]
    return sorted(records, key=lambda record: record["index"])


@pytest.mark.slow
def test_multi_cpu_config_really_starts_two_processes(tmp_path):
    records = _launch(tmp_path, ["--config_file", str(config_path("multi_cpu"))], {"ACCELERATE_USE_CPU": "1"})
    assert [record["index"] for record in records] == [0, 1]
    assert all(record["num_processes"] == 2 for record in records)
    assert all(record["distributed_type"] == str(DistributedType.MULTI_CPU) for record in records)


@pytest.mark.slow
def test_cpu_flag_trap_runs_a_single_process(tmp_path):
    """What docs/launching.md warns about: `--cpu --num_processes 2` starts one process, not two."""
    records = _launch(tmp_path, ["--cpu", "--num_processes", "2"], {})
    assert [(record["index"], record["num_processes"]) for record in records] == [(0, 1)]
