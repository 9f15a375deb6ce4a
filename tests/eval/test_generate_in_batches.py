"""generate_in_batches: clips in batches, and a progress bar that moves per sampling step."""

from __future__ import annotations

import torch

from freeaction.eval.runner import generate_in_batches
from tiny_world_model import make_tiny_world_model


def test_progress_moves_per_sampling_step_and_batches_do_not_change_the_clips(tmp_path, capsys):
    wm = make_tiny_world_model(tmp_path / "vae", action_dim=2)
    g = torch.Generator().manual_seed(0)
    contexts = torch.randn(3, 4, 8, 8, generator=g)
    actions = torch.randn(3, 3, 2, generator=g) * 0.1
    one_batch = generate_in_batches(wm, contexts, actions, [5, 6, 7], batch_size=3, sampler="ddim", steps=4)
    capsys.readouterr()
    two_batches = generate_in_batches(wm, contexts, actions, [5, 6, 7], batch_size=2, sampler="ddim", steps=4,
                                      progress=True, desc="true actions")
    err = capsys.readouterr().err
    # 2 batches x 1 chunk x 4 steps; the bar names the batch it is in
    assert "8step" in err.replace(" ", "") and "batch 2/2, 3/3 clips" in err
    assert len(two_batches) == 3 and two_batches[0].shape == (4, 4, 8, 8)
    for a, b in zip(one_batch, two_batches, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
