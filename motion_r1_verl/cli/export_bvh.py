"""``motion-r1 export bvh IN.npy --out OUT.bvh``: a motion as a 22-joint BVH for Blender, MotionBuilder, ...

Converts the flags into calls of ``motion_r1_verl.motion.outputs.bvh_export``: load joints (T,22,3) or features (T,263)
(detected by shape), solve the joint rotations, write the file, and report how closely reading it back
reproduces the input (exact for rigid skeletons such as HumanML3D ``new_joints``).
"""

import argparse
from pathlib import Path

EPILOG = """examples:
  motion-r1 export bvh data/new_joints/000001.npy --out clip.bvh
  motion-r1 export bvh generated_features.npy --out gen.bvh --unit cm
"""

# Metres per BVH unit written.
UNIT_SCALES = {"m": 1.0, "cm": 100.0}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bvh",
        help="Write a motion .npy (joints or features) as a 22-joint BVH file.",
        description=(
            "Write a motion .npy as a BVH file: the 22-joint HumanML3D hierarchy with this clip's bone lengths "
            "(T-pose rest), root position and per-joint Euler rotations solved from the joint positions. "
            "Input: joints (T,22,3) metres y-up, or HumanML3D features (T,263), detected by shape."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, metavar="IN.npy", help="motion file: joints (T,22,3) or features (T,263)")
    parser.add_argument("--out", type=Path, required=True, metavar="OUT.bvh", help="BVH file to write")
    parser.add_argument("--fps", type=float, default=20.0, help="frame rate of the input (HumanML3D: 20)")
    parser.add_argument(
        "--unit", choices=sorted(UNIT_SCALES), default="m", help="length unit written to the file (default: m)"
    )
    parser.add_argument(
        "--exact",
        action="store_true",
        help="also write position channels for joints a rigid skeleton cannot follow (stretching bones, e.g. "
        "generated motions), so reading the file back reproduces the input exactly; some tools ignore them",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from motion_r1_verl.errors import UserError
    from motion_r1_verl.motion.outputs.bvh_export import save_joints_as_bvh
    from motion_r1_verl.motion.outputs.render import load_motion

    if args.out.suffix.lower() != ".bvh":
        raise UserError(f"--out {args.out}: expected a .bvh file name")
    if not args.fps > 0:
        raise UserError(f"--fps must be positive, got {args.fps}")
    joints = load_motion(args.input)
    scale = UNIT_SCALES[args.unit]
    error_mm = save_joints_as_bvh(args.out, joints, fps=args.fps, scale=scale, exact=args.exact) * 1000.0
    print(
        f"wrote {args.out}: {len(joints)} frames @ {args.fps:g} fps, 22 joints, unit {args.unit}; "
        f"joints read back differ by at most {error_mm:.3f} mm"
    )
    if error_mm > 1.0:
        print(
            "note: the input's bones change length, or its hips/spine or neck/collars move relative to each other, "
            "which rigid BVH bones cannot follow exactly; --exact adds position channels that do"
        )
    return 0
