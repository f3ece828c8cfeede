"""The embedded procedural, compositional text-to-motion dataset (see ``generate.py``).

Modules, in the order data flows: ``primitives`` (one parametrised motion per action, as IK targets
in a ``track``), ``compose`` (plans of 1-4 sub-actions chained with continuous state), ``rig``
(targets -> skeleton pose via IK and forward kinematics), ``captions`` (paraphrases from the plan),
``skate`` (the foot-skate metric) and ``generate`` (the HumanML3D-format folder).
"""

from motion_r1_verl.motion.sources.synth.generate import DEFAULT_N, LARGE_N, SynthConfig, SynthReport, generate_dataset

__all__ = ["DEFAULT_N", "LARGE_N", "SynthConfig", "SynthReport", "generate_dataset"]
