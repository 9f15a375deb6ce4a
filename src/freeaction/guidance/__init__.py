"""What combines the model's predictions at each sampling step (SPEC 3.1 and 3.3).

Every guidance here has the same form, per sample::

    eps_hat = eps(x_t, a) + w(a, t) * (eps(x_t, a) - eps(x_t, negative))

``negative`` is the negated trajectory ``-a`` (FreeAction) or the learned null condition
(plain CFG). ``w`` is ``scale * m(a)`` when action-scaled (FreeAction: ``lambda * m(a)``), or
the constant ``scale``, and it is zero outside a timestep window. (In diffusers' convention,
``guidance_scale = 1 + w``.)
"""

from freeaction.guidance.guidance import (
    Guidance,
    freeaction_guidance,
    negated_cfg,
    no_guidance,
    null_cfg,
)

__all__ = ["Guidance", "freeaction_guidance", "negated_cfg", "no_guidance", "null_cfg"]
