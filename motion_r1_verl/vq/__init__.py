"""Motion tokenizer: a T2M-GPT-style VQ-VAE turning (T, 263) motion features into T/4 discrete codes.

Modules (import them directly; this package imports nothing eagerly):

- ``config``: ``VQConfig`` (model + train dataclasses) and the ``small`` / ``t2m-gpt`` presets.
- ``model`` / ``quantizer``: encoder, EMA dead-code-reset codebook (state in buffers), decoder.
- ``train``: ``train_vq(data_dir, out_dir, config, resume=...)`` with exact resume; ``checkpoint``: folders.
- ``codec``: ``MotionCodec.from_pretrained(path)``: batched encode/decode, tokens <-> text (read by the
  protocol's scanner, ``motion_r1_verl.protocol``).
- ``hook``: ``decode_text(s)(text, ckpt) -> DecodeResult`` with a per-process cached codec.
- ``encode_dataset``: a HumanML3D-format folder -> ``codes.jsonl`` (resumable).
- ``evaluate``: MPJPE / codebook usage of reconstructions.

CLI: ``motion-r1 vq train|encode|eval`` (``motion_r1_verl/cli/vq.py``).
"""
