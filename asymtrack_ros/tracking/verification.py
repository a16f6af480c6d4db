"""Target verification: is this box the target the operator selected, or a look-alike, a drifted box, background?

The network's corner-map score cannot tell the target from a look-alike: its maps peak on whatever in the
search region looks most like the template. The verifier compares the box itself with the initial target:

* ``box_embedding`` and ``context_embedding``: the template branch run on a crop of the box alone and on the
  template crop (the box with its context), each state array mean-pooled over everything but its channel axis,
  L2-normalised and concatenated (:func:`template_embedding`); their cosine similarities to the initial target's,
  as ``log(1 - similarity)`` (the signal lives in the last percent: with context 0.993 on target against 0.96 on
  background on our real validation footage; the context tells a target that has left from the background it
  left, the box alone keeps a moving target recognisable over a changing background);
* ``appearance``: the colour histogram similarity of ``appearance.py``;
* ``chromaticity``: how far the mean colour of the box's central half lies from the initial target's, brightness
  aside (``appearance.core_chromaticity``; the L1 distance clipped to :data:`CHROMA_RANGE`, as a log relative to
  :data:`CHROMA_PIVOT`), scaled by how colourful the target is (:func:`colourfulness`: on grey footage colour
  says nothing, and the feature is 0). It tells a recoloured look-alike or another person's face from the target
  where the pooled embeddings and the histogram find them alike.

A logistic head (:class:`VerificationHead`, 5 numbers in ``model.json``'s ``"verification"``) turns the four into
the probability that the box is on the target. It is fitted with hard negatives (absent targets, drifted boxes,
look-alikes, other crops of the same frame) by ``python -m asymtrack_ros.training.verification``. Models without
a head (the authors' checkpoints) keep the appearance check alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from asymtrack_ros.boxes import Box, as_box
from asymtrack_ros.tracking.appearance import AppearanceCheck, colour_histogram, core_chromaticity, histogram_similarity
from asymtrack_ros.tracking.logistic_head import LogisticHead, head_numbers

EMBEDDING_FLOOR = 1e-4  # keeps log(1 - similarity) finite for identical crops
CHROMA_RANGE = (0.05, 1.0)  # chromaticity distances clipped to this: as alike as lighting leaves a target .. unrelated
# The distance that says neither "target" nor "other": on the generated validation sets about 90 % of target boxes
# lie under it and 75 % of look-alikes over it.
CHROMA_PIVOT = 0.15
FULL_COLOUR = 0.3  # a target whose chromaticity lies this far (L1) from grey's counts as fully colourful
GREY = np.full(3, math.log(1.0 / 3.0))  # the log chromaticity of any grey
FEATURES = ("box_embedding", "context_embedding", "appearance", "chromaticity")


def state_arrays(state: Any) -> list[np.ndarray]:
    """The arrays of a runner's template state (NumPy, ONNX Runtime values or torch tensors)."""
    items = state if isinstance(state, list | tuple) else [state]
    return [np.asarray(item.numpy() if hasattr(item, "numpy") else item, dtype=np.float32) for item in items]


def template_embedding(state: Any) -> np.ndarray:
    """Unit vector of a template state: each array mean-pooled to its last (channel) axis, normalised, joined."""
    parts = []
    for array in state_arrays(state):
        pooled = array.reshape(-1, array.shape[-1]).mean(axis=0)
        parts.append(pooled / max(float(np.linalg.norm(pooled)), 1e-12))
    joined = np.concatenate(parts)
    return joined / max(float(np.linalg.norm(joined)), 1e-12)


def embedding_feature(similarity: float) -> float:
    """The head's embedding input: ``log(1 - cosine similarity)``, floored."""
    return math.log(max(1.0 - similarity, EMBEDDING_FLOOR))


def colourfulness(chromaticity: np.ndarray) -> float:
    """How colourful a log chromaticity is, in [0, 1]: 0 for grey, 1 from :data:`FULL_COLOUR` away."""
    return min(1.0, float(np.abs(chromaticity - GREY).sum()) / FULL_COLOUR)


def chromaticity_feature(reference: np.ndarray | None, current: np.ndarray | None) -> float:
    """The head's colour input (module docstring): ``colourfulness(reference) * log(distance / CHROMA_PIVOT)``
    with the L1 distance of the two log chromaticities clipped to :data:`CHROMA_RANGE` (no current colour: the
    far end; no reference colour, as when the head does not weigh colour: 0, colour says nothing)."""
    if reference is None:
        return 0.0
    distance = CHROMA_RANGE[1] if current is None else float(np.abs(current - reference).sum())
    clipped = min(max(distance, CHROMA_RANGE[0]), CHROMA_RANGE[1])
    return colourfulness(reference) * math.log(clipped / CHROMA_PIVOT)


