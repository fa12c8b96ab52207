"""The promotion gate: a retrained version becomes the active one by itself only when it beats the
active version on the held-out split by more than the evaluation's noise.

Both are scored on the same held-out objects (``evaluate_model`` keeps each object's J&F per
protocol). Per object, the J&F difference averaged over the protocols both were scored with; the
gain is its mean, the noise the half-width of the 95 % bootstrap interval of that mean over objects
(``engine.evaluation.compare``). ``promote`` is true only when gain > noise on at least
``GATE_MIN_OBJECTS`` objects; otherwise the version
stays unpromoted with the comparison recorded, and an admin may still promote it by hand.
"""

from __future__ import annotations

from typing import Any

from engine.evaluation.compare import BOOTSTRAP_RESAMPLES, compare_paired

GATE_MIN_OBJECTS = 5  # below this, the bootstrap cannot say much: never promoted automatically
GATE_METHOD = (f"paired bootstrap over held-out objects ({BOOTSTRAP_RESAMPLES} resamples): noise is the half-width "
               "of the 95% interval of the mean per-object J&F gain, averaged over the protocols")


def _per_object(scores: dict[str, Any], protocols: list[str]) -> dict[str, float]:
    """Per object key, the mean J&F over ``protocols``."""
    keys = set.intersection(*(set(scores[p].get("per_object") or {}) for p in protocols)) if protocols else set()
    return {k: sum(float(scores[p]["per_object"][k]) for p in protocols) / len(protocols) for k in keys}


def promotion_comparison(*, candidate: dict[str, Any] | None, incumbent: dict[str, Any] | None,
                         incumbent_name: str, incumbent_id: int | None) -> dict[str, Any]:
    """The gate's decision for per-protocol held-out scores (``metrics["val"]`` shapes):
    ``promote``, ``gain``, ``noise``, ``objects``, ``protocols``, ``against`` and a ``reason``."""
    out: dict[str, Any] = {"against": incumbent_name, "against_id": incumbent_id, "method": GATE_METHOD,
                           "promote": False, "gain": None, "noise": None, "objects": 0, "protocols": []}
    if not candidate:
        return {**out, "reason": "Not evaluated on a held-out split: not promoted automatically."}
    if not incumbent:
        return {**out, "reason": f"The active version {incumbent_name} has no held-out scores on these objects: "
                                 "not promoted automatically."}
    protocols = sorted(p for p in set(candidate) & set(incumbent)
                       if candidate[p].get("per_object") and incumbent[p].get("per_object"))
    comparison = compare_paired(_per_object(candidate, protocols), _per_object(incumbent, protocols))
    if comparison.objects == 0:
        return {**out, "reason": "No held-out object was scored for both versions: not promoted automatically."}
    out.update(gain=round(comparison.gain, 2), noise=round(comparison.noise, 2), objects=comparison.objects,
               protocols=protocols, promote=comparison.significant and comparison.objects >= GATE_MIN_OBJECTS)
    if comparison.objects < GATE_MIN_OBJECTS:
        out["reason"] = (f"J&F {comparison.gain:+.1f} vs {incumbent_name} on only {comparison.objects} held-out "
                         f"object(s), fewer than {GATE_MIN_OBJECTS}: too few to tell a gain from noise; left "
                         "unpromoted (an admin may promote it by hand).")
        return out
    verdict = "better by more than" if comparison.significant else "not better by more than"
    out["reason"] = (f"J&F {comparison.gain:+.1f} vs {incumbent_name} on {comparison.objects} held-out objects, "
                     f"noise ±{comparison.noise:.1f}: {verdict} the noise; "
                     + ("promoted automatically." if comparison.significant
                        else "left unpromoted (an admin may promote it by hand)."))
    return out


__all__ = ["GATE_METHOD", "GATE_MIN_OBJECTS", "promotion_comparison"]
