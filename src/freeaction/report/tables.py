"""The paper-shaped Markdown table: rows = methods, columns = metrics, differences with intervals.

Each non-baseline cell reads ``mean (diff [low, high], p% better)``: the method's mean over
clips, its mean paired difference to the baseline with the bootstrap interval, and the share of
clips where it beats the baseline; a figure that some clips lack (a moved block's error) reads
``mean on k/N (diff [low, high] on m paired clips, p% better)``. The baseline row holds plain
means; floor rows hold the same metrics measured on the real videos (IDM / effector error of the
real clip, the VAE's own reconstruction PSNR/SSIM and object metrics, the gripper reader's
accuracy: no generated video can be expected to beat them). Reference rows (``references`` in
the config: nothing moves, shuffled actions) follow the methods and read like them, so every
number has its floor beside it.
"""

from __future__ import annotations

from typing import Any

LABELS = {
    "psnr": "PSNR↑",
    "ssim": "SSIM↑",
    "psnr_color": "colour PSNR↑",
    "latent_l2": "Latent L2↓",
    "idm_error": "IDM error↓",
    "ee_error": "EE error (px)↓",
    "ee_missing": "EE missing↓",
    "block_error_px": "moved-block error (px)↓",
    "blocks_kept": "moved blocks kept↑",
    "robot_iou": "robot IoU↑",
    "robot_iou_final": "robot IoU, last frame↑",
    "robot_iou_moving": "moving-robot IoU↑",
    "robot_iou_moving_final": "moving-robot IoU, last frame↑",
    "gripper_agreement": "gripper agreement↑",
    "diversity_pixel_std": "pixel std across seeds",
    "diversity_latent_l2": "latent L2 between seeds",
    "fvd": "FVD↓",
    "fid": "FID↓",
}
DIGITS = {
    "psnr": 2,
    "psnr_color": 2,
    "ssim": 4,
    "latent_l2": 4,
    "idm_error": 4,
    "ee_error": 2,
    "ee_missing": 3,
    "block_error_px": 2,
    "blocks_kept": 3,
    "robot_iou": 3,
    "robot_iou_final": 3,
    "robot_iou_moving": 3,
    "robot_iou_moving_final": 3,
    "gripper_agreement": 3,
    "diversity_pixel_std": 2,
    "diversity_latent_l2": 4,
    "fvd": 1,
    "fid": 2,
}
FLOOR_OF = {
    "psnr": "vae_psnr",
    "ssim": "vae_ssim",
    "psnr_color": "vae_psnr_color",
    "idm_error": "idm_error",
    "ee_error": "ee_error",
    "ee_missing": "ee_missing",
    "block_error_px": "vae_block_error_px",
    "blocks_kept": "vae_blocks_kept",
    "robot_iou": "vae_robot_iou",
    "robot_iou_final": "vae_robot_iou_final",
    "robot_iou_moving": "vae_robot_iou_moving",
    "robot_iou_moving_final": "vae_robot_iou_moving_final",
    "gripper_agreement": "gripper_agreement",
}
REFERENCE_LABELS = {"still": "nothing moves (reference)", "shuffled": "shuffled actions (reference)"}


def fmt(value: float | None, metric: str, signed: bool = False) -> str:
    if value is None:
        return "–"
    d = DIGITS.get(metric, 4)
    return f"{value:+.{d}f}" if signed else f"{value:.{d}f}"


def protocol_clips(protocol: dict[str, Any]) -> int:
    """The protocol's clip (or episode) count: the most clips any method's metric was measured on."""
    return max((s["n_clips"] for m in protocol["methods"].values() for s in m.values() if s), default=0)


def cell(protocol: dict[str, Any], method: str, metric: str, baseline: str, clips: int | None = None) -> str:
    """One table cell; ``clips``: the protocol's clip count, so that a mean or a paired difference over
    fewer clips (a moved-block figure exists only where a moved block was found) says over how many."""
    s = protocol["methods"].get(method, {}).get(metric)
    if s is None:
        return "–"
    text = fmt(s["mean"], metric)
    if clips is not None and s["n_clips"] < clips:
        text += f" on {s['n_clips']}/{clips}"
    c = protocol["comparisons"].get(method, {}).get(metric) if method != baseline else None
    if c:
        ci = "" if c["ci_low"] is None else f" [{fmt(c['ci_low'], metric, True)}, {fmt(c['ci_high'], metric, True)}]"
        paired = ""
        if clips is not None and c["n_clips"] < clips:
            paired = f" on {c['n_clips']} paired clip{'s' if c['n_clips'] != 1 else ''}"
        better = "" if c["frac_improved"] is None else f", {100 * c['frac_improved']:.0f}% better"
        text += f" ({fmt(c['diff'], metric, True)}{ci}{paired}{better})"
    if s.get("n_failed"):
        text += f" ⚠ {s['n_failed']} failed"
    return text


