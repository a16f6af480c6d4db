"""ROS-free one-pass evaluation of trackers on GOT-10k, LaSOT, OTB-100 and UAV123 layouts (``asymtrack-eval``).

``datasets`` loads sequences, ``ope`` runs trackers over them, ``metrics`` scores boxes (conventions in its
docstring), ``report`` writes CSV, JSON and plots, ``cli`` ties them together.
"""

from asymtrack_ros.evaluation.datasets import FORMATS, DatasetError, Sequence, detect_format, load_dataset
from asymtrack_ros.evaluation.metrics import Scores, evaluate_sequence, pool_scores, scored_frames
from asymtrack_ros.evaluation.ope import SequenceResult, TrackerFactory, run_ope, run_sequence
from asymtrack_ros.evaluation.report import write_report

__all__ = [
    "FORMATS",
    "DatasetError",
    "Scores",
    "Sequence",
    "SequenceResult",
    "TrackerFactory",
    "detect_format",
    "evaluate_sequence",
    "load_dataset",
    "pool_scores",
    "run_ope",
    "run_sequence",
    "scored_frames",
    "write_report",
]
