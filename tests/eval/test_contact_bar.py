"""The contact bar, judged per seed on hand-made quality results."""

from __future__ import annotations

from freeaction.eval.contact_bar import contact_met, contact_rows


def blocks(error, kept, moved_kept=1.0, found=4, moved=4):
    return {"moved_error_final_px": error, "blocks_kept_final": kept, "moved_kept_final": moved_kept,
            "moved_found_final": found, "moved_blocks": moved}


def latent(seed, true, shuffled, still):
    return {"seed": seed, "latent_l2": true, "latent_l2_shuffled": shuffled, "latent_l2_still": still,
            "true_over_shuffled": true / shuffled, "true_over_still": true / still, "ee_error": 1.5}


def test_pusher_bar_is_met_only_when_every_seed_meets_it():
    q = {"by_seed": [latent(0, 1, 2, 2), latent(1, 1, 2, 2)],
         "objects": {"nothing_moves": blocks(4.6, 0.4, 0.4, 2, 4),
                     "by_seed": [{"seed": 0, **blocks(1.5, 0.97), "shuffled_actions": blocks(6.0, 0.5)},
                                 {"seed": 1, **blocks(2.5, 0.97), "shuffled_actions": blocks(6.0, 0.5)}]}}
    rows = contact_rows(q)
    error = [r for r in rows if r.figure.startswith("moved-block final error")]
    assert [(r.seed, r.met) for r in error] == [(0, True), (1, False)]
    assert error[0].still == 4.6 and error[0].shuffled == 6.0 and "found 4/4" in error[0].note
    assert [r.met for r in rows if r.figure == "moved blocks kept, last frame"] == [None, None]  # shown, no bar
    assert not contact_met(rows)
    q["objects"]["by_seed"][1]["moved_error_final_px"] = 1.9
    assert contact_met(contact_rows(q))
    q["objects"]["by_seed"][1]["moved_error_final_px"] = None  # no moved block found: not met
    assert not contact_met(contact_rows(q))


def test_arm_bar_reads_both_latent_ratios_iou_and_gripper():
    arm = {"robot_iou": 0.85, "robot_iou_moving": 0.6, "gripper_agreement": 0.95}
    q = {"by_seed": [latent(0, 0.06, 0.11, 0.1)],
         "arm": {"nothing_moves": {"robot_iou": 0.7, "robot_iou_moving": 0.0, "gripper_agreement": 0.6},
                 "by_seed": [{"seed": 0, "true_actions": arm, "shuffled_actions": {"robot_iou": 0.75}}]},
         "gripper_reader": {"test_accuracy": 0.97}}
    rows = {r.figure: r for r in contact_rows(q)}
    assert set(rows) == {"Latent L2", "robot-silhouette IoU", "moving-robot IoU", "gripper agreement"}
    assert rows["Latent L2"].met is True and "0.600 / 0.545" in rows["Latent L2"].note
    assert rows["robot-silhouette IoU"].still == 0.7 and rows["moving-robot IoU"].met is None
    assert rows["gripper agreement"].note == "reader on true test frames: 0.970"
    assert rows["robot-silhouette IoU"].note == ""
    assert rows["gripper agreement"].shuffled is None
    assert contact_met(list(rows.values()))
    q["by_seed"] = [latent(0, 0.06, 0.09, 0.1)]  # 0.6 x nothing moves but 0.667 x shuffled
    assert not contact_met(contact_rows(q))
    q["by_seed"] = [latent(0, 0.075, 0.2, 0.1)]  # 0.375 x shuffled but 0.75 x nothing moves
    assert not contact_met(contact_rows(q))


def test_no_object_figures_no_rows():
    assert contact_rows({"by_seed": []}) == [] and not contact_met([])


def test_an_unpainted_arm_fails_the_iou_bar_and_says_why():
    q = {"by_seed": [latent(0, 0.08, 0.11, 0.09)],
         "arm": {"nothing_moves": {"gripper_agreement": 0.6},  # world 1: no paint to find the robot by
                 "by_seed": [{"seed": 0, "true_actions": {"gripper_agreement": 0.6},
                              "shuffled_actions": {"gripper_agreement": 0.55}}]}}
    rows = {r.figure: r for r in contact_rows(q)}
    assert rows["robot-silhouette IoU"].true is None and rows["robot-silhouette IoU"].met is False
    assert rows["robot-silhouette IoU"].note.startswith("not measured: the clips' arm is not painted")
    assert rows["moving-robot IoU"].note == rows["robot-silhouette IoU"].note
    assert rows["gripper agreement"].note == "no gripper reader"
