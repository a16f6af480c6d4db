"""Benchmark results as a markdown table (device column: ONNX combos name the providers actually used)."""

from __future__ import annotations

# (header, result key path, format)
COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("init ms", ("template_init_ms", "p50"), "{:.1f}"),
    ("crop+pre p50", ("preprocess_ms", "p50"), "{:.2f}"),
    ("infer p50", ("inference_ms", "p50"), "{:.2f}"),
    ("infer p90", ("inference_ms", "p90"), "{:.2f}"),
    ("infer p99", ("inference_ms", "p99"), "{:.2f}"),
    ("post p50", ("postprocess_ms", "p50"), "{:.2f}"),
    ("frame p50", ("frame_ms", "p50"), "{:.2f}"),
    ("frame p90", ("frame_ms", "p90"), "{:.2f}"),
    ("frame p99", ("frame_ms", "p99"), "{:.2f}"),
    ("fps", ("fps",), "{:.1f}"),
    ("non-infer %", ("outside_inference_fraction",), "{:.1%}"),
    ("net cached p50", ("network_cached_ms", "p50"), "{:.2f}"),
    ("net recomputed-template p50", ("network_recomputed_template_ms", "p50"), "{:.2f}"),
    ("RSS +MiB", ("rss_growth_mb",), "{:.0f}"),
    ("box dev px", ("box_deviation_px",), "{:.3f}"),
    ("vs full depth", ("speedup_vs_full_depth",), "{:.2f}x"),
)


def _cell(result: dict, path: tuple[str, ...], fmt: str) -> str:
    value = result
    for key in path:
        if not isinstance(value, dict) or value.get(key) is None:
            return "-"
        value = value[key]
    return fmt.format(value)


def device_cell(result: dict) -> str:
    """The combo's device and, for ONNX combos, the execution providers its sessions actually use, without the
    ``ExecutionProvider`` suffix: ``cuda:0 [Tensorrt, CUDA, CPU]``, ``cpu [CPU]``."""
    if result.get("backend") != "onnx" or not result.get("providers"):
        return str(result["device"])
    providers = ", ".join(name.removesuffix("ExecutionProvider") for name in result["providers"])
    return f"{result['device']} [{providers}]"


def warning_lines(report: dict) -> list[str]:
    """One line per device warning of a combo (a requested provider missing or fallen back)."""
    return [f"Warning, {result['combo']}: {warning}" for result in report["results"]
            for warning in result.get("warnings", ())]


def markdown_table(report: dict) -> str:
    """Header lines (sequence, threads, host) and one table row per combo; times in ms."""
    env = report["environment"]
    threads = f"{env['threads']}{' (no spinning)' if env['spinning'] is False else ''}"
    lines = [
        f"Sequence: {env['sequence']} ({env['frames']} frames, {env['rounds']} rounds, {env['warmup']} warm-up "
        f"frames); threads {threads}; {env['cpu']} ({env['cpu_count']} cores); load average "
        f"{env['load_average_before'][0]:.2f} before, {env['load_average_after'][0]:.2f} after; "
        f"peak RSS {env['peak_rss_mb']:.0f} MiB",
        "",
        "| combo | device | " + " | ".join(header for header, _, _ in COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    for result in report["results"]:
        cells = [_cell(result, path, fmt) for _, path, fmt in COLUMNS]
        lines.append(f"| {result['combo']} | {device_cell(result)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("box dev px: mean |x, y, w, h difference| from the first combo of the same model and variant.")
    lines.extend(warning_lines(report))
    return "\n".join(lines)
