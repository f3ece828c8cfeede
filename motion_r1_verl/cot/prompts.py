"""Versioned prompt templates, stored as data files in ``cot/prompts/<name>.json``.

A prompt file holds the instructions (``system``), the output-format constraint (``format``), several
in-context examples and a ``version`` string. The version is part of the cache key, so editing a
prompt and bumping its version invalidates exactly the cached answers that came from the old text.
Messages are laid out as: system (instructions + format), then each example as a user/assistant
pair, then the real request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Prompt:
    """One prompt template. ``examples``: dicts with the template's fields plus ``output``."""

    name: str
    version: str
    system: str
    format: str
    user_template: str
    examples: tuple[dict[str, Any], ...]
    temperature: float
    max_tokens: int

    def messages(self, **fields: str) -> list[dict[str, str]]:
        """Chat messages asking this prompt's question about ``fields`` (e.g. caption=...)."""
        messages = [{"role": "system", "content": f"{self.system}\n\n{self.format}"}]
        for example in self.examples:
            shown = {k: v for k, v in example.items() if k != "output"}
            messages.append({"role": "user", "content": self.user_template.format(**shown)})
            messages.append({"role": "assistant", "content": json.dumps(example["output"])})
        messages.append({"role": "user", "content": self.user_template.format(**fields)})
        return messages


def load_prompt(name_or_path: str) -> Prompt:
    """A packaged prompt by name (``"decompose"``, ``"verify"``) or a prompt file by path."""
    path = Path(name_or_path)
    if path.suffix == ".json":
        text = path.read_text(encoding="utf-8")
    else:
        text = resources.files("motion_r1_verl.cot").joinpath("prompts", f"{name_or_path}.json").read_text("utf-8")
    data = json.loads(text)
    missing = {"name", "version", "system", "format", "user_template", "examples"} - data.keys()
    if missing:
        raise ValueError(f"prompt {name_or_path}: missing fields {sorted(missing)}")
    return Prompt(
        name=data["name"],
        version=data["version"],
        system=data["system"],
        format=data["format"],
        user_template=data["user_template"],
        examples=tuple(data["examples"]),
        temperature=float(data.get("temperature", 0.6)),
        max_tokens=int(data.get("max_tokens", 2048)),
    )
