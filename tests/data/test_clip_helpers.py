"""The clip naming and index-picking helpers every reader, runner and report share."""

from __future__ import annotations

import numpy as np

from freeaction.data.clip import Clip, clip_key, evenly_spaced


def test_clip_key():
    assert clip_key("000012", 7) == "000012@7"
    assert Clip("ep", 3, np.zeros((2, 2))).key == "ep@3"


def test_evenly_spaced_ends_included_and_all_when_few():
    assert evenly_spaced(10, 4).tolist() == [0, 3, 6, 9]
    assert evenly_spaced(5, 9).tolist() == [0, 1, 2, 3, 4]
    assert evenly_spaced(7, 1).tolist() == [0] and evenly_spaced(0, 3).tolist() == []
    assert evenly_spaced(4, 0).tolist() == []
