"""SMPL body output: fit SMPL (via ``smplx``) to HumanML3D joints, save AMASS-style parameters, export and
render meshes.

Modules: ``model_files`` (find/check/load the licensed SMPL ``.pkl`` without chumpy), ``init_pose``
(analytic pose from 22 joints), ``fit`` (the optimisation, ``SmplParams`` npz I/O), ``mesh`` (GLB
animation or per-frame OBJ/PLY), ``render_mesh`` (headless shaded mesh frames).

CLI: ``motion-r1 export smpl IN.npy --smpl-model DIR --out OUT.npz [--mesh OUT.glb]`` and
``motion-r1 render --smpl-params OUT.npz --smpl-model DIR --out OUT.mp4``.
"""
