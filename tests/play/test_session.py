"""The play session without a browser: controls, upload checks, the queue, coalescing, method
switching, the bounded recording, and `freeaction generate` reproducing a saved panel exactly."""

from __future__ import annotations

import base64
import io
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from freeaction.cli import main
from freeaction.errors import InputError
from freeaction.play.controls import PlaySettings, key_vector, model_action, raw_action, sim_command
from freeaction.play.method_options import generate_flags
from freeaction.play.scene import open_scene
from freeaction.play.session import PlaySession
from freeaction.play.upload import read_upload

FAST = PlaySettings(sampler="ddim", steps=1)


def session(wm, **kwargs) -> PlaySession:
    scene = open_scene("pusher", 5, wm.frame_size)
    return PlaySession(wm, scene.first_frame(), kwargs.pop("settings", FAST), scene=scene, **kwargs)


# -- controls ----------------------------------------------------------------------------------
def test_keys_become_raw_model_and_simulator_actions() -> None:
    keys = key_vector([1, -1], 2)
    raw = raw_action(keys, 0.5, 2)
    # a diagonal is as long as a straight move: 0.5 * 6 cm in total, split over x and y
    assert np.allclose(raw, [0.03 / np.sqrt(2), -0.03 / np.sqrt(2)])
    assert np.allclose(model_action(raw), raw * 20)
    assert np.allclose(sim_command(raw), raw * 1000)  # millimetres
    arm = raw_action(key_vector([0, 0, 1, 1], 7), 1.0, 7)
    assert arm.shape == (7,) and arm[6] == 1.0 and np.isclose(np.linalg.norm(arm[:3]), 0.04)
    assert np.allclose(arm[:3], [0, 0, -0.04])  # up in the base frame is -z of a downward gripper
    assert np.allclose(sim_command(arm)[:3], [0, 0, 0.5]) and sim_command(arm)[6] == 1.0
    assert model_action(arm)[6] == 1.0  # the gripper state is not scaled
    with pytest.raises(InputError, match="list of 2"):
        key_vector([1, 0, 0], 2)
    with pytest.raises(InputError, match="numbers"):
        key_vector(["left", 0], 2)


def test_a_world_filmed_faster_moves_as_fast_per_second(tiny_world) -> None:
    """Pusher world 3 (20 frames/s): a held key moves half as far per frame as in worlds 1 and 2."""
    from freeaction.play.scene import frames_per_step

    assert frames_per_step("pusher", 3) == 2 and frames_per_step("pusher", 2) == 1
    assert frames_per_step("arm", 1) == 1 and frames_per_step(None) == 1
    plans = {}
    for k in (1, 2):
        s = session(tiny_world, frames_per_step=k)
        s.set_keys(key_vector([1, 0], 2))
        plans[k] = s.plan().raw
        s.close()
    assert np.allclose(plans[1][:, 0], 0.03) and np.allclose(plans[2], plans[1] / 2)


def test_settings_are_validated_and_build_the_methods() -> None:
    s = PlaySettings().updated({"lam": 2.5, "cutoff": 0.25, "tau_min": 0.3, "method_b": "freeaction"})
    assert generate_flags(s.method("freeaction")) == [
        "--guidance", "freeaction", "--lambda", "2.5", "--cutoff", "0.25",
        "--truncation", "action_scaled", "--tau-min", "0.3", "--tau-max", "1.5"]
    assert generate_flags(s.method("unguided")) == ["--guidance", "none", "--truncation", "none"]
    for bad in ({"lam": "x"}, {"steps": 0}, {"tau_min": 2.0, "tau_max": 1.0}, {"sampler": "euler"},
                {"method_a": "off"}, {"nope": 1}, {"cutoff": float("nan")}):
        with pytest.raises(InputError):
            PlaySettings().updated(bad)


def png_url(image: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buf.getvalue()).decode()


def test_uploads_are_checked_and_resized_with_a_notice() -> None:
    image, notice = read_upload(png_url(Image.new("RGB", (100, 80), (10, 20, 30))), (64, 64))
    assert image.shape == (64, 64, 3) and "resized from 100x80" in notice
    image, notice = read_upload(png_url(Image.new("RGB", (64, 64)), "JPEG"), (64, 64))
    assert notice is None
    with pytest.raises(InputError, match="not an image"):
        read_upload("data:text/plain;base64," + base64.b64encode(b"hello").decode(), (64, 64))
    with pytest.raises(InputError, match="base64"):
        read_upload("data:image/png;base64,***", (64, 64))
    with pytest.raises(InputError, match="larger than"):
        read_upload("data:image/png;base64," + "A" * (8 * 1024 * 1024), (64, 64))
    with pytest.raises(InputError, match="at most 4096"):
        read_upload(png_url(Image.new("L", (5000, 10))), (64, 64))


# -- the queue ---------------------------------------------------------------------------------
def test_the_queue_is_bounded_and_chunks_continue_each_other(tiny_world) -> None:
    s = session(tiny_world, max_ahead=2)
    s.set_keys(np.array([1.0, 0.0]))
    assert s.generate_next() and s.generate_next()
    assert s.plan() is None  # full: nothing more is generated until the display takes one
    first, second = s.queue
    assert first.plan.index == 0 and second.plan.index == 1
    for pid in first.panels:  # the second chunk starts where the first ended
        assert second.plan.starts[pid] is first.panels[pid].after
    shown = s.take()
    assert shown.chunk is first and shown.sim_frames.shape == (s.chunk, 64, 64, 3)
    assert s.committed["A"] is first.panels["A"].after
    assert s.plan() is not None


