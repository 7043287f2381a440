"""hf_ecpe: emotion–cause analysis on the Hugging Face stack."""

__version__ = "0.1.0.dev0"

from ._registration import register_all  # noqa: E402
from .models import A2NetConfig, A2NetModel, MultimodalPairScorerConfig, MultimodalPairScorerModel  # noqa: E402

register_all()

__all__ = [
    "A2NetConfig",
    "A2NetModel",
    "MultimodalPairScorerConfig",
    "MultimodalPairScorerModel",
    "__version__",
    "register_all",
]
