"""How a stage runs its work: as the commands a user would type (``motion-r1 ...`` or a verl recipe script).

Every command is echoed before it runs, so a user can rerun one step alone, and runs in a child process,
so its threads and memory are gone when it ends. A non-zero exit is :class:`StageFailed` (the command's
own output above says why).

Recipes (``recipes/motion_r1/*.sh`` and their Hydra profiles) are found, in order, in
``$MOTION_R1_RECIPES``, in the source checkout this package runs from, and in
``<sys.prefix>/share/motion-r1-verl/recipes/motion_r1`` where a wheel installs them.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from motion_r1_verl.errors import UserError

RECIPES_ENV = "MOTION_R1_RECIPES"
RECIPE_NAME = "motion_r1"
# A folder is the recipe folder when it holds these.
RECIPE_FILES = ("sft.sh", "grpo.sh", "merge.sh", "config")


class StageFailed(RuntimeError):
    """A stage's command exited non-zero (its own output above says why)."""


def motion_r1(*args: str | Path) -> None:
    """Run ``motion-r1 ARGS`` in a child process with this interpreter, echoing the command."""
    argv = [str(a) for a in args]
    print(f"    $ motion-r1 {shlex.join(argv)}", flush=True)
    completed = subprocess.run([sys.executable, "-m", "motion_r1_verl.cli.main", *argv], check=False)
    if completed.returncode != 0:
        raise StageFailed(f"'motion-r1 {shlex.join(argv)}' exited with code {completed.returncode}")


def recipe_candidates() -> list[Path]:
    """Where :func:`recipe_dir` looks, in order."""
    places = [Path(os.environ[RECIPES_ENV]).expanduser()] if os.environ.get(RECIPES_ENV) else []
    places.append(Path(__file__).resolve().parents[2] / "recipes" / RECIPE_NAME)  # a source checkout
    places.append(Path(sys.prefix) / "share" / "motion-r1-verl" / "recipes" / RECIPE_NAME)  # a wheel install
    return places


def recipe_dir() -> Path:
    """The ``recipes/motion_r1`` folder (see the module docstring for where it is looked for)."""
    places = recipe_candidates()
    for place in places:
        if all((place / name).exists() for name in RECIPE_FILES):
            return place
    raise UserError(
        f"no motion_r1 recipe folder (with {', '.join(RECIPE_FILES)}) in any of: {', '.join(map(str, places))}; "
        f"set {RECIPES_ENV} to a checkout's recipes/motion_r1"
    )


def run_recipe(script: str, env: dict[str, str], *overrides: str) -> None:
    """Run ``recipes/motion_r1/<script>`` (the same scripts a user runs) with ``env`` added."""
    folder = recipe_dir()
    path = folder / script
    shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    print(f"    $ {shown} {path} {shlex.join(overrides)}", flush=True)
    # The recipes call "$PYTHON"; point it at this interpreter so the venv's verl is used.
    full_env = os.environ | {"PYTHON": sys.executable} | env
    completed = subprocess.run(["bash", str(path), *overrides], env=full_env, check=False)
    if completed.returncode != 0:
        raise StageFailed(f"{script} exited with code {completed.returncode}")
