"""The standard text-to-motion evaluation (Guo et al. 2022) over embeddings from any evaluator.

Each of ``replications`` rounds (20 in the protocol) draws: one caption per clip (real motions: a random one of
the clip's captions, as the official loader does; generated motions: the caption they were generated from),
one generated sample per clip (round r uses sample r mod k), and fresh batch shuffles. Per round it computes
R-Precision top-1/2/3 and MM-Dist (text vs evaluated motion, batches of 32), FID (evaluated vs real motion
embeddings), Diversity (300 pairs) and, when there are several samples per clip, MultiModality (10 pairs per
clip). Every metric is reported as mean and 95% confidence interval over the rounds.

Differences from the official script, on purpose: motions are embedded once, whole (no random crops), so the
"Real" row's FID is exactly 0; Diversity uses min(300, N) pairs and MultiModality min(10, k) pairs when the
split or the number of samples is smaller than the protocol assumes (the JSON records the numbers used).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motion_r1_verl.errors import UserError
from motion_r1_verl.eval.evaluators import Evaluator
from motion_r1_verl.eval.generated import GeneratedMotions
from motion_r1_verl.metrics import (
    DIVERSITY_TIMES,
    MULTIMODALITY_TIMES,
    R_PRECISION_BATCH,
    REPLICATIONS,
    Summary,
    diversity,
    fid,
    multimodality,
    r_precision_and_mm_dist,
    replicate,
)
from motion_r1_verl.motion.core.constants import MAX_FRAMES
from motion_r1_verl.motion.core.humanml3d import Caption, MotionClip

# The paper's column order (Motion-R1 Table 1, inherited from Guo et al.).
METRICS: tuple[str, ...] = ("R@1", "R@2", "R@3", "FID", "MM-Dist", "Diversity", "MultiModality")


@dataclass
class EvalResult:
    label: str
    metrics: dict[str, Summary | None]  # None: not applicable (MultiModality with one sample per clip)
    settings: dict[str, int | str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "metrics": {k: (v.as_dict() if v is not None else None) for k, v in self.metrics.items()},
            "settings": self.settings,
        }


def _caption_for(clip: MotionClip, text: str) -> Caption:
    """The clip's caption with this text (keeps its POS tokens), else a freshly tagged one."""
    return next((c for c in clip.captions if c.text == text), None) or Caption.from_text(text)


def evaluate(
    evaluator: Evaluator,
    clips: list[MotionClip],
    generated: GeneratedMotions | None,
    rng: np.random.Generator,
    replications: int = REPLICATIONS,
    label: str | None = None,
) -> EvalResult:
    """Score ``generated`` motions (or, with ``None``, the real ones: the "Real" row) against ``clips``."""
    n = len(clips)
    if n < R_PRECISION_BATCH:
        raise UserError(f"the split has {n} clips; R-Precision needs at least {R_PRECISION_BATCH}")
    real = evaluator.embed_motions([c.features for c in clips])

    if generated is None:
        # all captions of all clips, embedded once; each round picks one per clip
        flat = [cap for c in clips for cap in c.captions]
        text_all = evaluator.embed_captions(flat)
        offsets = np.cumsum([0] + [len(c.captions) for c in clips])
        samples = [real[i : i + 1] for i in range(n)]

        def texts(r: np.random.Generator) -> np.ndarray:
            pick = [offsets[i] + int(r.integers(len(c.captions))) for i, c in enumerate(clips)]
            return text_all[pick]
    else:
        caps = [_caption_for(c, generated.captions.get(c.id, c.captions[0].text)) for c in clips]
        fixed_text = evaluator.embed_captions(caps)
        counts = [len(generated.samples[c.id]) for c in clips]
        # The protocol's motions are at most MAX_FRAMES long (Guo et al.'s max_motion_length); a longer
        # generation is scored on its first MAX_FRAMES frames, as the reference implementations crop.
        flat_gen = evaluator.embed_motions([m[:MAX_FRAMES] for c in clips for m in generated.samples[c.id]])
        bounds = np.cumsum([0] + counts)
        samples = [flat_gen[bounds[i] : bounds[i + 1]] for i in range(n)]

        def texts(r: np.random.Generator) -> np.ndarray:
            return fixed_text

    div_times = min(DIVERSITY_TIMES, n)
    k_min = min(len(s) for s in samples)
    mm_times = min(MULTIMODALITY_TIMES, k_min)
    round_index = iter(range(replications))

    def one_round(r: np.random.Generator) -> dict[str, float]:
        i = next(round_index)
        motion = np.stack([s[i % len(s)] for s in samples])
        rp, mm_dist = r_precision_and_mm_dist(texts(r), motion, r)
        out = {"R@1": rp[0], "R@2": rp[1], "R@3": rp[2], "FID": fid(real, motion), "MM-Dist": mm_dist}
        out["Diversity"] = diversity(motion, r, div_times)
        if k_min >= 2:
            out["MultiModality"] = multimodality(np.stack([s[:k_min] for s in samples]), r, mm_times)
        return {k: float(v) for k, v in out.items()}

    summary = replicate(one_round, rng, replications)
    metrics: dict[str, Summary | None] = {k: summary.get(k) for k in METRICS}
    settings = {
        "n_clips": n,
        "replications": replications,
        "r_precision_batch": R_PRECISION_BATCH,
        "diversity_times": div_times,
        "multimodality_times": mm_times if k_min >= 2 else 0,
        "samples_per_clip": k_min,
        "evaluator": evaluator.name,
    }
    return EvalResult(label or ("Real" if generated is None else "Generated"), metrics, settings)
