"""verl datasets built from Motion-R1 triplets (caption, chain of thought, motion codes).

- ``triplets``: read ``cot.jsonl`` + ``codes.jsonl`` and join them on the clip id (or render the
  oracle CoT from ``plans.jsonl`` when no CoT file exists yet).
- ``sft``: triplets -> verl SFT parquet (one ``messages`` column) for ``verl.trainer.sft_trainer``.
- ``rl``: triplets -> verl RL parquet (``prompt``, ``reward_model.ground_truth``, ``extra_info``).
- ``splits``: the split by clip both builders share.

Both write their prompts with ``motion_r1_verl.protocol.chat_prompt`` (the same system prompt), and the
SFT responses with ``protocol.format_response``.
"""
