"""``motion-r1 export smpl IN.npy --smpl-model DIR --out OUT.npz``: SMPL body parameters (and meshes) for a motion.

Converts the flags into calls of ``motion_r1_verl.motion.outputs.smpl``: load joints (T,22,3) or features (T,263),
load the SMPL model (chumpy-free), fit pose (and optionally shape), write AMASS-style parameters and,
with ``--mesh``, the mesh sequence. ``motion-r1 export smpl-convert`` writes a chumpy-free copy of an
official SMPL ``.pkl`` for other smplx-based tools.
"""

import argparse
from pathlib import Path

EPILOG = """examples:
  motion-r1 export smpl data/new_joints/000001.npy --smpl-model models/ --out clip_smpl.npz
  motion-r1 export smpl generated.npy --smpl-model models/ --out gen.npz --mesh gen.glb --fit-shape
  motion-r1 export smpl clip.npy --smpl-model models/ --out clip.npz --mesh clip_frames/ --mesh-format ply

The model folder holds smpl/SMPL_NEUTRAL.pkl (SMPL for Python, https://smpl.is.tue.mpg.de; files that
need chumpy are read without it).
"""

CONVERT_EPILOG = """example:
  motion-r1 export smpl-convert ~/Downloads/basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl models/smpl/SMPL_NEUTRAL.pkl
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "smpl",
        help="Fit SMPL body parameters to a motion .npy; write AMASS-style .npz (and meshes).",
        description=(
            "Fit SMPL (smplx) body pose, and with --fit-shape its shape, to a motion's 22 joints: analytic IK start, "
            "then L-BFGS on joint positions + smoothness + joint limits + foot-floor contact. Writes an AMASS-style "
            ".npz (poses (T,72) axis-angle, trans, betas, gender, mocap_framerate 20; y up unless --up z) and "
            "optionally the mesh sequence (.glb animation, or a folder of per-frame .obj/.ply)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, metavar="IN.npy", help="motion file: joints (T,22,3) or features (T,263)")
    parser.add_argument(
        "--smpl-model",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder holding smpl/SMPL_NEUTRAL.pkl (or _MALE/_FEMALE), from https://smpl.is.tue.mpg.de",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="OUT.npz", help="parameter file to write")
    parser.add_argument(
        "--mesh",
        type=Path,
        default=None,
        metavar="OUT.glb|DIR/",
        help="also write meshes: a .glb animation, or a folder of per-frame files",
    )
    parser.add_argument(
        "--mesh-format", choices=("obj", "ply"), default="obj", help="per-frame file type when --mesh is a folder"
    )
    parser.add_argument("--gender", choices=("neutral", "male", "female"), default="neutral", help="SMPL model to use")
    parser.add_argument("--fit-shape", action="store_true", help="also fit the body shape (betas, one for the clip)")
    parser.add_argument("--iters", type=int, default=30, help="L-BFGS iterations (default 30)")
    parser.add_argument(
        "--up", choices=("y", "z"), default="y", help="world up axis written: y (HumanML3D, default) or z (AMASS)"
    )
    parser.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    parser.set_defaults(func=run)

    convert = subparsers.add_parser(
        "smpl-convert",
        help="Write a chumpy-free copy of an official SMPL .pkl (readable by plain pickle / smplx).",
        description=(
            "Read an official SMPL .pkl with a restricted unpickler (chumpy arrays become numpy arrays, no other "
            "classes are allowed) and write plain numpy arrays, so smplx-based tools load it on numpy 2."
        ),
        epilog=CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument("src", type=Path, metavar="SRC.pkl", help="SMPL model file as downloaded")
    convert.add_argument("dst", type=Path, metavar="DST.pkl", help="where to write the plain copy")
    convert.set_defaults(func=run_convert)


def run(args: argparse.Namespace) -> int:
    from motion_r1_verl.errors import UserError
    from motion_r1_verl.motion.outputs.render import load_motion
    from motion_r1_verl.motion.outputs.smpl.fit import FitConfig, change_up_axis, fit_smpl, rest_pelvis, smpl_vertices
    from motion_r1_verl.motion.outputs.smpl.model_files import build_smpl

    if args.out.suffix.lower() != ".npz":
        raise UserError(f"--out {args.out}: expected a .npz file name")
    model = build_smpl(args.smpl_model, args.gender)  # check the model before any work
    joints = load_motion(args.input)
    config = FitConfig(iters=args.iters, fit_shape=args.fit_shape, device=args.device)
    params, report = fit_smpl(joints, model, config, gender=args.gender)
    vertices = smpl_vertices(model, params) if args.mesh is not None else None
    if args.up != "y":
        params = change_up_axis(params, args.up, rest_pelvis(model, params.betas))
    params.save(args.out)
    print(f"wrote {args.out}: {report.summary()}")
    if args.mesh is not None:
        from motion_r1_verl.motion.outputs.smpl.mesh import export_mesh_sequence

        paths = export_mesh_sequence(vertices, model.faces, args.mesh, fmt=args.mesh_format)
        where = paths[0] if len(paths) == 1 else f"{args.mesh}/ ({len(paths)} .{args.mesh_format} files)"
        print(f"wrote {where}: {len(vertices)} frames, {vertices.shape[1]} vertices (y up)")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from motion_r1_verl.motion.outputs.smpl.model_files import convert_model_file

    print(f"wrote {convert_model_file(args.src, args.dst)} (plain numpy arrays, no chumpy)")
    return 0
