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


def markdown_table(results: list[EvalResult]) -> str:
    """One row per result: ``mean±ci95`` with 3 decimals, ``-`` where a metric does not apply."""
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
    return "\n".join(lines)


def write_json(path: str | Path, payload: dict) -> None:
    """Write ``payload`` as indented JSON, atomically (:func:`motion_r1_verl.runtime.files.write_json_atomic`)."""
    write_json_atomic(path, payload, indent=2)
