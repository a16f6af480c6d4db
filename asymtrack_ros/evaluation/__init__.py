"""ROS-free one-pass evaluation of trackers on GOT-10k, LaSOT, OTB-100 and UAV123 layouts (``asymtrack-eval``).

``ope`` runs trackers over sequences (loaded by :mod:`asymtrack_ros.dataset_layouts`), ``metrics`` scores boxes
(conventions in its docstring), ``report`` writes CSV, JSON and plots, ``cli`` ties them together.
"""

from asymtrack_ros.evaluation.metrics import Scores, evaluate_sequence, pool_scores, scored_frames
from asymtrack_ros.evaluation.ope import SequenceResult, TrackerFactory, run_ope, run_sequence
from asymtrack_ros.evaluation.report import write_report

__all__ = [
    "Scores",
    "SequenceResult",
    "TrackerFactory",
    "evaluate_sequence",
    "pool_scores",
    "run_ope",
    "run_sequence",
    "scored_frames",
    "write_report",
]
