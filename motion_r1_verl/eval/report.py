"""Markdown table (paper column order) and JSON for evaluation results."""

from __future__ import annotations

from pathlib import Path

from motion_r1_verl.eval.protocol import METRICS, EvalResult
from motion_r1_verl.runtime.files import write_json_atomic

HEADERS = {
    "R@1": "R-Precision Top-1 ↑",
    "R@2": "Top-2 ↑",
    "R@3": "Top-3 ↑",
    "FID": "FID ↓",
    "MM-Dist": "MM-Dist ↓",
    "Diversity": "Diversity →",
    "MultiModality": "MultiModality ↑",
}


# The protocol's MultiModality draws its pairs among 30 generations per text.
MULTIMODALITY_PROTOCOL_SAMPLES = 30


def markdown_table(results: list[EvalResult]) -> str:
    """One row per result: ``mean±ci95`` with 3 decimals, ``-`` where a metric does not apply; a note under
    the table for every MultiModality measured on fewer generations per text than the protocol's 30."""
    lines = [
        "| Method | " + " | ".join(HEADERS[m] for m in METRICS) + " |",
        "|---|" + "---|" * len(METRICS),
    ]
    for res in results:
        cells = []
        for m in METRICS:
            s = res.metrics.get(m)
            cells.append("-" if s is None else f"{s.mean:.3f}±{s.ci95:.3f}")
        lines.append(f"| {res.label} | " + " | ".join(cells) + " |")
    for res in results:
        k = int(res.settings.get("samples_per_clip", 0))
        if res.metrics.get("MultiModality") is not None and k < MULTIMODALITY_PROTOCOL_SAMPLES:
            lines.append(
                f"\n{res.label}: MultiModality from {k} generations per text, not the protocol's "
                f"{MULTIMODALITY_PROTOCOL_SAMPLES}: its random pairs more often compare a generation with itself "
                "(distance 0), so the figure is biased low."
            )
    return "\n".join(lines)


def write_json(path: str | Path, payload: dict) -> None:
    """Write ``payload`` as indented JSON, atomically (:func:`motion_r1_verl.runtime.files.write_json_atomic`)."""
    write_json_atomic(path, payload, indent=2)
