"""Appearance check: is the tracked box still showing what the operator selected?

Trackers localise something in every frame, target or not: the corner maps of a network trained
only on visible targets stay peaked when the target has left, and OpenCV's CSRT reports success
on background (99 % of absent frames on our held-out set). The session therefore also compares
the colour histogram of the box with that of the initial target:

    similarity = 1 - Bhattacharyya distance(histogram of the box, of the initial box)  in [0, 1]

The histogram bins the pixels by hue and saturation. On grey footage (black-and-white or tinted film, monochrome
and thermal cameras: at least :data:`GREY_FOOTAGE_SHARE` of the first frame's pixels brighter than
:data:`GREY_VALUE` have a saturation under :data:`GREY_SATURATION`; a camera that sees colour shows some, a grey one
only tint and noise) the hue of a grey pixel is the hue of grain, so there the grey pixels (those, and the darker
ones) are binned by brightness instead, as colour-based particle trackers do (Pérez et al., ECCV 2002). On the 1906
film of our real validation set a hue/saturation histogram scored the road beside a walker in a dark suit as like
him as his own box, kept that road TRACKING after he had left and said LOST when he raised his arm. On colour
footage pale and dark pixels keep their hue: it tells the generated scenes' pale targets from pale or dark
backgrounds (brightness bins for every grey pixel, or in scenes of a few coloured objects on grey, cost AUC there;
model card).

On the held-out generated benchmark with CSRT the capped confidence averaged 0.63 on visible and
0.28 on absent frames (``python -m asymtrack_ros.evaluation.lost_signal``).

While the target is lost, the session also compares a candidate with the target as it was last confidently seen
(``remember``, ``recall``): a target that comes back looks like it did when it left (the same light, size and
pose), which the initial box alone may no longer show.
"""

from __future__ import annotations

from typing import Any, Protocol

import cv2
import numpy as np

from asymtrack_ros.boxes import Box

PATCH_SIDE = 24
HUE_BINS, SATURATION_BINS = 18, 8
VALUE_BINS = 8  # brightness bins of the grey pixels
# A pixel is grey (its hue is noise: film grain, a tint, compression) under this saturation or this brightness.
GREY_SATURATION, GREY_VALUE = 32, 40
GREY_FOOTAGE_SHARE = 0.99  # of the lit pixels of a thumbnail of the first frame
THUMBNAIL_SIZE = (160, 120)
CORE_MARGIN = 0.25  # of each side: the box's central half, mostly the target even in a loose box
CHROMA_OFFSET = 8.0  # added to each channel's mean, so that black keeps a finite log chromaticity


def box_pixels(image: np.ndarray, box: Box, margin: float = 0.0) -> np.ndarray:
    """The image's pixels inside ``box`` shrunk by ``margin`` of its size on each side (empty if none)."""
    x, y, w, h = box
    height, width = image.shape[:2]
    x1, y1 = int(max(0, x + margin * w)), int(max(0, y + margin * h))
    x2, y2 = int(min(width, x + (1 - margin) * w)), int(min(height, y + (1 - margin) * h))
    return image[y1 : max(y1, y2), x1 : max(x1, x2)]