def test_key_messages_are_coalesced_and_make_queued_chunks_stale(tiny_world) -> None:
    s = session(tiny_world, max_ahead=1)
    assert s.set_keys(np.array([1.0, 0.0]), seq=1)
    assert not s.set_keys(np.array([1.0, 0.0]), seq=2)  # the same keys again: nothing to do
    assert s.key_seq == 2
    assert s.generate_next()
    assert s.set_keys(np.array([0.0, 1.0]), seq=3)
    assert not s.queue and s.dropped == 1
    plan = s.plan()
    assert np.array_equal(plan.keys, [0.0, 1.0]) and plan.key_seq == 3
    assert np.allclose(plan.raw[:, 1], 0.03) and plan.starts["A"] is s.committed["A"]


def test_new_keys_stop_the_chunk_in_flight_at_most_once_per_arrival(tiny_world) -> None:
    s = session(tiny_world)
    plan = s.plan()
    s.set_keys(np.array([-1.0, 0.0]))
    assert plan.cancel.is_set()
    assert s.run_plan(plan) is None and not s.offer(None, plan)
    plan = s.plan()
    s.set_keys(np.array([0.0, -1.0]))  # faster than a chunk: this one is kept, so the display gets frames
    assert not plan.cancel.is_set()
    assert s.offer(s.run_plan(plan), plan) and len(s.queue) == 1
    s.take()
    plan = s.plan()
    s.set_keys(np.array([1.0, 1.0]))  # a chunk arrived since: stopping is allowed again
    assert plan.cancel.is_set()


def test_a_chunk_made_for_a_stale_state_is_dropped(tiny_world) -> None:
    s = session(tiny_world, max_ahead=2)
    assert s.generate_next()
    plan = s.plan()  # continues the queued chunk
    s.set_keys(np.array([0.0, 1.0]))  # drops the queued chunk, so the one in flight is stale too
    chunk = s.run_plan(plan)
    assert chunk is None or not s.offer(chunk, plan)
    assert not s.queue


def test_switching_methods_restarts_from_the_first_frame(tiny_world) -> None:
    s = session(tiny_world)
    s.generate_next()
    s.take()
    assert s.recording.length == s.chunk
    assert not s.update_settings({"speed": 0.9, "fps": 4})  # not a generation setting: no restart
    assert s.recording.length == s.chunk
    assert s.update_settings({"method_b": "freeaction_cfg", "lam": 3.0})
    assert s.streams["B"].method.name == "freeaction_cfg"
    assert generate_flags(s.streams["B"].method)[:4] == ["--guidance", "freeaction", "--lambda", "3.0"]
    assert s.recording.length == 0 and not s.queue and s.frames_shown == 0
    assert s.update_settings({"method_b": "off"})
    assert list(s.streams) == ["A"] and set(s.first_frames()) == {"A", "sim"}
    with pytest.raises(InputError):
        s.update_settings({"method_a": "nonsense"})
    assert s.settings.method_a == "unguided"


def test_pause_stops_generation(tiny_world) -> None:
    s = session(tiny_world)
    s.set_paused(True)
    assert s.plan() is None and not s.generate_next()
    s.set_paused(False)
    assert s.generate_next()


def test_the_recording_is_bounded(tiny_world) -> None:
    s = session(tiny_world, max_frames=2 * 15)
    for _ in range(4):
        assert s.generate_next()
        assert s.take() is not None
    assert s.recording.length == 2 * s.chunk  # the play went on, the recording stopped at its cap
    assert s.frames_shown == 4 * s.chunk
    assert all(len(chunks) == 2 for chunks in s.recording.frames.values())


def test_generate_reproduces_a_saved_panel_exactly(tiny_world, tiny_checkpoint, tmp_path, monkeypatch) -> None:
    s = session(tiny_world, settings=PlaySettings(sampler="dpm++", steps=2, seed=7, lam=2.0))
    s.model_name = str(tiny_checkpoint)
    for keys in ([1.0, 0.0], [0.0, 1.0]):
        s.set_keys(np.array(keys))
        assert s.generate_next()
        s.take()
    info = s.save(tmp_path / "saved")
    folder = tmp_path / "saved"
    assert json.loads((folder / "settings.json").read_text())["frames"] == 2 * s.chunk + 1
    assert np.load(folder / "actions.npy").shape == (2 * s.chunk, 2)
    assert (folder / "simulator.mp4").is_file() and np.load(folder / "simulator.npy").shape[0] == 2 * s.chunk + 1
    monkeypatch.chdir(folder)
    for pid in ("A", "B"):
        command = shlex.split(info["reproduce"][pid])
        assert command[:2] == ["freeaction", "generate"]
        assert main([*command[1:], "--frames-dir", f"frames-{pid}"]) == 0
        generated = np.stack([np.asarray(Image.open(p)) for p in sorted(Path(f"frames-{pid}").glob("*.png"))])
        saved = np.load(info["panels"][pid]["video"].replace(".mp4", ".npy"))
        assert generated.shape == saved.shape
        assert np.array_equal(generated, saved)
    # the two panels differ (FreeAction guides), so the check above compared something
    assert not np.array_equal(np.load(info["panels"]["A"]["video"].replace(".mp4", ".npy")),
                              np.load(info["panels"]["B"]["video"].replace(".mp4", ".npy")))
