"""Model cards for hf_ecpe models: card data, the training callback that fills it, the shipped Jinja template."""

from .callback import ModelCardCallback
from .card_data import TEMPLATE_PATH, EcpeModelCardData, generate_model_card

__all__ = ["TEMPLATE_PATH", "EcpeModelCardData", "ModelCardCallback", "generate_model_card"]
