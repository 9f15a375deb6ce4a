"""The arm's tasks and pixel detectors on hand-made frames, and importing freeaction.envs without
robosuite. Pure numpy: no simulator needed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from freeaction.envs.arm_tasks import CameraView, cube_mask, locate_cube, locate_gripper
from freeaction.eval.policy_eval import PolicyEvalConfig

TABLE = (240, 240, 235)
RED = (183, 60, 71)  # the red cube as rendered
ORANGE = (192, 91, 21)  # world 2's gripper
BLUE = (51, 76, 166)  # world 2's robot


def frame_with(patches: dict[tuple[int, int, int, int], tuple[int, int, int]]) -> np.ndarray:
    f = np.empty((64, 64, 3), np.uint8)
    f[:] = TABLE
    for (r0, r1, c0, c1), colour in patches.items():
        f[r0:r1, c0:c1] = colour
    return f


def test_camera_projects_and_back_projects():
    cam = CameraView.look_at(np.array([0.8, -0.4, 1.5]), np.array([-0.1, 0.0, 0.9]), 42.0, (64, 64))
    assert np.allclose(cam.project(np.array([-0.1, 0.0, 0.9])), [31.5, 31.5])  # the target: the image centre
    point = np.array([0.05, -0.08, 0.83])
    assert np.allclose(cam.unproject_to_height(cam.project(point), 0.83), point)
    up = cam.project(point + [0, 0, 0.05])
    assert up[1] < cam.project(point)[1]  # higher in the world is higher in the image


def test_cube_colour_is_not_the_grippers():
    f = frame_with({(10, 14, 10, 14): RED, (30, 36, 30, 40): ORANGE, (40, 50, 0, 20): BLUE})
    assert cube_mask(f).sum() == 16
    assert np.allclose(locate_cube(f), [11.5, 11.5])
    assert locate_cube(frame_with({(30, 36, 30, 40): ORANGE})) is None


def test_gripper_is_the_silhouettes_lowest_point():
    background = frame_with({(10, 14, 10, 14): RED})
    # an arm coming down from the top, its tip at rows 30-32, and a cube-coloured patch lower still
    f = frame_with({(0, 30, 40, 44): BLUE, (30, 33, 38, 46): ORANGE, (10, 14, 10, 14): RED, (50, 54, 5, 9): RED})
    assert np.allclose(locate_gripper(f, background), [41.5, 31.0])
    speck = background.copy()
    speck[60, 60] = BLUE  # a lone differing pixel is noise
    assert locate_gripper(speck, background) is None


def test_envs_import_without_robosuite_and_arm_env_names_the_extra():
    code = (
        "import sys; sys.modules['robosuite'] = None\n"
        "import freeaction.envs as e\n"
        "from freeaction.sim import MissingDependencyError\n"
        "try:\n    e.ArmEnv()\nexcept MissingDependencyError as exc:\n    print('ERR', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "ERR" in out.stdout and "freeaction[arm]" in out.stdout


@pytest.mark.parametrize("world", ["arm", "arm-2", "arm-3", 1, 2])
def test_policy_eval_reads_arm_worlds(world):
    simulator, number = PolicyEvalConfig(world=world).scene_world()
    assert simulator == ("arm" if isinstance(world, str) else "pusher")
    assert number == {"arm-2": 2, 2: 2, "arm-3": 3}.get(world, 1)