@dataclass(frozen=True)
class VerificationHead(LogisticHead):
    """The verifier's logistic head over :data:`FEATURES`."""

    FEATURES: ClassVar[tuple[str, ...]] = FEATURES
    NAME: ClassVar[str] = "verification"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> VerificationHead:
        """From ``model.json``'s ``{"weights": [...], "bias": b}`` (ValueError on anything else). A head fitted
        before the chromaticity feature (one weight fewer) gives it weight 0, so it scores as it did."""
        weights, bias = head_numbers(values, cls.NAME, {"weights", "bias"})
        padding = [0.0] if len(weights) == len(FEATURES) - 1 else []
        return cls(tuple([*weights, *padding]), bias)


Embeddings = tuple[np.ndarray, np.ndarray]  # (box only, with context)
Embedder = Callable[[np.ndarray, Box], Embeddings]


@dataclass(frozen=True)
class Look:
    """What the verifier measures of a box: its embeddings (None: its crops miss the image), its colour
    histogram (``appearance.colour_histogram``) and its core colour (``appearance.core_chromaticity``; None: it covers
    no pixels, or the head does not weigh colour)."""

    embeddings: Embeddings | None
    histogram: np.ndarray | None
    chromaticity: np.ndarray | None


class TargetVerifier:
    """Probability in [0, 1] that a box shows the target (module docstring); the calls of ``TargetCheck``."""

    def __init__(self, image: np.ndarray, box: Box, embed: Embedder, head: VerificationHead) -> None:
        self.embed, self.head = embed, head
        self._uses_colour = head.weights[FEATURES.index("chromaticity")] != 0.0  # else not measured
        appearance = AppearanceCheck(image, box)  # raises for an empty box
        reference, self._brightness = appearance.reference, appearance.brightness
        self.initial = Look(embed(image, box), reference, self._chromaticity(image, box))
        self.recent: Look | None = None  # the remembered target (``remember``)
        self._last: tuple[np.ndarray, Box, Look] | None = None  # the last frame (held), box and look

    def features(self, image: np.ndarray, box: Box) -> tuple[float, ...]:
        """The head's inputs for ``box`` (:data:`FEATURES`); a box (nearly) outside the image resembles nothing."""
        return self._features(self.look(image, box), self.initial)

    def similarity(self, image: np.ndarray, box: Box) -> float:
        """The head's probability for ``box``; the same box on the same frame object is measured once."""
        return self.head(self.features(image, box))

    def remember(self, image: np.ndarray, box: Box) -> None:
        look = self.look(image, box)
        if look.embeddings is not None and look.histogram is not None:
            self.recent = look

    def recall(self, image: np.ndarray, box: Box) -> float | None:
        return None if self.recent is None else self.likeness(image, box, self.recent)

    def likeness(self, image: np.ndarray, box: Box, look: Look) -> float:
        return self.head(self._features(self.look(image, box), look))

    def look(self, image: np.ndarray, box: Box) -> Look:
        """The look of ``box`` in ``image``, from the cache when asked again for the same frame object and box."""
        box = as_box(box)
        if self._last is not None and self._last[0] is image and self._last[1] == box:
            return self._last[2]
        try:
            embeddings: Embeddings | None = self.embed(image, box)
        except ValueError:  # an embedding's crop does not overlap the image
            embeddings = None
        look = Look(embeddings, colour_histogram(image, box, self._brightness), self._chromaticity(image, box))
        self._last = (image, box, look)
        return look

    def _chromaticity(self, image: np.ndarray, box: Box) -> np.ndarray | None:
        return core_chromaticity(image, box) if self._uses_colour else None

    @staticmethod
    def _features(look: Look, reference: Look) -> tuple[float, ...]:
        if look.embeddings is None or reference.embeddings is None or reference.histogram is None:
            nothing = embedding_feature(0.0)
            return nothing, nothing, 0.0, chromaticity_feature(reference.chromaticity, None)
        similarities = (float(e @ r) for e, r in zip(look.embeddings, reference.embeddings, strict=True))
        appearance = histogram_similarity(reference.histogram, look.histogram)
        colour = chromaticity_feature(reference.chromaticity, look.chromaticity)
        return (*(embedding_feature(s) for s in similarities), appearance, colour)
