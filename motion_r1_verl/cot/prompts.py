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

from motion_r1_verl.errors import UserError


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
    """A packaged prompt by name (``"decompose"``, ``"verify"``) or a prompt file by path; ``UserError``
    naming the file and the field for anything malformed."""
    path = Path(name_or_path)
    try:
        if path.suffix == ".json":
            text = path.read_text(encoding="utf-8")
        else:
            text = resources.files("motion_r1_verl.cot").joinpath("prompts", f"{name_or_path}.json").read_text("utf-8")
    except FileNotFoundError:
        known = "a packaged name: decompose, verify; or a .json path"
        raise UserError(f"prompt {name_or_path}: not found ({known})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"prompt {name_or_path}: cannot read ({err})") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise UserError(f"prompt {name_or_path}: not JSON ({err})") from None
    if not isinstance(data, dict):
        got = type(data).__name__
        raise UserError(f"prompt {name_or_path}: expected a JSON object with the prompt's fields, got {got}")
    missing = {"name", "version", "system", "format", "user_template", "examples"} - data.keys()
    if missing:
        raise UserError(f"prompt {name_or_path}: missing fields {sorted(missing)}")
    for key in ("name", "version", "system", "format", "user_template"):
        if not isinstance(data[key], str):
            raise UserError(f"prompt {name_or_path}: field {key!r} must be a string, got {type(data[key]).__name__}")
    if not isinstance(data["examples"], list) or not all(
        isinstance(e, dict) and "output" in e for e in data["examples"]
    ):
        raise UserError(f"prompt {name_or_path}: field 'examples' must be a list of objects, each with an 'output'")
    try:
        temperature, max_tokens = float(data.get("temperature", 0.6)), int(data.get("max_tokens", 2048))
    except (TypeError, ValueError):
        raise UserError(f"prompt {name_or_path}: temperature and max_tokens must be numbers") from None
    return Prompt(
        name=data["name"],
        version=data["version"],
        system=data["system"],
        format=data["format"],
        user_template=data["user_template"],
        examples=tuple(data["examples"]),
        temperature=temperature,
        max_tokens=max_tokens,
    )
