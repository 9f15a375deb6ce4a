"""A learning curve (:mod:`freeaction.eval.learning_curve`) as a Markdown table and a plot.

- :func:`format_curve`: one table row per measured step, and "nothing moves" on the same clips;
- :func:`plot_curve`: one panel per figure measured, the model against the step, "nothing moves"
  dashed and the contact bar (:mod:`freeaction.eval.contact_bar`) dotted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from freeaction.eval.contact_bar import (
    BLOCKS_KEPT_BAR,
    EFFECTOR_BAR_PX,
    GRIPPER_BAR,
    MOVED_ERROR_BAR_PX,
    ROBOT_IOU_BAR,
    SHUFFLED_RATIO_BAR,
    STILL_RATIO_BAR,
)

# (key in a headline row, label, the contact bar or None)
FIGURES = [
    ("true_over_still", "Latent L2 / nothing moves", STILL_RATIO_BAR),
    ("true_over_shuffled", "Latent L2 / shuffled actions", SHUFFLED_RATIO_BAR),
    ("ee_error", "effector error (px)", EFFECTOR_BAR_PX),
    ("moved_error_final_px", "moved blocks: final error (px)", MOVED_ERROR_BAR_PX),
    ("blocks_kept_final", "blocks kept (last frame)", BLOCKS_KEPT_BAR),
    ("robot_iou", "robot-silhouette IoU", ROBOT_IOU_BAR),
    ("robot_iou_moving", "moving-robot IoU (no bar)", None),
    ("gripper_agreement", "gripper agreement", GRIPPER_BAR),
]


def _num(key: str, spec: str, scale: float = 1.0, suffix: str = "") -> Callable[[dict[str, Any]], str | None]:
    def cell(r: dict[str, Any]) -> str | None:
        v = r.get(key)
        return None if v is None else ("-" if v != v else format(scale * v, spec) + suffix)
    return cell


def _moved(r: dict[str, Any]) -> str | None:
    if r.get("moved_blocks") is None:
        return None
    error = r.get("moved_error_final_px")
    return f"{'-' if error is None or error != error else format(error, '.2f')} " \
           f"({r['moved_found_final']:.0f}/{r['moved_blocks']:.0f})"


# (header, the cell of a row; None where the row has no such figure)
COLUMNS = [
    ("hours", _num("train_hours", ".2f")),
    ("L2 / still", _num("true_over_still", ".3f")),
    ("L2 / shuffled", _num("true_over_shuffled", ".3f")),
    ("effector (px)", _num("ee_error", ".2f")),
    ("moved blocks: final error (found)", _moved),
    ("blocks kept", _num("blocks_kept_final", ".1f", 100, "%")),
    ("robot IoU", _num("robot_iou", ".3f")),
    ("moving-robot IoU", _num("robot_iou_moving", ".3f")),
    ("gripper", _num("gripper_agreement", ".1f", 100, "%")),
]


def format_curve(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the rows, one per step, and a last row for "nothing moves" on the same clips
    (Latent L2 1 by definition); the columns are the figures measured."""
    still = (rows[-1].get("references") or {}).get("nothing_moves") if rows else None
    table = [(f"{r['step']:,}", r) for r in rows]
    if still:
        table.append(("nothing moves", {"true_over_still": 1.0, **still}))
    shown = [(name, cell) for name, cell in COLUMNS if any(cell(r) is not None for _, r in table)]
    lines = ["| step | " + " | ".join(name for name, _ in shown) + " |", "|---" * (len(shown) + 1) + "|"]
    for label, r in table:
        lines.append(f"| {label} | " + " | ".join(cell(r) or "" for _, cell in shown) + " |")
    return "\n".join(lines)


def plot_curve(rows: list[dict[str, Any]], path: str | Path) -> Path | None:
    """One panel per measured figure against the step: the model (line), "nothing moves" (dashed)
    and the contact bar (dotted). None when no figure has a value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [f for f in FIGURES if any(r.get(f[0]) is not None for r in rows)]
    if not shown:
        return None
    cols = min(3, len(shown))
    nrows = -(-len(shown) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 3 * nrows), squeeze=False)
    steps = [r["step"] for r in rows]
    for ax, (key, label, bar) in zip(axes.flat, shown, strict=False):
        ax.plot(steps, [r.get(key) if r.get(key) is not None else float("nan") for r in rows], "o-", label="model")
        still = [((r.get("references") or {}).get("nothing_moves") or {}).get(key) for r in rows]
        if any(v is not None for v in still):
            ax.plot(steps, [v if v is not None else float("nan") for v in still], "--", color="grey",
                    label="nothing moves")
        elif key == "true_over_still":
            ax.axhline(1.0, ls="--", color="grey", label="nothing moves")
        if bar is not None:
            ax.axhline(bar, ls=":", color="tab:red", label="bar")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)
    return path
