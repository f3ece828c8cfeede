"""A resumable sequence of named stages, for the quickstart (and any multi-stage job).

Each stage writes its outputs, then a marker ``<run_dir>/.stages/<name>.done``; re-running skips
stages whose marker exists (``force=True`` redoes them, ``only=`` runs a subset). A stage that fails
leaves no marker, so the next run retries it from the start.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from motion_r1_verl.errors import UserError
from motion_r1_verl.runtime.files import write_text_atomic


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline. ``run(run_dir)`` does the work and returns a one-line summary."""

    name: str
    description: str
    run: Callable[[Path], str]


@dataclass
class StageResult:
    name: str
    skipped: bool
    seconds: float
    summary: str


def marker_path(run_dir: Path, name: str) -> Path:
    return run_dir / ".stages" / f"{name}.done"


def run_stages(
    stages: Sequence[Stage],
    run_dir: Path,
    *,
    force: bool = False,
    only: Sequence[str] | None = None,
    echo: Callable[[str], None] = print,
) -> list[StageResult]:
    """Run ``stages`` in order in ``run_dir``; see the module docstring for skipping rules."""
    names = [s.name for s in stages]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise UserError(f"unknown stage(s) {unknown}; stages are {names}")
    run_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for index, stage in enumerate(stages, start=1):
        header = f"[{index}/{len(stages)}] {stage.name}: {stage.description}"
        marker = marker_path(run_dir, stage.name)
        if only and stage.name not in only:
            continue
        if marker.exists() and not force:
            summary = marker.read_text().strip()
            echo(f"{header} -- done already ({summary}); --force redoes it")
            results.append(StageResult(stage.name, True, 0.0, summary))
            continue
        echo(header)
        start = time.perf_counter()
        summary = stage.run(run_dir)
        seconds = time.perf_counter() - start
        # Whole or absent: a torn marker would pass the stage as done. Durable: the stage may have taken hours.
        write_text_atomic(marker, summary + "\n", durable=True)
        echo(f"    {summary} ({seconds:.1f} s)")
        results.append(StageResult(stage.name, False, seconds, summary))
    return results
