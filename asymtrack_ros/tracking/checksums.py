"""File checksums: the sha256 that ``model.json`` records for each ONNX file and the check against it."""

from __future__ import annotations

import hashlib
from pathlib import Path


class ChecksumError(ValueError):
    """A file is missing or its bytes are not the recorded ones."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: Path, expected: str, recorded_in: Path) -> None:
    """Require ``path`` to exist with the sha256 ``expected`` that ``recorded_in`` lists for it."""
    if not path.is_file():
        raise ChecksumError(f"{path} is missing (listed in {recorded_in})")
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"{path} does not match {recorded_in}: sha256 {actual[:12]}... != recorded {expected[:12]}... "
            "(file replaced or corrupt; re-export the model directory)"
        )