def failure_notes(summary: dict[str, Any], protocol_name: str) -> list[str]:
    """One line per (method, metric) with failed (NaN/inf) samples: how many, on which clips."""
    notes = []
    for method, metrics in summary["protocols"][protocol_name]["methods"].items():
        for metric, s in metrics.items():
            if s and s.get("n_failed"):
                clips = s["failed_clips"]
                shown = ", ".join(clips[:5]) + (f" and {len(clips) - 5} more" if len(clips) > 5 else "")
                notes.append(
                    f"{method}, {LABELS.get(metric, metric)}: {s['n_failed']} sample(s) failed (NaN/inf) on "
                    f"{len(clips)} clip(s) ({shown}); the cell's mean is over the other {s['n_clips']} clip(s)"
                )
    return notes


def table_rows(summary: dict[str, Any], protocol_name: str, metrics: list[str]) -> tuple[list[str], list[list[str]]]:
    """Header and body rows (strings) of one protocol's table."""
    p = summary["protocols"][protocol_name]
    dist = p.get("distribution") or {}
    cols = [m for m in metrics if m in p["metrics"]] + [k for k in ("fvd", "fid") if k in dist]
    header = ["Method", *[LABELS.get(m, m) for m in cols]]
    body = []
    shown = [*summary["methods"], *(r for r in summary.get("references", []) if r in p["methods"])]
    clips = protocol_clips(p)
    for method in shown:
        label = REFERENCE_LABELS.get(method, method) if method not in summary["methods"] else method
        row = [label + (" (baseline)" if method == summary["baseline"] else "")]
        for m in cols:
            if m in ("fvd", "fid"):
                row.append(fmt(dist[m].get(method), m))
            else:
                row.append(cell(p, method, m, summary["baseline"], clips))
        body.append(row)
    ref = p.get("reference") or {}
    if any(FLOOR_OF.get(m) in ref for m in cols):
        row = ["real video (floor / VAE ceiling)"]
        for m in cols:
            r = ref.get(FLOOR_OF.get(m, ""))
            row.append(fmt(r["mean"], m) if r else "–")
        body.append(row)
    return header, body


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def markdown_report(summary: dict[str, Any]) -> str:
    """``table.md``: one fidelity table and one diversity table per protocol, with a legend."""
    boot = summary["bootstrap"]
    conf = 100 * float(boot["confidence"])
    parts = [
        "# Evaluation results",
        "",
        f"Scoring: `{summary['run'].get('settings', {}).get('scoring', 'freeaction')}` (see docs/evaluation.md).",
        "",
        f"Cells: mean over clips (seeds averaged within each clip first); for methods other than the baseline "
        f"(`{summary['baseline']}`), in brackets: the mean paired difference to it, its {conf:.0f}% percentile-"
        f"bootstrap interval ({boot['resamples']} resamples over clips, seed {boot['seed']}) and the share of clips "
        "where the method is better. An interval that excludes 0 is a difference the clip sample supports. A "
        "figure some clips lack (a moved block's error needs a moved block found in the generated frame) says on "
        "how many clips its mean is (`on 3/8`) and on how many pairs of clips its difference is.",
    ]
    for name in summary["protocols"]:
        from freeaction.report.summary import DIVERSITY, METRICS

        p = summary["protocols"][name]
        n = protocol_clips(p)
        unit = "clips" if name == "short" else "episodes"
        parts += ["", f"## {name} protocol ({n} {unit})", "", markdown_table(*table_rows(summary, name, METRICS[name]))]
        if any(m in p["metrics"] for m in DIVERSITY):
            parts += ["", f"Diversity across seeds ({name})", "", markdown_table(*table_rows(summary, name, DIVERSITY))]
        for note in failure_notes(summary, name):
            parts += ["", f"Failed: {note}"]
    sweep = summary.get("sweep") or {}
    for note in sweep.get("notes", []):
        parts += ["", f"Note: {note}"]
    return "\n".join(parts) + "\n"
