"""The ``trajectory`` condition: Frame-Ada plus each frame's cumulative displacement."""

from __future__ import annotations

import pytest
import torch

from freeaction import VideoDiT, load_model, preset, save_model


def _model(condition: str, embedder: str = "mlp") -> VideoDiT:
    torch.manual_seed(0)
    model = VideoDiT(preset("tiny", action_dim=2, condition=condition, action_embedder=embedder,
                            latent_size=(8, 8), num_frames=6))
    for p in model.parameters():
        if p.requires_grad:
            p.data.normal_(0, 0.05)
    return model.eval()


@pytest.mark.parametrize("embedder", ["mlp", "linear"])
def test_frame_condition_sees_the_displacement_so_far(embedder: str) -> None:
    model = _model("trajectory", embedder)
    t = torch.tensor([500])
    a = torch.randn(1, 5, 2)
    b = a.clone()
    b[0, 0] += 1.0  # change the first action only
    with torch.no_grad():
        ca, *_, tok_a = model.conditions(t, a, None)
        cb, *_, tok_b = model.conditions(t, b, None)
    # frame 0 (the context) never depends on the actions; frames 1.. all see a_1 through the sum
    torch.testing.assert_close(ca[:, 0], cb[:, 0])
    torch.testing.assert_close(tok_a[:, 0], tok_b[:, 0])
    for k in range(1, 6):
        assert (ca[:, k] - cb[:, k]).abs().max() > 1e-4, f"frame {k} ignores a_1"
        assert (tok_a[:, k] - tok_b[:, k]).abs().max() > 1e-4
    # the plain Frame-Ada condition of frame 3 does not depend on a_1: the difference is the variant's
    frame = _model("frame", embedder)
    with torch.no_grad():
        fa = frame.conditions(t, a, None)[0]
        fb = frame.conditions(t, b, None)[0]
    torch.testing.assert_close(fa[:, 3], fb[:, 3])


def test_null_condition_drops_the_actions_and_batches_per_sample() -> None:
    model = _model("trajectory")
    x, t = torch.randn(2, 6, 4, 8, 8), torch.tensor([700, 700])
    a = torch.randn(2, 5, 2)
    with torch.no_grad():
        null_a = model(x, t, a, null_condition=True)
        null_b = model(x, t, -3 * a, null_condition=True)
        mixed = model(x, t, a, null_condition=torch.tensor([True, False]))
        cond = model(x, t, a)
    torch.testing.assert_close(null_a, null_b)
    torch.testing.assert_close(mixed[0], null_a[0])
    torch.testing.assert_close(mixed[1], cond[1], rtol=1e-4, atol=1e-5)
    assert (cond - null_a).abs().max() > 1e-3


def test_fresh_model_starts_from_zero_token_shift_and_roundtrips(tmp_path) -> None:
    fresh = VideoDiT(preset("tiny", action_dim=2, condition="trajectory", latent_size=(8, 8), num_frames=6))
    assert fresh.action_to_tokens.weight.abs().sum() == 0  # adaLN-Zero style start
    model = _model("trajectory")
    loaded = load_model(save_model(model, tmp_path / "traj"))
    assert loaded.config.condition == "trajectory"
    x, t, a = torch.randn(1, 6, 4, 8, 8), torch.tensor([10]), torch.randn(1, 5, 2)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t, a), model(x, t, a))
    # fewer frames than the model's window (the last rollout chunk) work too
    with torch.no_grad():
        assert model(x[:, :3], t, a[:, :2]).shape == (1, 3, 4, 8, 8)