def grey_footage(image: np.ndarray) -> bool:
    """Whether nearly every pixel of ``image`` bright enough to have a hue is grey (module docstring: black-and-white,
    tinted or thermal); a black frame is not (a fade: its few lit pixels decide)."""
    hsv = cv2.cvtColor(cv2.resize(image, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2HSV)
    lit = hsv[..., 2] >= GREY_VALUE
    return bool(lit.any()) and float(grey_pixels(hsv)[lit].mean()) >= GREY_FOOTAGE_SHARE


def grey_pixels(hsv: np.ndarray) -> np.ndarray:
    """Mask (uint8 0/1) of the grey or dark pixels of an HSV image."""
    return ((hsv[..., 1] < GREY_SATURATION) | (hsv[..., 2] < GREY_VALUE)).astype(np.uint8)


def colour_histogram(image: np.ndarray, box: Box, brightness: bool = False) -> np.ndarray | None:
    """L1-normalised hue/saturation histogram of the box's pixels; with ``brightness`` the grey and dark pixels are
    binned by brightness instead (:data:`VALUE_BINS` more bins); None if the box leaves no pixels."""
    pixels = box_pixels(image, box)
    if min(pixels.shape[:2]) < 2:
        return None
    patch = cv2.resize(pixels, (PATCH_SIDE, PATCH_SIDE), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)
    grey = grey_pixels(hsv) if brightness else None
    histogram = cv2.calcHist([hsv], [0, 1], None if grey is None else 1 - grey, [HUE_BINS, SATURATION_BINS],
                             [0, 180, 0, 256])
    if grey is not None:
        shades = cv2.calcHist([hsv], [2], grey, [VALUE_BINS], [0, 256])
        histogram = np.concatenate([histogram.ravel(), shades.ravel()])[:, None]
    return cv2.normalize(histogram, histogram, 1.0, 0.0, cv2.NORM_L1)


def core_chromaticity(image: np.ndarray, box: Box) -> np.ndarray | None:
    """Log chromaticity (each channel's share of the sum, as a log) of the mean colour of the box's central half;
    None if that leaves no pixels. Brightness cancels out; a recoloured look-alike or another face does not."""
    pixels = box_pixels(image, box, CORE_MARGIN)
    if not pixels.size:
        return None
    mean = pixels.reshape(-1, image.shape[2]).mean(axis=0) + CHROMA_OFFSET
    return np.log(mean / mean.sum())


def histogram_similarity(reference: np.ndarray, current: np.ndarray | None) -> float:
    """1 - Bhattacharyya distance of two :func:`colour_histogram` s, in [0, 1]; 0 without a current histogram."""
    if current is None:
        return 0.0
    return float(np.clip(1.0 - cv2.compareHist(reference, current, cv2.HISTCMP_BHATTACHARYYA), 0.0, 1.0))


class TargetCheck(Protocol):
    """How much a box looks like the target, in [0, 1] (this check, or a model's learned verifier)."""

    def similarity(self, image: np.ndarray, box: Box) -> float:
        """Against the initial target."""

    def remember(self, image: np.ndarray, box: Box) -> None:
        """``box`` of ``image`` shows the target confidently: the reference of :meth:`recall`."""

    def recall(self, image: np.ndarray, box: Box) -> float | None:
        """The same measure as :meth:`similarity` against the remembered target; None before any :meth:`remember`."""

    def look(self, image: np.ndarray, box: Box) -> Any:
        """What the check measures of ``box`` (opaque): a reference for :meth:`likeness`, e.g. a look-alike's."""

    def likeness(self, image: np.ndarray, box: Box, look: Any) -> float:
        """The same measure as :meth:`similarity` against ``look`` (:meth:`look` of another box) instead."""


class AppearanceCheck:
    """Similarity in [0, 1] of a box to the target's initial (and remembered) appearance; ``brightness``: the
    initial frame is grey footage, so the histograms bin grey pixels by brightness."""

    def __init__(self, image: np.ndarray, box: Box) -> None:
        self.brightness = grey_footage(image)
        reference = colour_histogram(image, box, self.brightness)
        if reference is None:
            raise ValueError(f"box {box} covers no pixels of the image")
        self.reference = reference
        self.recent: np.ndarray | None = None

    def similarity(self, image: np.ndarray, box: Box) -> float:
        return histogram_similarity(self.reference, colour_histogram(image, box, self.brightness))

    def remember(self, image: np.ndarray, box: Box) -> None:
        current = colour_histogram(image, box, self.brightness)
        if current is not None:
            self.recent = current

    def recall(self, image: np.ndarray, box: Box) -> float | None:
        return None if self.recent is None else self.likeness(image, box, self.recent)

    def look(self, image: np.ndarray, box: Box) -> np.ndarray | None:
        return colour_histogram(image, box, self.brightness)

    def likeness(self, image: np.ndarray, box: Box, look: np.ndarray | None) -> float:
        return 0.0 if look is None else histogram_similarity(look, colour_histogram(image, box, self.brightness))
