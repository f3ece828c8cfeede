"""Where motion goes: animations (``render``), BVH files for Blender/MotionBuilder (``bvh_export``) and SMPL
body fits and meshes (``smpl``).
"""
