"""Markdown table (paper column order) and JSON for evaluation results."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from motion_r1_verl.eval.protocol import METRICS, EvalResult

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
    """Write ``payload`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
