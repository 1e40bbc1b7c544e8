"""Printing and writing a benchmark's results: the table, its notes, JSON and Markdown files."""

import json
from pathlib import Path
from typing import Any, Optional


def fmt(value: Optional[float]) -> str:
    """Samples/s for a table: 1234567 -> '1234.6k', None -> '–'."""
    if value is None:
        return "–"
    return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"


def write_report(out: Path, stem: str, results: Any, table: str, notes: str) -> None:
    """Print the table and notes; write <stem>.json and <stem>.md into `out`."""
    print(table + "\n\n" + notes)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2))
    (out / f"{stem}.md").write_text(table + "\n\n" + notes + "\n")
