"""A compact live progress line: iteration, checked / valid / training / done, best fitness, LLM usage.

On a terminal the line is redrawn in place; otherwise each change is one plain line on stderr, which
reads well in CI logs and `nohup` files.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class Progress:
    iterations: int
    restarts: int = 1
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    enabled: bool = True
    state: dict[str, Any] = field(default_factory=dict)
    _last: str = ""

    def update(self, **changes: Any) -> None:
        self.state.update(changes)
        if not self.enabled:
            return
        line = self.render()
        if line == self._last:
            return
        self._last = line
        if self.stream.isatty():
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def render(self) -> str:
        s = self.state
        parts = []
        if self.restarts > 1:
            parts.append(f"restart {s.get('restart', 0) + 1}/{self.restarts}")
        parts.append(f"iter {s.get('iteration', 0) + 1}/{self.iterations}")
        parts.append(f"{s.get('phase', '')}".strip())
        if "proposed" in s:
            parts.append(f"checked {s.get('checked', 0)}/{s['proposed']} (valid {s.get('valid', 0)})")
        if "done" in s:
            parts.append(f"trained {s['done']}/{s.get('valid', 0)}")
        best = s.get("best")
        parts.append(f"best {best:.4g}" if isinstance(best, float) else "best -")
        if s.get("nodes"):
            parts.append(str(s["nodes"]))
        if s.get("llm"):
            parts.append(str(s["llm"]))
        return " | ".join(p for p in parts if p)

    def close(self) -> None:
        if self.enabled and self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        if self.enabled:
            if self.stream.isatty():
                self.stream.write("\r\033[K")
            self.stream.write(text + "\n")
            self.stream.flush()
