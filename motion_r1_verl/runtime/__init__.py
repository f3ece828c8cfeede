"""The I/O and runtime floor every stage stands on (it imports nothing from the stages).

- :mod:`motion_r1_verl.runtime.files`: one atomic write for files (:func:`~motion_r1_verl.runtime.files.atomic_write`
  and the bytes/text/JSON/JSONL/``.npy`` writers built on it) and folders
  (:func:`~motion_r1_verl.runtime.files.atomic_dir`, :func:`~motion_r1_verl.runtime.files.recover_dir` after a crash
  mid-swap), the rename that publishes a finished journal
  (:func:`~motion_r1_verl.runtime.files.publish_file`), with one permission policy (``FILE_MODE``/``DIR_MODE``) and
  an opt-in fsync (``durable=True``) for what a crash must not lose; standard library and numpy only;
- :mod:`motion_r1_verl.runtime.journal`: the one resumable JSONL journal (``read_journal``, ``Journal``) with one
  torn-line policy, used by the CoT build and the VQ dataset encoder;
- :mod:`motion_r1_verl.runtime.device`: ``pick_device(device=None)``, the one device choice;
- :mod:`motion_r1_verl.runtime.models`: ``cached_model(kind, folder, device, load)``, the one per-process model
  cache the decode hook (VQ codec), the text-motion model, the reward's scorer, generation and evaluation share.
"""
