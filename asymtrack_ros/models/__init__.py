"""Tracker networks: one module per family, variants as configs."""

from asymtrack_ros.models.registry import ModelConfig, available_models, build_model, register_model

__all__ = ["ModelConfig", "available_models", "build_model", "register_model"]
