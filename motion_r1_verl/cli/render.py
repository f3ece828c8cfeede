"""``motion-r1 render``: stick-figure animation (mp4/gif) or still (png) of one or more motions, or the
SMPL body mesh of fitted parameters (``--smpl-params`` + ``--smpl-model``).

Converts the flags into one call of ``motion_r1_verl.motion.outputs.render`` (or ``motion.smpl.render_mesh``);
``.npy`` inputs may hold joints (T,22,3) or HumanML3D features (T,263), detected by shape.
"""

import argparse
from pathlib import Path

EPILOG = """examples:
  motion-r1 render data/new_joints/000001.npy --out clip.mp4 --caption "a person walks forward"
  motion-r1 render gt.npy --compare generated.npy --labels "ground truth,generated" --out cmp.gif
  motion-r1 render features.npy --out frame.png --frame 40
  motion-r1 render --smpl-params clip_smpl.npz --smpl-model models/ --out clip_mesh.mp4
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render",
        help="Render a motion .npy (joints or features) to an mp4/gif animation or a png frame.",
        description=(
            "Render a motion .npy to a stick-figure animation (.mp4 or .gif) or one frame (.png): floor grid, "
            "root trajectory, caption; --compare adds panels side by side (e.g. ground truth vs generated). "
            "Inputs hold joints (T,22,3) metres y-up or HumanML3D features (T,263), detected by shape. "
            "Mesh mode: --smpl-params (from 'motion-r1 export smpl') with --smpl-model draws the shaded SMPL body."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input",
        type=Path,
        nargs="?",
        metavar="IN.npy",
        help="motion file: joints (T,22,3) or features (T,263); not needed with --smpl-params",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output file; the suffix picks the format: .mp4, .gif or .png"
    )
    parser.add_argument("--caption", default=None, help="text shown above the animation (e.g. the prompt)")
    parser.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        metavar="OTHER.npy",
        help="another motion shown side by side (repeat for more panels)",
    )
    parser.add_argument(
        "--labels",
        default=None,
        metavar="A,B",
        help="comma-separated panel titles, one per motion (IN first, then each --compare)",
    )
    parser.add_argument("--fps", type=int, default=20, help="frames per second of the animation (HumanML3D: 20)")
    parser.add_argument(
        "--frame", type=int, default=None, help="frame index for .png output (default: the middle frame)"
    )
    parser.add_argument(
        "--smpl-params",
        type=Path,
        default=None,
        metavar="PARAMS.npz",
        help="render the SMPL mesh of these parameters (AMASS-style .npz from 'motion-r1 export smpl')",
    )
    parser.add_argument(
        "--smpl-model",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder holding smpl/SMPL_NEUTRAL.pkl (needed with --smpl-params)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from motion_r1_verl.errors import UserError
    from motion_r1_verl.motion.outputs.render import load_motion, render_animation, render_still

    if args.smpl_params is not None:
        return run_mesh(args)
    if args.input is None:
        raise UserError("give a motion file IN.npy, or --smpl-params with --smpl-model for the SMPL mesh")
    motions = [load_motion(path) for path in (args.input, *args.compare)]
    labels = [label.strip() for label in args.labels.split(",")] if args.labels else None
    if labels is not None and len(labels) != len(motions):
        raise UserError(f"--labels has {len(labels)} names for {len(motions)} motions (one per motion)")
    if args.fps <= 0:
        raise UserError(f"--fps must be positive, got {args.fps}")
    suffix = args.out.suffix.lower()
    if suffix == ".png":
        render_still(motions, args.out, frame=args.frame, caption=args.caption, labels=labels)
        print(f"wrote {args.out} (frame {args.frame if args.frame is not None else max(map(len, motions)) // 2})")
    elif suffix in (".mp4", ".gif"):
        n_frames = render_animation(motions, args.out, caption=args.caption, labels=labels, fps=args.fps)
        print(f"wrote {args.out} ({n_frames} frames, {n_frames / args.fps:.1f}s at {args.fps} fps)")
    else:
        raise UserError(f"--out {args.out}: unknown format {suffix or '(none)'!r}, expected .mp4, .gif or .png")
    return 0


def run_mesh(args: argparse.Namespace) -> int:
    """Mesh mode: SMPL parameters + model -> shaded body animation or still."""
    from motion_r1_verl.errors import UserError
    from motion_r1_verl.motion.outputs.smpl.fit import SmplParams, smpl_joints, smpl_vertices
    from motion_r1_verl.motion.outputs.smpl.model_files import build_smpl
    from motion_r1_verl.motion.outputs.smpl.render_mesh import render_mesh_animation, render_mesh_still

    if args.smpl_model is None:
        raise UserError("--smpl-params needs --smpl-model DIR (the folder holding smpl/SMPL_NEUTRAL.pkl)")
    if args.input is not None or args.compare:
        raise UserError("--smpl-params renders one body: drop IN.npy and --compare")
    if args.fps <= 0:
        raise UserError(f"--fps must be positive, got {args.fps}")
    suffix = args.out.suffix.lower()
    if suffix not in (".png", ".mp4", ".gif"):
        raise UserError(f"--out {args.out}: unknown format {suffix or '(none)'!r}, expected .mp4, .gif or .png")
    params = SmplParams.load(args.smpl_params)
    model = build_smpl(args.smpl_model, params.gender)
    vertices = smpl_vertices(model, params)
    root = smpl_joints(model, params)[:, 0]
    if suffix == ".png":
        t = render_mesh_still(vertices, model.faces, root, args.out, frame=args.frame, caption=args.caption)
        print(f"wrote {args.out} (frame {t}, SMPL mesh)")
    else:
        n_frames = render_mesh_animation(vertices, model.faces, root, args.out, caption=args.caption, fps=args.fps)
        print(f"wrote {args.out} ({n_frames} frames, SMPL mesh, {n_frames / args.fps:.1f}s at {args.fps} fps)")
    return 0
