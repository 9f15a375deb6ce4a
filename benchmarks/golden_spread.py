"""How far fp32 kernel choices move the IRASim golden outputs, and how far real mistakes do.

    python benchmarks/golden_spread.py

For every golden case (tests/fixtures/irasim) and output, prints the error measure the golden
tests bound, max |a - b| / RMS(b), for:

- freeaction with 1 thread and with 2 threads against IRASim's fixture (made with 1 thread on
  another CPU), and 1 against 2 threads (a different GEMM reduction order);
- the fp32 model against the same model in float64 (the rounding error fp32 carries at all);
- the timestep frequencies exp(-ln(1e4) k/128) rounded correctly (exp in float64, then cast)
  instead of by torch's float32 exp: 3 of the 128 differ by 1 ulp, as they may between CPUs'
  vectorised exp kernels, and at t = 999 that moves the phases by up to 3e-5;
- deliberate mistakes against the fixture: one weight tensor scaled by 1.01, two attention heads
  swapped in one block, the final layer's modulation dropped (shift = scale = 0).

The tolerance in tests/reference.py and the figures in tests/fixtures/irasim/README.md come
from this output.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference import GOLDEN_CASES, GOLDEN_REL_TOL, MISTAKES, build_golden_model, golden_error  # noqa: E402

OUTPUTS = {  # fixture key -> (final_frame_ada, null_condition)
    "output.eval": (False, None),
    "output.null_condition": (False, True),
    "output.eval_final_frame_ada": (True, None),
    "output.null_condition_final_frame_ada": (True, True),
}


def run(
    model: torch.nn.Module,
    t: dict[str, torch.Tensor],
    null: bool | None,
    threads: int,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    torch.set_num_threads(threads)
    # the timestep features are float32 by definition (README 5.3); the layers after them run in dtype
    hook = model.t_embedder.mlp.register_forward_pre_hook(lambda _, args: (args[0].to(dtype),))
    with torch.no_grad():
        out = model.to(dtype)(t["input.x"].to(dtype), t["input.t"], t["input.actions"].to(dtype), null_condition=null)
    hook.remove()
    model.float()
    return out.float()


def round_frequencies_correctly(model: torch.nn.Module) -> None:
    """The timestep features with exp computed in float64 and rounded once to float32."""
    emb = model.t_embedder

    def forward(t: torch.Tensor) -> torch.Tensor:
        half = emb.frequency_size // 2
        freqs = torch.exp((-math.log(10000) * torch.arange(half, dtype=torch.float32) / half).double())
        args = t.float()[:, None] * freqs.float()[None]
        return emb.mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))

    emb.forward = forward


def main() -> None:
    print(f"error = max|a - b| / RMS(b); tolerance {GOLDEN_REL_TOL:g}; CPU threads available {torch.get_num_threads()}")
    print(
        "| case | output | RMS | ours(1t) vs IRASim | ours(2t) vs IRASim | 1t vs 2t | fp32 vs fp64 | exp rounded |"
        + "".join(f" {m} |" for m in MISTAKES)
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(MISTAKES))
    worst: dict[str, float] = {}
    for case in GOLDEN_CASES:
        for key, (ffa, null) in OUTPUTS.items():
            model, t = build_golden_model(case, final_frame_ada=ffa)
            if key not in t:
                continue
            ref = t[key]
            one, two = run(model, t, null, 1), run(model, t, null, 2)
            f64 = run(model, t, null, 1, torch.float64)
            row = {
                "1t": golden_error(one, ref),
                "2t": golden_error(two, ref),
                "1v2": golden_error(one, two),
                "f64": golden_error(one, f64),
            }
            other_exp, _ = build_golden_model(case, final_frame_ada=ffa)
            round_frequencies_correctly(other_exp)
            row["exp"] = golden_error(run(other_exp, t, null, 1), one)
            for name, mistake in MISTAKES.items():
                bad, _ = build_golden_model(case, final_frame_ada=ffa)
                with torch.no_grad():
                    mistake(bad)
                row[name] = golden_error(run(bad, t, null, 1), ref)
            for k, v in row.items():
                worst[k] = max(worst.get(k, 0.0), v) if k not in MISTAKES else min(worst.get(k, 1e9), v)
            rms = float(ref.double().square().mean().sqrt())
            print(
                f"| {case} | {key.removeprefix('output.')} | {rms:.3f} | "
                + " | ".join(f"{v:.2e}" for v in row.values())
                + " |"
            )
    print("kernel spread (largest): " + ", ".join(f"{k} {worst[k]:.2e}" for k in ("1t", "2t", "1v2", "f64", "exp")))
    print("mistakes (smallest): " + ", ".join(f"{k} {worst[k]:.2e}" for k in MISTAKES))


if __name__ == "__main__":
    main()
