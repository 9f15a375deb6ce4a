"""A learning curve (:mod:`freeaction.eval.learning_curve`) as a Markdown table and a plot.

- :func:`format_curve`: one table row per measured step, "nothing moves" under the table;
- :func:`plot_curve`: one panel per figure measured, the model against the step, "nothing moves"
  dashed and the contact bar (:mod:`freeaction.eval.contact_bar`) dotted.
"""

from __future__ import annotations

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

# (key in a headline row, label, the contact bar)
FIGURES = [
    ("true_over_still", "Latent L2 / nothing moves", STILL_RATIO_BAR),
    ("true_over_shuffled", "Latent L2 / shuffled actions", SHUFFLED_RATIO_BAR),
    ("ee_error", "effector error (px)", EFFECTOR_BAR_PX),
    ("moved_error_final_px", "moved blocks: final error (px)", MOVED_ERROR_BAR_PX),
    ("blocks_kept_final", "blocks kept (last frame)", BLOCKS_KEPT_BAR),
    ("robot_iou", "robot-silhouette IoU", ROBOT_IOU_BAR),
    ("gripper_agreement", "gripper agreement", GRIPPER_BAR),
]


def _cell(v: Any, spec: str) -> str:
    return "-" if v is None or v != v else format(v, spec)


def format_curve(rows: list[dict[str, Any]], *, header: bool = True) -> str:
    """A Markdown table of the rows, with the "nothing moves" references under it."""
    lines = []
    if header:
        lines += ["| step | hours | L2 / still | L2 / shuffled | effector (px) | moved blocks: final error (found) "
                  "| blocks kept | robot IoU | gripper |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        moved = (f"{_cell(r.get('moved_error_final_px'), '.2f')} ({r['moved_found_final']}/{r['moved_blocks']})"
                 if r.get("moved_blocks") is not None else "-")
        kept = _cell(100 * r["blocks_kept_final"], ".1f") + "%" if r.get("blocks_kept_final") is not None else "-"
        grip = _cell(100 * r["gripper_agreement"], ".1f") + "%" if r.get("gripper_agreement") is not None else "-"
        lines.append(f"| {r['step']:,} | {_cell(r.get('train_hours'), '.2f')} | "
                     f"{_cell(r.get('true_over_still'), '.3f')} | {_cell(r.get('true_over_shuffled'), '.3f')} | "
                     f"{_cell(r.get('ee_error'), '.2f')} | {moved} | {kept} | {_cell(r.get('robot_iou'), '.3f')} | "
                     f"{grip} |")
    still = (rows[-1].get("references") or {}).get("nothing_moves") if rows and header else None
    if still:
        parts = [f"{k} {_cell(v, '.3f')}" for k, v in still.items()]
        lines.append(f"\n\"nothing moves\" on the same clips: {', '.join(parts)}")
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
