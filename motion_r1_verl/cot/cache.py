"""SQLite cache of LLM decompositions, keyed by (prompt version, model, caption).

Captions repeat across clips (HumanML3D has thousands of "a person walks forward."), and a build that
is interrupted must not pay twice for what it already got, so every finished LLM outcome is stored
here before its row is written. The prompt version is part of the key: a new prompt text never
reuses answers to the old one. Only the build's main thread touches the database (workers hand their
results back), so one connection suffices; each ``put`` commits, which makes it durable on kill.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decompositions (
    prompt_version TEXT NOT NULL,
    model TEXT NOT NULL,
    caption TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (prompt_version, model, caption)
)
"""


class CotCache:
    """``get``/``put`` JSON payloads under (prompt_version, model, caption)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as err:
            raise ValueError(f"cache {self.path} is not a usable SQLite database ({err})") from None

    def get(self, prompt_version: str, model: str, caption: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT payload FROM decompositions WHERE prompt_version=? AND model=? AND caption=?",
            (prompt_version, model, caption),
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, prompt_version: str, model: str, caption: str, payload: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO decompositions VALUES (?, ?, ?, ?, ?)",
            (prompt_version, model, caption, json.dumps(payload, sort_keys=True), time.time()),
        )
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM decompositions").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CotCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
