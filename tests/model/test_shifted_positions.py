"""``shifted_positions``: frame k's tokens carry the grid position they moved from."""

from __future__ import annotations

import pytest
import torch

from freeaction import load_model, preset, save_model
from freeaction.model.dit import sincos_2d, sincos_2d_table
from tiny_dit import random_trajectory_dit


def test_real_valued_table_matches_the_fixed_one_on_the_grid() -> None:
    rows, cols = torch.meshgrid(torch.arange(4.0), torch.arange(5.0), indexing="ij")
    table = sincos_2d(rows.reshape(-1), cols.reshape(-1), 64)
    torch.testing.assert_close(table, sincos_2d_table(64, (4, 5)), rtol=0, atol=1e-5)


def test_cumulative_displacement_shifts_each_frames_positions() -> None:
    model = random_trajectory_dit(0, shifted_positions=True)
    with torch.no_grad():
        model.displacement_to_grid.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))  # (x, y) -> (row, col)
        model.shifted_pos_to_tokens.weight.copy_(torch.eye(64))
        model.shifted_pos_to_tokens.bias.zero_()
    a = torch.zeros(1, 5, 2)
    a[0, 0] = torch.tensor([1.0, 0.0])  # one column right at step 1 ...
    a[0, 2] = torch.tensor([0.0, 2.0])  # ... then two rows down at step 3
    with torch.no_grad():
        shifted = model.shifted_positions(a)[0]  # (F, N, D)
    table = sincos_2d_table(64, (4, 4)).reshape(4, 4, 64)
    torch.testing.assert_close(shifted[0].reshape(4, 4, 64), table, rtol=0, atol=1e-5)  # context frame: no shift
    # frame 1: token (i, j) carries position (i, j - 1); frame 3 on: (i - 2, j - 1)
    torch.testing.assert_close(shifted[1].reshape(4, 4, 64)[:, 1:], table[:, :-1], rtol=0, atol=1e-5)
    torch.testing.assert_close(shifted[3].reshape(4, 4, 64)[2:, 1:], table[:-2, :-1], rtol=0, atol=1e-5)
    torch.testing.assert_close(shifted[5], shifted[3])


def test_growing_a_trained_model_keeps_its_function_and_roundtrips(tmp_path) -> None:
    base = random_trajectory_dit(0, shifted_positions=False)
    grown = base.grown(shifted_positions=True).eval()
    assert grown.config.shifted_positions and grown.shifted_pos_to_tokens.weight.abs().sum() == 0
    x, t, a = torch.randn(2, 6, 4, 8, 8), torch.tensor([10, 900]), torch.randn(2, 5, 2)
    null = torch.tensor([True, False])
    with torch.no_grad():
        torch.testing.assert_close(grown(x, t, a), base(x, t, a))
        torch.testing.assert_close(grown(x, t, a, null_condition=null), base(x, t, a, null_condition=null))
    # once trained, the displacement matters, the null condition ignores it, and it survives save/load
    trained = random_trajectory_dit(1, shifted_positions=True)
    loaded = load_model(save_model(trained, tmp_path / "shifted"))
    assert loaded.config.shifted_positions
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t, a), trained(x, t, a))
        assert (trained(x, t, a) - trained(x, t, -a)).abs().max() > 1e-3
        torch.testing.assert_close(trained(x, t, a, null_condition=True), trained(x, t, -a, null_condition=True))
    with pytest.raises(ValueError, match="cannot grow"):
        base.grown(depth=6)


def test_needs_the_trajectory_condition() -> None:
    with pytest.raises(ValueError, match="shifted_positions needs condition 'trajectory'"):
        preset("tiny", action_dim=2, condition="frame", shifted_positions=True)
