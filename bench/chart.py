"""Draw bench/results/latest.png from latest.json (run in the bench's `tools` venv).

python chart.py latest.json latest.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

WIRES = {"2026": "2026-07-28", "legacy": "legacy", "session": "legacy session"}


def color(name: str) -> str:
    if name.startswith("cloudmcp"):
        return "#2b7bba"
    return "#888888" if name.startswith("floor") else "#e08a2c"


def throughput(ax: Any, results: dict[str, Any]) -> None:
    cells = list(results["cells"].values())
    labels = [f"{results['servers'][c['contender']]['label']}\n{WIRES[c['wire']]}" for c in cells]
    medians = [c["rps"]["median"] for c in cells]
    low = [c["rps"]["median"] - c["rps"]["min"] for c in cells]
    high = [c["rps"]["max"] - c["rps"]["median"] for c in cells]
    colors = [color(c["contender"]) for c in cells]
    y = range(len(cells))
    ax.barh(y, medians, xerr=[low, high], color=colors, capsize=3)
    ax.set_xlim(0, max(c["rps"]["max"] for c in cells) * 1.15)
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    for i, cell in enumerate(cells):
        ax.text(cell["rps"]["max"], i, f"  {cell['rps']['median']:,.0f}", va="center", fontsize=8)
    ax.set_xlabel("requests/s, tools/call echo (median, min-max)")
    ax.set_title("Warm throughput, 1 server core, 32 connections")


def coldstart(ax: Any, results: dict[str, Any]) -> None:
    handlers = [h for h in results["coldstart"].values() if "pyc_ms" in h]
    y = range(len(handlers))
    medians = [h["pyc_ms"]["median"] for h in handlers]
    ax.barh(y, medians, color=[color(h["label"]) for h in handlers])
    ax.set_yticks(list(y), [h["label"] for h in handlers], fontsize=8)
    ax.invert_yaxis()
    for i, value in enumerate(medians):
        ax.text(value, i, f" {value:,.0f} ms", va="center", fontsize=8)
    ax.set_xlabel("ms from process spawn to response (median, with .pyc)")
    ax.set_title("Lambda cold start, HTTP API v2 tools/call")


def main() -> None:
    results = json.loads(Path(sys.argv[1]).read_text())
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 8), gridspec_kw={"height_ratios": [3, 1]}, constrained_layout=True
    )
    throughput(top, results)
    coldstart(bottom, results)
    fig.suptitle(f"cloudmcp bench, {results['meta']['date']}", fontsize=10)
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
