"""Scripted arm policies on a hand-made scene (no simulator): they find the cube in the image and
head for it in the datasets' action units."""

from __future__ import annotations

import numpy as np

from freeaction.data.poses import states_from_actions
from freeaction.envs.arm import ACTION_HIGH, ACTION_LOW
from freeaction.envs.arm_tasks import ArmTask, CameraView
from freeaction.policies import load_factory
from freeaction.policies.arm import ArmController

TABLE_Z, HALF = 0.8, 0.027
CUBE = np.array([0.05, -0.08, TABLE_Z + HALF])
BASE = np.array([-0.56, 0.0, 0.912])
START = np.array([-0.15, 0.05, 1.0])  # grip site, world frame


def scene(kind: str) -> tuple[ArmTask, np.ndarray]:
    camera = CameraView.look_at(np.array([0.9, -0.45, 1.5]), np.array([-0.1, 0.0, 0.9]), 42.0, (64, 64))
    frame = np.full((64, 64, 3), 240, np.uint8)
    col, row = np.round(camera.project(CUBE)).astype(int)
    frame[row - 2 : row + 3, col - 2 : col + 3] = (183, 60, 71)
    down = (np.pi, 0.0, np.pi / 2)  # pointing down, yaw 0 (R_DOWN)
    task = ArmTask(kind=kind, target="red cube", camera=camera, start_pose=(*(START - BASE), *down), start_gripper=0.0,
                   base_position=tuple(BASE), cube_rest_m=tuple(CUBE), cube_half_m=HALF, table_z=TABLE_Z,
                   background=frame)
    return task, frame


def test_expert_reads_the_cube_and_heads_above_it():
    task, frame = scene("lift")
    policy = load_factory("arm-expert")(7)
    assert isinstance(policy, ArmController)
    policy.reset(task, 0)
    actions = policy.act(frame)
    assert actions.shape == (7, 7) and np.all(actions >= ACTION_LOW) and np.all(actions <= ACTION_HIGH)
    assert np.linalg.norm(policy.cube - CUBE) < 0.01  # back-projected from the pixels
    states, grip = states_from_actions(actions, np.array([*(START - BASE), *task.start_pose[3:]]))
    moved = states[-1, :3] - states[0, :3]  # the base is world-aligned
    above = CUBE + [0, 0, 0.1] - START
    assert np.dot(moved, above) / (np.linalg.norm(moved) * np.linalg.norm(above)) > 0.95
    assert np.allclose(grip[1:], 0.0)  # open on the way


def test_random_policy_stays_in_the_action_space():
    task, frame = scene("reach")
    policy = load_factory("arm-random")(5)
    policy.reset(task, 3)
    actions = policy.act(frame)
    assert actions.shape == (5, 7) and np.all(actions >= ACTION_LOW) and np.all(actions <= ACTION_HIGH)
