"""``asymtrack-trax``: one tracker served over TraX, the VOT toolkit's protocol, by vot-trax's own server.

The tracker runs in a :class:`TrackingSession` (lost monitor, appearance check) as in ``asymtrack-eval``. The
client sends image paths and a rectangle; every frame is answered with the tracker's box and the session's
score as the ``confidence`` property (which the toolkit's long-term analyses threshold). With
``--empty-when-lost`` a LOST frame is answered with an empty rectangle instead, as the node publishes no box
then. A request the tracker cannot take (unreadable image, a region that is not a valid rectangle) ends the
session with the reason sent to the client and exit status 1.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import trax

from asymtrack_ros.boxes import Box
from asymtrack_ros.cli_support import command_parser
from asymtrack_ros.evaluation.cli import TRACKER_METAVAR, parse_tracker_spec, tracker_factories
from asymtrack_ros.evaluation.ope import DEFAULT_POLICY
from asymtrack_ros.sequences import read_rgb
from asymtrack_ros.tracking.monitor import TrackState
from asymtrack_ros.tracking.session import FrameOutcome, TrackingSession

logger = logging.getLogger(__name__)

EMPTY_BOX: Box = (0.0, 0.0, 0.0, 0.0)
EXAMPLES = (
    "asymtrack-trax --tracker ours=onnx:threads=1",
    "asymtrack-trax --tracker csrt=opencv:algorithm=csrt",
    "# trackers.ini of a VOT workspace (absolute paths; write % as %%):\n"
    "[asymtrack]\nprotocol = trax\ncommand = /path/to/.venv/bin/asymtrack-trax --tracker ours=onnx:threads=1\n"
    "timeout = 120",
)
Reply = tuple[Any, dict[str, float]]  # trax region, properties


def request_image(images: Mapping[str, Any]) -> np.ndarray:
    """The RGB frame of a request's ``color`` channel, sent as a file path (ValueError, OSError)."""
    image = images.get("color")
    if image is None or image.type() != trax.Image.PATH:
        raise ValueError(f"expected the color channel as an image path, got {dict(images)}")
    return read_rgb(image.path())


def request_box(objects: Sequence[tuple[Any, Mapping[str, str]]]) -> Box:
    """The (x, y, w, h) of the one rectangle an initialisation request carries (ValueError otherwise)."""
    if len(objects) != 1 or objects[0][0].type != trax.Region.RECTANGLE:
        raise ValueError(f"expected one rectangle to track, got {[str(region) for region, _ in objects]}")
    x, y, width, height = objects[0][0].bounds()
    return float(x), float(y), float(width), float(height)


def frame_reply(outcome: FrameOutcome, empty_when_lost: bool) -> Reply:
    """The region and ``confidence`` answering one tracked frame."""
    if outcome.result is None:
        raise ValueError("a frame arrived before the tracker was initialised")
    lost = outcome.state == TrackState.LOST
    box = EMPTY_BOX if lost and empty_when_lost else outcome.result.box
    return trax.Rectangle.create(*box), {"confidence": outcome.score}


def serve(server: Any, session: TrackingSession, empty_when_lost: bool = False) -> None:
    """Answer ``server``'s requests with ``session`` until the client quits (ValueError, OSError: bad request)."""
    while True:
        request = server.wait()
        if request.type == trax.TraxStatus.QUIT:
            return
        image = request_image(request.image)
        if request.type == trax.TraxStatus.INITIALIZE:
            box = request_box(request.objects)
            session.start(image, box, "trax")
            reply: Reply = (trax.Rectangle.create(*box), {"confidence": 1.0})
        else:
            reply = frame_reply(session.step(image), empty_when_lost)
        server.status([reply])


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``asymtrack-trax``: build the tracker, then serve TraX on stdin/stdout (or TRAX_SOCKET)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="asymtrack-trax: %(message)s")  # stderr: stdout is TraX's
    name = args.tracker[0]
    try:
        tracker = tracker_factories([args.tracker])[name]()
    except (ValueError, OSError) as error:
        parser.error(str(error))
    info = tracker.device_info
    description = " ".join(filter(None, (tracker.model_name, tracker.variant, f"({info.backend}, {info.device})")))
    server = trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH], tracker_name=name,
                         tracker_description=description, tracker_family="asymtrack_ros")
    try:
        serve(server, TrackingSession(tracker, DEFAULT_POLICY), args.empty_when_lost)
    except (ValueError, OSError) as error:
        logger.error("%s", error)
        server.quit(reason=str(error))
        return 1
    except trax.TraxException as error:
        logger.error("TraX connection failed: %s", error)
        return 1
    server.quit()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``asymtrack-trax`` command line."""
    parser = command_parser(
        "asymtrack-trax",
        "Serve one tracker over the TraX protocol (vot-trax), for the VOT toolkit's `vot evaluate`.",
        EXAMPLES,
        "Tracker options are passed to create_tracker(BACKEND, key=value, ...) as in asymtrack-eval. Log lines go\n"
        "to stderr; stdout carries the protocol.",
    )
    parser.add_argument("--tracker", default="ours=onnx", type=parse_tracker_spec, metavar=TRACKER_METAVAR,
                        help="tracker to serve; NAME is the tracker name reported to the client")
    parser.add_argument("--empty-when-lost", action="store_true",
                        help="answer frames where the session says LOST with an empty rectangle (default: the "
                        "tracker's box, with its low confidence)")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
