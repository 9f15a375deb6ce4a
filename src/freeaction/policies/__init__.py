"""Built-in pusher policies, and loading any policy named ``module:factory``.

A policy is an object with ``reset(task, seed)`` (once per episode, with the
:class:`~freeaction.envs.tasks.PusherTask`) and ``act(observation) -> (chunk, 2)`` displacements in
metres, where ``observation`` is the RGB uint8 frame the environment returned. A factory is a
callable ``factory(chunk: int, **kwargs) -> policy``; ``policy-eval`` configs name built-ins by
name (``expert``) and user policies as ``my_package.my_module:make_policy``.

Built-ins (:data:`BUILTIN`): scripted controllers from pixels of decreasing skill,

=================  =====================================================================
``expert``         careful approach, moderate push speed, replans every chunk
``fast``           pushes at twice the speed (overshoots more)
``noisy``          expert with 6 mm action noise
``delayed``        acts on the frame of one chunk ago
``aim-off``        pushes 20 degrees off the line to the goal
``sloppy``         loose alignment, very noisy actions (14 mm)
``distracted``     pushes a wrong block in half of the episodes
``timid``          slow, stops well short of the goal
``random``         uniform random displacements
=================  =====================================================================

and small behaviour-cloned CNNs (:mod:`freeaction.policies.bc`) trained on 10, 50 and 400 ``expert``
demonstrations: ``bc-10``, ``bc-50``, ``bc-400``. A BC policy a user trained (``freeaction
train-policy``) loads by its folder's path in place of a name.

Arm policies (:data:`~freeaction.policies.arm.ARM_BUILTIN`: ``arm-expert``, ``arm-fast``,
``arm-noisy``, ``arm-high``, ``arm-random``) act on :class:`~freeaction.envs.arm.ArmEnv` and arm
world models (:mod:`freeaction.policies.arm`); :func:`load_factory` knows their names too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from freeaction.envs.tasks import PusherTask
from freeaction.policies.arm import ARM_BUILTIN
from freeaction.policies.bc import BUILTIN_BC, BUILTIN_DIR, bc_factory, is_bc_folder
from freeaction.policies.scripted import PusherController, PusherControllerParams, preset


class Policy(Protocol):
    def reset(self, task: PusherTask, seed: int = 0) -> None: ...

    def act(self, observation: np.ndarray) -> np.ndarray: ...


PRESETS: dict[str, PusherControllerParams] = {
    "expert": preset(),
    "fast": preset(approach_speed=55.0, push_speed=50.0),
    "noisy": preset(noise=6.0),
    "delayed": preset(delay=1),
    "aim-off": preset(aim_error_deg=20.0),
    "sloppy": preset(align_tolerance=25.0, noise=14.0),
    "distracted": preset(wrong_block=0.5),
    "timid": preset(approach_speed=25.0, push_speed=10.0, stop_short=25.0),
    "random": preset(random=True),
}


def _builtin(name: str) -> Callable[..., Policy]:
    def factory(chunk: int = 7, **kwargs: Any) -> Policy:
        return PusherController(preset(**{**PRESETS[name].__dict__, **kwargs}), chunk)

    factory.__name__ = f"make_{name.replace('-', '_')}"
    factory.__doc__ = f"The built-in ``{name}`` pusher policy."
    return factory


BUILTIN: dict[str, Callable[..., Policy]] = {
    **{name: _builtin(name) for name in PRESETS},
    **{name: bc_factory(BUILTIN_DIR / name, name) for name in BUILTIN_BC},
}


def load_factory(spec: str) -> Callable[..., Policy]:
    """A built-in's name (pusher or arm), a BC policy folder (``freeaction train-policy``), or
    ``module:attribute`` naming a policy factory."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    if spec in ARM_BUILTIN:
        return ARM_BUILTIN[spec]
    if is_bc_folder(spec):
        return bc_factory(spec)
    if ":" not in spec:
        raise ValueError(f"unknown policy {spec!r}: name a built-in ({sorted(BUILTIN)}, arm: {sorted(ARM_BUILTIN)}), "
                         "a BC policy folder "
                         "or 'module:factory'")
    module, _, attr = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"policy {spec!r}: cannot import it ({exc})") from exc
    if not callable(obj):
        raise ValueError(f"policy {spec!r} is not callable")
    return obj


__all__ = ["BUILTIN", "PRESETS", "Policy", "PusherController", "PusherControllerParams", "load_factory"]
