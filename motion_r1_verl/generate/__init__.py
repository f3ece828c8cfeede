"""Text -> motion with a trained Motion-R1 model: sample, show the reasoning, decode, write files.

    from motion_r1_verl.generate import GenerateConfig, generate_motions, write_results
    results = generate_motions("runs/grpo-merged", ["a person walks forward then waves"], n=4)
    write_results(results, "runs/generate")     # features, joints, mp4, BVH, results.jsonl

CLI: ``motion-r1 generate "a person walks forward then waves" --model runs/grpo-merged --n 4``.
"""

from motion_r1_verl.generate.generation import (
    Attempt,
    GenerateConfig,
    GenerationResult,
    failed_captions,
    generate_motions,
    resolve_codec,
)
from motion_r1_verl.generate.outputs import write_results
from motion_r1_verl.generate.sampler import HFSampler, SamplingSettings, load_sampler
from motion_r1_verl.generate.split import split_captions

__all__ = [
    "Attempt",
    "GenerateConfig",
    "GenerationResult",
    "HFSampler",
    "SamplingSettings",
    "failed_captions",
    "generate_motions",
    "load_sampler",
    "resolve_codec",
    "split_captions",
    "write_results",
]
