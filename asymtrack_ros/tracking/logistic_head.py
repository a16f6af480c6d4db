"""A logistic head over named features: the learned verifier's (``verification.py``) and the LOST confirmation's
(``confirmation.py``), each stored in ``model.json`` as its weights and bias."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class LogisticHead:
    """``p = sigmoid(bias + sum(weights[i] * feature[i]))`` over the subclass's :attr:`FEATURES`."""

    FEATURES: ClassVar[tuple[str, ...]] = ()
    NAME: ClassVar[str] = "logistic"  # the head's key in model.json, for messages

    weights: tuple[float, ...]
    bias: float

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.FEATURES):
            raise ValueError(f"a {self.NAME} head takes {len(self.FEATURES)} weights ({', '.join(self.FEATURES)}), "
                             f"got {len(self.weights)}")
        if not all(math.isfinite(value) for value in (*self.weights, self.bias)):
            raise ValueError(f"{self.NAME} head values must be finite, got {self}")

    def __call__(self, features: Sequence[float] | np.ndarray) -> float:
        logit = self.bias + sum(w * f for w, f in zip(self.weights, features, strict=True))
        return float(1.0 / (1.0 + math.exp(-max(min(logit, 60.0), -60.0))))

    def to_json(self) -> dict[str, Any]:
        return {"weights": list(self.weights), "bias": self.bias}


def head_numbers(values: Mapping[str, Any], name: str, keys: set[str]) -> tuple[list[float], float]:
    """The weights and bias of ``model.json``'s ``name`` head, a mapping with exactly ``keys`` (ValueError else)."""
    if not isinstance(values, Mapping) or set(values) != keys:
        raise ValueError(f"{name} must be a mapping of {sorted(keys)}, got {values!r}")
    weights, bias = values["weights"], values["bias"]
    if not isinstance(weights, list) or not all(is_number(value) for value in [*weights, bias]):
        raise ValueError(f"{name} weights and bias must be finite numbers, got {values!r}")
    return [float(value) for value in weights], float(bias)


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
