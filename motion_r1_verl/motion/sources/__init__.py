"""Where motion comes from: the synthetic compositional generator (``synth``) and BVH mocap retargeted onto
the 22 HumanML3D joints (``retarget``). Both write HumanML3D-format folders (``motion.core.humanml3d``).
"""
