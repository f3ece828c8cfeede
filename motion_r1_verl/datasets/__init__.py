"""verl datasets built from Motion-R1 triplets (caption, chain of thought, motion codes).

- ``prompts``: ``SYSTEM_PROMPT`` and the user turn; shared by SFT and RL so both see the same prompt.
- ``triplets``: read ``cot.jsonl`` + ``codes.jsonl`` and join them on the clip id (or render the
  oracle CoT from ``plans.jsonl`` when no CoT file exists yet).
- ``sft``: triplets -> verl SFT parquet (one ``messages`` column) for ``verl.trainer.sft_trainer``.
- ``rl`` (added with the GRPO issue): triplets -> verl RL parquet; it should reuse
  ``sft.chat_prompt`` for the ``prompt`` column and ``triplets.join_triplets`` for the data.
"""
