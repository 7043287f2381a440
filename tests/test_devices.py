"""``device=0`` on a torch without an accelerator is an error, never a silent CPU run (issue 27)."""

from __future__ import annotations

import pytest

from hf_ecpe.devices import accelerator_available, check_device

needs_cpu_only = pytest.mark.skipif(accelerator_available(), reason="this torch has an accelerator")


@needs_cpu_only
def test_an_accelerator_index_without_an_accelerator_is_refused():
    for device in (0, 1):
        with pytest.raises(ValueError, match=rf"device={device} asks for accelerator {device}.*device=-1 or"):
            check_device(device)
    for device in (None, -1, "cpu", False):
        check_device(device)


@needs_cpu_only
def test_pipeline_with_device_0_says_there_is_no_accelerator(tiny_pair_model_dir):
    from transformers import pipeline

    import hf_ecpe

    with pytest.raises(ValueError, match="device=0 asks for accelerator 0"):
        pipeline("emotion-cause", model=str(tiny_pair_model_dir), device=0)  # used to run on the CPU, silently
    with pytest.raises(ValueError, match="device=0 asks for accelerator 0"):
        hf_ecpe.pipeline("emotion-cause", model=str(tiny_pair_model_dir), device=0)
    extractor = pipeline("emotion-cause", model=str(tiny_pair_model_dir), device=-1)
    assert extractor.device.type == "cpu"
