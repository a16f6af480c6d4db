#!/usr/bin/env python3
"""Point the ros-jazzy message wheels' CMake exports at this interpreter's include dirs.

The wheels' ``export_*__rosidl_generator_pyExport.cmake`` files carry include paths from the
wheel build container (``/opt/python/cp311-cp311/...``); CMake refuses to generate with them.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import numpy

INCLUDE_LINE = re.compile(r'(INTERFACE_INCLUDE_DIRECTORIES\s+")[^"]*(")')


def fix_exports(prefix: Path) -> int:
    """Rewrite every python-generator export under ``prefix/share``; return how many changed."""
    includes = f"{sysconfig.get_paths()['include']};{numpy.get_include()}"
    changed = 0
    for export in prefix.glob("share/*/cmake/export_*__rosidl_generator_pyExport.cmake"):
        text = export.read_text()
        fixed = INCLUDE_LINE.sub(lambda m: f"{m.group(1)}{includes}{m.group(2)}", text)
        if fixed != text:
            export.write_text(fixed)
            changed += 1
    return changed


if __name__ == "__main__":
    print(f"[setup] fixed {fix_exports(Path(sys.argv[1]))} wheel CMake export(s)")
