"""Device requests: an explicit accelerator that is not there is an error, never a silent run on the CPU."""

from __future__ import annotations

from typing import Any


def accelerator_available() -> bool:
    """Whether torch sees an accelerator ``transformers.pipeline(device=<int>)`` could use (CUDA/ROCm, XPU, MPS)."""
    import torch

    if torch.cuda.is_available():
        return True
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        return True
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def check_device(device: Any) -> None:
    """Refuse ``device=<N >= 0>`` (an accelerator by index) when torch sees no accelerator: transformers would run on
    the CPU without a word. ``None`` (the first accelerator, else the CPU), ``-1``, ``"cpu"`` and device names or
    ``torch.device`` objects (checked by torch itself) pass."""
    if isinstance(device, bool) or not isinstance(device, int) or device < 0:
        return
    if not accelerator_available():
        import torch

        raise ValueError(
            f"device={device} asks for accelerator {device}, but this torch ({torch.__version__}) sees none: pass "
            "device=-1 or device='cpu' to run on the CPU (or leave device unset: the first accelerator when there is "
            "one, else the CPU)"
        )


__all__ = ["accelerator_available", "check_device"]
