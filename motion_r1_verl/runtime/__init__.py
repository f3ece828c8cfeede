"""Runtime floor shared by every stage (imports nothing from them).

- ``device``: ``pick_device(device=None)``, the one device choice (CUDA when available, else CPU);
- ``models``: ``cached_model(kind, folder, device, load)``, the one per-process model cache that the decode
  hook (VQ codec), the text-motion model, the reward's scorer, generation and evaluation share.
"""
