"""motion-r1-verl: train text-to-motion LLMs the Motion-R1 way with upstream verl.

Data flow (see DESIGN.md): motion -> vq -> cot -> datasets -> verl (recipes) -> reward_fns,
with retrieval/metrics for rewards and evaluation.
"""

__version__ = "0.1.0"
