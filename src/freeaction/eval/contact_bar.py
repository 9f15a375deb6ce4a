"""The contact bar: do a model's pushed objects stay whole and land where the simulator puts them,
and does its arm stay an arm? Judged per seed from a :func:`~freeaction.eval.quality.quality_check`
result (1 + 15 actions), with the "nothing moves" and shuffled-actions references beside each figure.

- pusher: moved blocks' final position error <= 2 px (``moved_error_final_px``, over the moved
  blocks found in the last frame), blocks kept in the last frame >= 95% (``blocks_kept_final``),
  effector error <= 2 px; the share of *moved* blocks kept (``moved_kept_final``) is shown without a bar;
- arm: Latent L2 <= 0.7 x "nothing moves" and <= 0.6 x shuffled actions, painted-robot IoU >= 0.8
  (``robot_iou``), gripper agreement >= 90% (with the gripper reader's own accuracy on true test
  frames beside it); the moving-robot IoU (``robot_iou_moving``) is shown without a bar, because
  "nothing moves" already scores about 0.66-0.75 plain IoU (the mount and the still part of the arm).

Definitions in docs/evaluation.md §7. A figure that was not measured fails its bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MOVED_ERROR_BAR_PX = 2.0
BLOCKS_KEPT_BAR = 0.95
EFFECTOR_BAR_PX = 2.0
STILL_RATIO_BAR = 0.7
SHUFFLED_RATIO_BAR = 0.6
ROBOT_IOU_BAR = 0.8
GRIPPER_BAR = 0.9


# why an arm clip has no robot IoU: the arm is found by its paint, which only arm world 2 on has
NOT_PAINTED = "not measured: the clips' arm is not painted (arm world 2 on; docs/evaluation.md §7)"


@dataclass(frozen=True)
class ContactRow:
    """One figure for one seed: true actions with both references, the bar and whether it is met
    (``met`` None: a figure shown without a bar)."""

    figure: str
    seed: int
    true: float | None
    shuffled: float | None
    still: float | None
    bar: str
    met: bool | None
    note: str = ""


def _at_most(v: float | None, bar: float) -> bool:
    return v is not None and v == v and v <= bar


def _at_least(v: float | None, bar: float) -> bool:
    return v is not None and v == v and v >= bar


def pusher_rows(q: dict[str, Any]) -> list[ContactRow]:
    """The pusher's rows, per seed (needs ``q["objects"]``)."""
    objects, effector = q["objects"], {s["seed"]: s for s in q["by_seed"]}
    still = objects["nothing_moves"]
    rows = []
    for s in objects["by_seed"]:
        seed, shuf = s["seed"], s["shuffled_actions"]
        found = f"found {s['moved_found_final']}/{s['moved_blocks']} (shuffled {shuf['moved_found_final']}/" \
                f"{shuf['moved_blocks']}, nothing moves {still['moved_found_final']}/{still['moved_blocks']})"
        ee = effector.get(seed, {}).get("ee_error")
        rows += [
            ContactRow("moved-block final error (px)", seed, s["moved_error_final_px"],
                       shuf["moved_error_final_px"], still["moved_error_final_px"], f"<= {MOVED_ERROR_BAR_PX:g}",
                       _at_most(s["moved_error_final_px"], MOVED_ERROR_BAR_PX), found),
            ContactRow("blocks kept, last frame", seed, s["blocks_kept_final"], shuf["blocks_kept_final"],
                       still["blocks_kept_final"], f">= {BLOCKS_KEPT_BAR:.0%}",
                       _at_least(s["blocks_kept_final"], BLOCKS_KEPT_BAR)),
            ContactRow("moved blocks kept, last frame", seed, s["moved_kept_final"], shuf["moved_kept_final"],
                       still["moved_kept_final"], "", None),
            ContactRow("effector error (px)", seed, ee, None, None, f"<= {EFFECTOR_BAR_PX:g}",
                       _at_most(ee, EFFECTOR_BAR_PX)),
        ]
    return rows


def arm_rows(q: dict[str, Any]) -> list[ContactRow]:
    """The arm's rows, per seed (needs ``q["arm"]``)."""
    arm, reader = q["arm"], q.get("gripper_reader") or {}
    still = arm["nothing_moves"]
    accuracy = reader.get("test_accuracy")
    reader_note = f"reader on true test frames: {accuracy:.3f}" if accuracy is not None else "no gripper reader"
    latent = {s["seed"]: s for s in q["by_seed"]}
    rows = []
    for s in arm["by_seed"]:
        seed, true, shuf = s["seed"], s["true_actions"], s["shuffled_actions"]
        lat = latent[seed]
        unpainted = NOT_PAINTED if true.get("robot_iou") is None and still.get("robot_iou") is None else ""
        rows += [
            ContactRow("Latent L2", seed, lat["latent_l2"], lat["latent_l2_shuffled"], lat["latent_l2_still"],
                       f"<= {STILL_RATIO_BAR:g} x nothing moves, <= {SHUFFLED_RATIO_BAR:g} x shuffled",
                       lat["true_over_still"] <= STILL_RATIO_BAR and lat["true_over_shuffled"] <= SHUFFLED_RATIO_BAR,
                       f"ratios {lat['true_over_still']:.3f} / {lat['true_over_shuffled']:.3f}"),
            ContactRow("robot-silhouette IoU", seed, true.get("robot_iou"), shuf.get("robot_iou"),
                       still.get("robot_iou"), f">= {ROBOT_IOU_BAR:g}",
                       _at_least(true.get("robot_iou"), ROBOT_IOU_BAR), unpainted),
            ContactRow("moving-robot IoU", seed, true.get("robot_iou_moving"), shuf.get("robot_iou_moving"),
                       still.get("robot_iou_moving"), "", None, unpainted),
            ContactRow("gripper agreement", seed, true.get("gripper_agreement"), shuf.get("gripper_agreement"),
                       still.get("gripper_agreement"), f">= {GRIPPER_BAR:.0%}",
                       _at_least(true.get("gripper_agreement"), GRIPPER_BAR), reader_note),
        ]
    return rows


def contact_rows(q: dict[str, Any]) -> list[ContactRow]:
    """Every contact row the result allows (pusher blocks, the arm); empty without object figures."""
    return (pusher_rows(q) if q.get("objects") else []) + (arm_rows(q) if q.get("arm") else [])


def contact_met(rows: list[ContactRow]) -> bool:
    """Whether every bar is met for every seed (False when there is no row)."""
    barred = [r.met for r in rows if r.met is not None]
    return bool(barred) and all(barred)
