"""Object-level metrics on hand-made frames with known answers, and on real pusher episodes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from freeaction.eval.objects import (
    COLOR_TOLERANCE,
    MOVED_PX,
    MOVING_MIN_PIXELS,
    BlockTrack,
    RobotPaint,
    clip_figures,
    difference_mask,
    mask_iou,
    moving_silhouette_iou,
    nothing_moves,
    robot_iou,
    silhouette_iou,
    summarize_blocks,
    summarize_silhouettes,
    tolerant_iou,
)
from freeaction.eval.objects.blocks import centroid, color_mask
from freeaction.eval.quality import ObjectFigures, arm_text
from freeaction.sim import pusher

SIZE = 32  # hand-made frames: 32x32, 100 px per metre, blocks are 6x6 px squares
PPM = 100.0
RED, ORANGE = pusher.BLOCK_COLORS["red"], pusher.BLOCK_COLORS["orange"]


def annotation(places: list[list[tuple[int, int]]], colors: tuple[str, ...] = ("red",)) -> dict:
    """A pusher-like annotation whose block k sits with its top-left pixel at places[t][k]."""
    centres = [[((x + 2.5 + 0.5) / PPM, (y + 2.5 + 0.5) / PPM) for x, y in row] for row in places]
    return {"blocks": [{"color": c, "shape": "square", "rgb": list(pusher.BLOCK_COLORS[c]), "size_m": 0.06}
                       for c in colors],
            "block_xy": centres,
            "sim": {"px_per_meter": PPM, "table_m": [SIZE / PPM, SIZE / PPM]}}


def frames_with(places: list[list[tuple[int, int]]], colors: tuple[str, ...] = ("red",)) -> np.ndarray:
    """Table-coloured frames with a 6x6 block of each colour at its place (top-left pixel)."""
    out = np.empty((len(places), SIZE, SIZE, 3), np.uint8)
    out[:] = pusher.TABLE_COLOR
    for t, row in enumerate(places):
        for (x, y), c in zip(row, colors, strict=True):
            out[t, y : y + 6, x : x + 6] = pusher.BLOCK_COLORS[c]
    return out


# The true clip: the block moves 5 px to the right over frames 1..4 and stays.
TRUE_PLACES = [[(8, 12)], [(10, 12)], [(12, 12)], [(13, 12)], [(13, 12)]]


@pytest.fixture
def clip():
    return frames_with(TRUE_PLACES), BlockTrack(annotation(TRUE_PLACES), (SIZE, SIZE))


def test_tolerance_separates_the_palette_table_and_effector():
    palette = [np.array(c, float) for c in pusher.BLOCK_COLORS.values()]
    closest = min(np.linalg.norm(a - b) for a, b in itertools.combinations(palette, 2))
    assert closest == pytest.approx(68.4, abs=0.1) and closest > 2 * COLOR_TOLERANCE
    for other in (pusher.TABLE_COLOR, pusher.EE_COLOR):
        assert min(np.linalg.norm(c - np.array(other, float)) for c in palette) > 4 * COLOR_TOLERANCE


def test_true_frames_score_zero_error_and_all_kept(clip):
    frames, track = clip
    (block,) = track.measure(frames, frames, start=0)
    assert block.displacement_px == pytest.approx(5.0) and block.moved
    assert np.array_equal(block.error_px, np.zeros(4)) and np.array_equal(block.area_share, np.ones(4))
    figures = summarize_blocks([block])
    assert figures["moved_error_final_px"] == 0.0 and figures["moved_kept_final"] == 1.0
    assert figures["blocks_kept_final"] == 1.0 and figures["moved_found_final"] == 1


def test_a_block_left_5_px_behind_has_error_5(clip):
    frames, track = clip
    (block,) = track.measure(frames, nothing_moves(frames), start=0)
    assert np.allclose(block.error_px, [2, 4, 5, 5]) and block.kept.all()
    figures = summarize_blocks([block])
    assert figures["moved_error_final_px"] == pytest.approx(5.0)
    assert figures["moved_error_by_frame_px"] == pytest.approx([2, 4, 5, 5])
    assert figures["moved_error_px"] == pytest.approx(4.0)


def test_a_block_moved_5_px_off_its_true_place_has_error_5(clip):
    frames, track = clip
    generated = frames_with([[(x, y + 5)] for ((x, y),) in TRUE_PLACES])  # 5 px too low, every frame
    (block,) = track.measure(frames, generated, start=0)
    assert np.allclose(block.error_px, 5.0) and block.kept.all()


def test_a_recoloured_block_is_not_kept(clip):
    frames, track = clip
    generated = frames_with(TRUE_PLACES, ("orange",))  # the palette colour closest to red but one
    (block,) = track.measure(frames, generated, start=0)
    assert np.isnan(block.error_px).all() and not block.found.any() and not block.kept.any()
    figures = summarize_blocks([block])
    assert figures["moved_found_final"] == 0 and figures["moved_kept_final"] == 0.0
    assert figures["moved_error_final_px"] is None and figures["blocks_kept_final"] == 0.0


def test_a_half_erased_block_keeps_half_its_area(clip):
    frames, track = clip
    half, third = frames.copy(), frames.copy()
    for t, ((x, y),) in enumerate(TRUE_PLACES):
        half[t, y : y + 6, x + 3 : x + 6] = pusher.TABLE_COLOR  # right 3 of 6 columns gone
        third[t, y : y + 6, x + 2 : x + 6] = pusher.TABLE_COLOR  # right 4 of 6 columns gone
    (block,) = track.measure(frames, half, start=0)
    assert np.allclose(block.area_share, 0.5) and block.kept.all()
    assert np.allclose(block.error_px, 1.5)  # centroid of columns 0..2 vs 0..5
    (block,) = track.measure(frames, third, start=0)
    assert np.allclose(block.area_share, 1 / 3) and not block.kept.any() and block.found.all()


def test_colour_far_from_the_true_place_is_ignored(clip):
    frames, track = clip
    generated = frames.copy()
    generated[:, 0:4, 26:30] = RED  # a red smear in a corner, far from the block
    (block,) = track.measure(frames, generated, start=0)
    assert np.array_equal(block.error_px, np.zeros(4)) and np.array_equal(block.area_share, np.ones(4))


def test_a_still_block_is_not_moved_and_summaries_pool_clips():
    places = [[(4, 4), (20, 20)], [(4, 4), (21, 20)], [(4, 4), (24, 20)]]
    frames = frames_with(places, ("blue", "yellow"))
    track = BlockTrack(annotation(places, ("blue", "yellow")), (SIZE, SIZE))
    still, pushed = track.measure(frames, nothing_moves(frames), start=0)
    assert still.displacement_px == 0.0 and not still.moved
    assert pushed.displacement_px == pytest.approx(4.0) and pushed.moved
    figures = summarize_blocks([still, pushed, still, pushed])  # two clips' blocks joined
    assert figures["blocks"] == 4 and figures["moved_blocks"] == 2 and figures["moved_found_final"] == 2
    assert figures["moved_error_final_px"] == pytest.approx(4.0)
    assert summarize_blocks([still])["moved_error_final_px"] is None


def test_centres_follow_a_resized_dataset():
    places = [[(8, 12)], [(10, 12)]]
    ann = annotation(places)
    native, half = BlockTrack(ann, (SIZE, SIZE)), BlockTrack(ann, (SIZE // 2, SIZE // 2))
    assert np.allclose(half.centres_px, (native.centres_px + 0.5) / 2 - 0.5)


def test_silhouette_iou_of_a_shifted_mask():
    true = np.zeros((3, 20, 20), bool)
    true[:, 5:15, 5:15] = True  # 10x10
    shifted = np.roll(true, 2, axis=2)  # 2 px right: overlap 10x8 = 80, union 120
    assert silhouette_iou(true, shifted) == pytest.approx([2 / 3, 2 / 3])
    assert silhouette_iou(true, true) == pytest.approx([1.0, 1.0])
    assert mask_iou(np.zeros((4, 4), bool), np.zeros((4, 4), bool)) == 1.0
    assert mask_iou(true[0], ~true[0]) == 0.0


def test_robot_iou_finds_the_robot_against_the_robot_free_scene():
    free = np.full((3, 20, 20, 3), 120, np.uint8)  # grey scene without the robot, per frame
    free[2, 0:3, 0:3] = (214, 39, 40)  # a cube that moved in frame 2: in the scene, not the robot
    true = free.copy()
    true[:, 5:15, 5:15] = 200  # the robot: a light 10x10 square
    shifted = free.copy()
    shifted[:, 5:15, 7:17] = 200  # drawn 2 px to the right
    assert np.array_equal(difference_mask(true, free), np.broadcast_to(true.max(-1) == 200, (3, 20, 20)))
    assert difference_mask(true[:1], free[0]).shape == (1, 20, 20)  # one background for all frames
    assert robot_iou(true, shifted, free) == pytest.approx([2 / 3, 2 / 3])
    assert robot_iou(true, true, free) == pytest.approx([1.0, 1.0])
    assert not difference_mask(free + 9, free).any()
    figures = summarize_silhouettes([np.array([1.0, 0.5]), np.array([0.8, 0.6, 0.1])])
    assert figures["clips"] == 2 and figures["robot_iou"] == pytest.approx(3.0 / 5)
    assert figures["robot_iou_final"] == pytest.approx(0.3) and figures["robot_iou_by_frame"] == pytest.approx(
        [0.9, 0.55, 0.1])


def square_moving(shifts: list[int]) -> np.ndarray:
    """Masks (len(shifts), 20, 20): a 10x10 square (rows and columns 5..14 at shift 0) moved right."""
    out = np.zeros((len(shifts), 20, 20), bool)
    for t, k in enumerate(shifts):
        out[t, 5:15, 5 + k : 15 + k] = True
    return out


def test_moving_iou_compares_only_what_changed_since_frame_0():
    true = square_moving([0, 4, 4])
    # the true change is columns 5..8 and 15..18 (80 px); moved 2 px instead: columns 5, 6, 15, 16 (40 px)
    half = square_moving([0, 2, 2])
    assert moving_silhouette_iou(true, half, tolerance_px=0) == pytest.approx([0.5, 0.5])
    # within 1 px of the 40 px: columns 5..7 and 15..17 of the true change, 60 of its 80 px
    assert moving_silhouette_iou(true, half, tolerance_px=1) == pytest.approx([0.75, 0.75])
    assert moving_silhouette_iou(true, true) == pytest.approx([1.0, 1.0])
    assert moving_silhouette_iou(true, nothing_moves(true)) == pytest.approx([0.0, 0.0])
    # the plain IoU of nothing moves is high: the square still covers 60 of the 140 px of both
    assert silhouette_iou(true, nothing_moves(true)) == pytest.approx([60 / 140, 60 / 140])
    # each video against its own frame 0: a video that starts 1 px off and moves the same 4 px changes
    # columns 6..9 and 16..19, 60 of 100 px shared, and every one within 1 px of the other change
    off = square_moving([1, 5, 5])
    assert moving_silhouette_iou(true, off, tolerance_px=0) == pytest.approx([0.6, 0.6])
    assert moving_silhouette_iou(true, off, tolerance_px=1) == pytest.approx([1.0, 1.0])


def test_moving_iou_skips_frames_where_the_truth_barely_changes():
    assert MOVING_MIN_PIXELS == 16
    true = square_moving([0, 0, 4])
    true[1, 15, 5 : 5 + MOVING_MIN_PIXELS - 1] = True  # 15 px of change: too few to score
    assert np.isnan(moving_silhouette_iou(true, nothing_moves(true))[0])
    true[1, 16, 5] = True  # 16 px: scored
    assert moving_silhouette_iou(true, nothing_moves(true)) == pytest.approx([0.0, 0.0])
    assert np.isnan(moving_silhouette_iou(square_moving([0, 0]), square_moving([0, 3]))).all()


def test_tolerant_iou_is_the_iou_without_tolerance_and_counts_near_pixels_with_it():
    a, b = np.zeros((8, 8), bool), np.zeros((8, 8), bool)
    a[2, 2], b[3, 3] = True, True  # diagonal neighbours
    assert tolerant_iou(a, b, 0) == mask_iou(a, b) == 0.0
    assert tolerant_iou(a, b, 1) == 1.0
    b[3, 3], b[2, 5] = False, True  # 3 px away
    assert tolerant_iou(a, b, 1) == 0.0 and tolerant_iou(a, b, 3) == 1.0
    assert tolerant_iou(np.zeros((4, 4), bool), np.zeros((4, 4), bool), 1) == 1.0


@pytest.fixture(scope="module")
def episodes():
    return [pusher.generate_episode(i, 0, (64, 64), frames=16) for i in range(4)]


def test_pose_centres_match_the_colour_found_centres_on_real_frames(episodes):
    """Where the effector does not touch a block, the colour mask's centroid is the block's
    pose centre (block_xy) to < 0.5 px."""
    errors = []
    for frames, ann in episodes:
        track, ee = BlockTrack(ann, (64, 64)), np.asarray(ann["ee_px"])
        ppm = ann["sim"]["px_per_meter"]
        for t, k in itertools.product(range(len(frames)), range(len(ann["blocks"]))):
            clear = ann["sim"]["ee_radius_m"] * ppm + ann["blocks"][k]["size_m"] * ppm + 2
            if np.linalg.norm(ee[t] - track.centres_px[t, k]) > clear:
                found = centroid(color_mask(frames[t], ann["blocks"][k]["rgb"]))
                errors.append(np.hypot(*(found - track.centres_px[t, k])))
    assert len(errors) > 100 and max(errors) < 0.5


def test_real_episodes_true_frames_and_nothing_moves(episodes):
    blocks_true, blocks_still, displacements = [], [], []
    for frames, ann in episodes:
        track = BlockTrack(ann, (64, 64))
        blocks_true += track.measure(frames, frames, start=0)
        still = track.measure(frames, nothing_moves(frames), start=0)
        blocks_still += still
        last = track.centres_px[-1] - track.centres_px[0]
        displacements += [(b, np.hypot(*d)) for b, d in zip(still, last, strict=True) if b.moved and b.found[-1]]
    truth = summarize_blocks(blocks_true)
    assert truth["moved_blocks"] >= 2 and truth["moved_error_final_px"] == 0.0
    assert truth["blocks_kept_final"] == 1.0 and truth["moved_kept_final"] == 1.0
    assert displacements
    for block, shift in displacements:  # a block left in place: its error is how far it should have gone
        assert block.error_px[-1] == pytest.approx(shift, abs=0.5)
    assert summarize_blocks(blocks_still)["moved_error_final_px"] > 2.0


def test_moved_means_more_than_the_threshold():
    assert MOVED_PX == 2.0
    places = [[(8, 8)], [(9, 8)], [(10, 8)]]  # exactly 2 px: not moved
    (block,) = BlockTrack(annotation(places), (SIZE, SIZE)).measure(frames_with(places), frames_with(places), 0)
    assert block.displacement_px == pytest.approx(2.0) and not block.moved
    places[-1] = [(11, 8)]
    (block,) = BlockTrack(annotation(places), (SIZE, SIZE)).measure(frames_with(places), frames_with(places), 0)
    assert block.moved


# -- per-clip figures of `freeaction evaluate` ---------------------------------------------------
def test_clip_figures_of_a_block_moved_5_px_recoloured_or_still(clip):
    frames, track = clip
    left_behind = clip_figures(track.measure(frames, nothing_moves(frames), start=0))
    assert left_behind == {"block_error_px": pytest.approx(5.0), "blocks_kept": 1.0}
    assert clip_figures(track.measure(frames, frames, start=0)) == {"block_error_px": 0.0, "blocks_kept": 1.0}
    recoloured = clip_figures(track.measure(frames, frames_with(TRUE_PLACES, ("orange",)), start=0))
    assert recoloured == {"blocks_kept": 0.0}  # lost: no error to average, and not kept
    places = [[(8, 8)]] * 3
    still = BlockTrack(annotation(places), (SIZE, SIZE)).measure(frames_with(places), frames_with(places), 0)
    assert clip_figures(still) == {}  # nothing moved: no figure rather than a fake one


# -- the painted arm (world 2) -------------------------------------------------------------------
BLUE_PAINT, ORANGE_PAINT = (0.2, 0.3, 0.65, 1.0), (0.95, 0.45, 0.1, 1.0)


def arm_frames(shift: int = 0, shade: float = 1.0) -> np.ndarray:
    """3 frames: white table, grey wall, red and green cubes, a blue arm (8x10) with an orange
    gripper (4x4) below it, shifted ``shift`` px right, lit at ``shade``."""
    out = np.full((3, 24, 24, 3), 235, np.uint8)
    out[:, :6] = 128  # the wall
    out[:, 18:21, 2:5] = (214, 39, 40)  # red cube
    out[:, 18:21, 8:11] = (40, 160, 60)  # green cube
    blue = (np.array(BLUE_PAINT[:3]) * 255 * shade).astype(np.uint8)
    orange = (np.array(ORANGE_PAINT[:3]) * 255 * shade).astype(np.uint8)
    out[:, 2:10, 10 + shift : 18 + shift] = blue
    out[:, 10:14, 12 + shift : 16 + shift] = orange
    return out


def test_the_painted_arm_is_found_by_its_hues_under_any_light():
    paint = RobotPaint.from_annotation({"sim": {"robot_rgba": list(BLUE_PAINT), "gripper_rgba": list(ORANGE_PAINT)}})
    want = np.zeros((3, 24, 24), bool)
    want[:, 2:10, 10:18] = want[:, 10:14, 12:16] = True
    for shade in (1.0, 0.6, 0.35):  # shading scales a colour and keeps its hue
        assert np.array_equal(paint.mask(arm_frames(shade=shade)), want)
    assert paint.iou(arm_frames(), arm_frames()) == pytest.approx([1.0, 1.0])
    # shifted 2 px right: overlap 6x8 + 2x4 = 56 of the arm's 64 + 16 = 80 px; union 80 + 24 = 104
    assert paint.iou(arm_frames(), arm_frames(shift=2)) == pytest.approx([(48 + 8) / (80 + 24)] * 2)
    gone = arm_frames()
    gone[:, 2:14, 10:18] = 235  # the arm dissolved into the table
    assert paint.iou(arm_frames(), gone) == pytest.approx([0.0, 0.0])
    assert RobotPaint.from_annotation({"sim": {}}) is None  # robosuite's own white Panda: no paint


def test_world_3s_magenta_fingers_belong_to_the_robot():
    frames = arm_frames()
    frames[:, 14:16, 12:13] = frames[:, 14:16, 15:16] = (217, 38, 217)  # two fingers below the hand
    annotation = {"sim": {"robot_rgba": list(BLUE_PAINT), "gripper_rgba": list(ORANGE_PAINT)}}
    two_paints = RobotPaint.from_annotation(annotation)
    annotation["sim"]["finger_rgba"] = [0.85, 0.15, 0.85, 1.0]
    three_paints = RobotPaint.from_annotation(annotation)
    assert not two_paints.mask(frames)[:, 14:16].any()
    assert three_paints.mask(frames)[:, 14:16].sum() == 3 * 4


def test_world_5s_lit_hand_belongs_to_the_robot():
    frames = arm_frames()
    frames[1:, 10:14, 12:16] = (217, 38, 217)  # the hand lit magenta while the gripper is closed
    annotation = {"sim": {"robot_rgba": list(BLUE_PAINT), "gripper_rgba": list(ORANGE_PAINT)}}
    unlit = RobotPaint.from_annotation(annotation)
    annotation["sim"]["gripper_closed_rgba"] = [0.85, 0.15, 0.85, 1.0]
    lit = RobotPaint.from_annotation(annotation)
    assert lit.iou(arm_frames(), frames) == pytest.approx([1.0, 1.0])
    assert unlit.iou(arm_frames(), frames) == pytest.approx([64 / 80, 64 / 80])  # the hand's 16 px lost


def test_object_metrics_of_a_clip_take_what_its_annotation_allows(clip):
    import torch

    from freeaction.eval.clips import ClipRef, TestClip
    from freeaction.eval.measure import object_metrics

    frames, track = clip
    ref = ClipRef("short", 0, "ep@0")
    pusher_clip = TestClip(ref, torch.zeros(4, 2), torch.zeros(5, 4, 4, 4), frames, 0, blocks=track)
    assert object_metrics(nothing_moves(frames), pusher_clip) == {"block_error_px": pytest.approx(5.0),
                                                                  "blocks_kept": 1.0}
    bare = TestClip(ref, torch.zeros(4, 2), torch.zeros(5, 4, 4, 4), frames, 0)  # e.g. real data
    assert object_metrics(frames, bare) == {} and object_metrics(None, pusher_clip) == {}
    paint = RobotPaint([list(BLUE_PAINT), list(ORANGE_PAINT)])
    arm_clip = TestClip(ref, torch.zeros(2, 7), torch.zeros(3, 4, 3, 3), arm_frames(), 0, paint=paint,
                        gripper_closed=np.array([False, True, True]))
    figures = object_metrics(arm_frames(shift=2), arm_clip)  # no gripper reader: no gripper figure
    # the true arm stands still: no frame to score the moving IoU on, so no such figure
    assert figures == {"robot_iou": pytest.approx(56 / 104), "robot_iou_final": pytest.approx(56 / 104)}
    moving = np.concatenate([arm_frames()[:1], arm_frames(shift=4)[1:]])  # the arm moves 4 px right at frame 1
    arm_clip = TestClip(ref, torch.zeros(2, 7), torch.zeros(3, 4, 3, 3), moving, 0, paint=paint)
    figures = object_metrics(moving, arm_clip)
    assert figures["robot_iou_moving"] == figures["robot_iou_moving_final"] == 1.0
    still = object_metrics(nothing_moves(moving), arm_clip)
    assert still["robot_iou_moving"] == still["robot_iou_moving_final"] == 0.0
    assert still["robot_iou"] == pytest.approx(32 / 128)  # the plain IoU still counts the blue that overlaps
    # moved 2 px of the 4: the true change is 64 blue + 32 orange px, the generated 32 + 16 of them; within
    # 1 px of those lie 48 + 1 blue px (rows 2..9) and 28 + 1 orange ones (rows 10..13)
    half = np.concatenate([arm_frames()[:1], arm_frames(shift=2)[1:]])
    assert object_metrics(half, arm_clip)["robot_iou_moving"] == pytest.approx(78 / 96)


def test_quality_prints_the_moving_iou_beside_its_references():
    assert {"robot_iou_moving", "robot_iou_moving_final"} <= set(ObjectFigures.ARM)
    arm = {"true_actions": {"robot_iou": 0.9, "robot_iou_moving": 0.7, "robot_iou_moving_final": 0.6},
           "shuffled_actions": {"robot_iou": 0.8, "robot_iou_moving": 0.3},
           "nothing_moves": {"robot_iou": 0.85, "robot_iou_moving": 0.0, "robot_iou_moving_final": 0.0}}
    lines = arm_text(arm, None)
    assert "moving 0.700 (last 0.600)" in lines[1]
    assert "moving 0.300 (last -)" in lines[2] and "moving 0.000 (last 0.000)" in lines[3]
    assert not any("not painted" in line for line in lines)
    unpainted = {k: {"gripper_agreement": 0.6} for k in arm}  # world 1: only the gripper is read
    lines = arm_text(unpainted, None)
    assert "IoU - (last -)" in lines[1] and lines[-1].startswith("    robot IoU not measured: the clips' arm is not")


def test_object_figures_keep_each_seed_apart_and_return_the_clip_figures():
    import torch

    from freeaction.eval.clips import ClipRef, TestClip

    paint = RobotPaint([list(BLUE_PAINT), list(ORANGE_PAINT)])
    moving = np.concatenate([arm_frames()[:1], arm_frames(shift=4)[1:]])  # the arm moves 4 px right at frame 1
    half = np.concatenate([arm_frames()[:1], arm_frames(shift=2)[1:]])  # moving IoU 78/96 (test above)
    clip = TestClip(ClipRef("short", 0, "ep@0"), torch.zeros(2, 7), torch.zeros(3, 4, 3, 3), moving, 0, paint=paint)
    figures = ObjectFigures(None)
    assert figures.add(clip, 0, moving, nothing_moves(moving), still=True)["robot_iou_moving"] == 1.0
    assert figures.add(clip, 1, half, moving, still=False)["robot_iou_moving"] == pytest.approx(78 / 96)
    arm = figures.figures()["arm"]
    assert [s["seed"] for s in arm["by_seed"]] == [0, 1]
    seed0, seed1 = arm["by_seed"]
    assert seed0["true_actions"]["robot_iou_moving"] == 1.0 and seed0["shuffled_actions"]["robot_iou_moving"] == 0.0
    assert seed1["true_actions"]["robot_iou_moving"] == pytest.approx(78 / 96)
    assert seed1["shuffled_actions"]["robot_iou_moving"] == 1.0
    assert arm["true_actions"]["robot_iou_moving"] == pytest.approx((1 + 78 / 96) / 2)
    assert arm["nothing_moves"]["robot_iou_moving"] == 0.0  # measured once, not per seed
