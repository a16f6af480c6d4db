"""Tracker networks: one module per family, variants as configs.

Torch-free to import: ``config.ModelConfig`` describes a model without torch (the ONNX backend uses
it); ``factory.build_model(name, variant)`` imports torch and every family.
"""
