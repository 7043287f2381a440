"""Model cards for hf_ecpe models: card data, the training callback that fills it, the shipped Jinja template."""

from .callback import ModelCardCallback
from .card_data import A2NET_CITATION, TEMPLATE_PATH, EcpeModelCardData, generate_model_card

__all__ = ["A2NET_CITATION", "TEMPLATE_PATH", "EcpeModelCardData", "ModelCardCallback", "generate_model_card"]
