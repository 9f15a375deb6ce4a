"""The one rule that chooses ``mu_act``, the centre of FreeAction's truncation.

``mu_act`` is the mean of m(a) over the training clips' windows of ``num_frames - 1`` actions,
so statistics only apply to a method that measures m(a) the same way (``magnitude``, ``dims``)
over windows of the same length. In order:

1. an explicit value (``--mu-act``; a method's ``truncation.mu_act``; an evaluation config's ``mu_act``);
2. statistics the user named (``--stats DATASET``): they must match, else refused, naming the mismatch;
3. the statistics recorded with the checkpoint, when they match;
4. statistics computed for exactly this definition (evaluation: the dataset's saved ones if they
   match, else measured on its ``train`` split), when the caller can compute them;
5. otherwise an error that says why each source did not apply.

Statistics are the mappings of :func:`freeaction.data.stats.compute_stats`; one without a
``magnitude``/``dims`` record was made with the defaults (l2, all dimensions), one without
``num_frames`` is not checked for the window length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from freeaction.errors import MethodError
from freeaction.method.method import Method

Stats = Mapping[str, Any]


@dataclass(frozen=True)
class MuAct:
    """A chosen ``mu_act`` and where it came from (for the log and the results)."""

    value: float
    source: str


def stats_mismatch(stats: Stats, magnitude: str, dims: Sequence[int] | None, num_frames: int | None) -> str | None:
    """Why ``stats`` do not apply to m(a) = (magnitude, dims) over ``num_frames``-frame windows, or None."""
    want_dims = None if dims is None else [int(d) for d in dims]
    have = {"magnitude": stats.get("magnitude", "l2"), "dims": stats.get("dims")}
    want = {"magnitude": magnitude, "dims": want_dims}
    problems = [f"{k} {have[k]!r} (wanted {want[k]!r})" for k in have if have[k] != want[k]]
    if num_frames is not None and stats.get("num_frames") not in (None, num_frames):
        problems.append(
            f"windows of {stats['num_frames']} frames (wanted {num_frames}: m(a) is taken over one chunk)"
        )
    return "; ".join(problems) or None


def _usable(stats: Stats | None) -> bool:
    return bool(stats) and stats.get("mu_act") is not None


def resolve_mu_act(
    explicit: float | None,
    stats: Stats | None,
    checkpoint: Stats | None,
    magnitude: str = "l2",
    dims: Sequence[int] | None = None,
    num_frames: int | None = None,
    *,
    stats_name: str = "--stats",
    compute: Callable[[], Stats] | None = None,
) -> MuAct:
    """``mu_act`` for m(a) = (magnitude, dims) over ``num_frames``-frame windows (see the module doc).

    stats: statistics the user named (``stats_name`` says how, for messages); must match.
    checkpoint: the checkpoint's recorded statistics; used when they match.
    compute: makes statistics for exactly this definition, tried last.
    """
    if explicit is not None:
        return MuAct(float(explicit), "explicit")
    how = f"m(a) = {magnitude} over dims {'all' if dims is None else list(dims)}"
    if stats is not None:
        why = stats_mismatch(stats, magnitude, dims, num_frames)
        if why:
            flags = f" --magnitude {magnitude}" + (f" --dims {' '.join(map(str, dims))}" if dims else "")
            raise MethodError(
                f"{stats_name}: mu_act was computed for {why}; the method takes {how}: rerun "
                f"`freeaction data stats{flags}` on that dataset, or pass --mu-act"
            )
        if not _usable(stats):
            raise MethodError(f"{stats_name}: the statistics hold no mu_act; rerun `freeaction data stats`")
        return MuAct(float(stats["mu_act"]), stats_name)
    checkpoint_why = "it records no action statistics"
    if _usable(checkpoint):
        checkpoint_why = stats_mismatch(checkpoint, magnitude, dims, num_frames) or ""
        if not checkpoint_why:
            return MuAct(float(checkpoint["mu_act"]), "checkpoint")
        checkpoint_why = f"its statistics were made for {checkpoint_why}"
    if compute is not None:
        computed = compute()
        why = stats_mismatch(computed, magnitude, dims, num_frames)
        if why:
            raise MethodError(f"statistics computed for {how} came out for {why}")
        return MuAct(float(computed["mu_act"]), "dataset")
    raise MethodError(
        f"action-scaled truncation needs mu_act for {how}: the checkpoint gives none ({checkpoint_why}); "
        "pass --mu-act, or --stats DATASET made by `freeaction data stats` with the same --magnitude/--dims"
    )


def resolve_method_mu_act(
    method: Method,
    explicit: float | None,
    stats: Stats | None,
    checkpoint: Stats | None,
    num_frames: int | None,
    **kwargs: Any,
) -> tuple[Method, MuAct | None]:
    """``method`` with its ``mu_act`` chosen by :func:`resolve_mu_act` for its truncation's m(a)
    (unchanged, with None, when it needs none)."""
    if not method.needs_mu_act:
        return method, None
    t = method.truncation
    chosen = resolve_mu_act(explicit, stats, checkpoint, t.magnitude, t.magnitude_dims, num_frames, **kwargs)
    return method.with_mu_act(chosen.value), chosen
