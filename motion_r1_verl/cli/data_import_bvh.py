"""``motion-r1 data import-bvh IN.bvh [IN2.bvh ...] --out DIR``: mocap files into a HumanML3D-format folder.

Converts the flags into one call of ``motion_r1_verl.motion.sources.retarget.import_bvh_files`` (parse, resample to
20 fps, retarget to the 22 joints by name, detect unit and up axis, put on the floor, write features,
joints, captions, split files and Mean/Std) and prints what it detected for each file.
"""

import argparse
import sys
from pathlib import Path

EPILOG = """examples:
  motion-r1 data import-bvh 02_01.bvh --out data/mocap --caption "a person walks forward"
  motion-r1 data import-bvh takes/*.bvh --out data/mocap --joint-map my_rig.json --split train

A joint map is a JSON object from our joint names to your rig's joint names, or to weights of several
joints whose positions are averaged; entries not given come from the best built-in map:
  {"pelvis": "root", "spine3": {"chest": 0.5, "neck_base": 0.5}, "left_foot": "l_ball"}
Our joint names: pelvis left_hip right_hip spine1 left_knee right_knee spine2 left_ankle right_ankle spine3
left_foot right_foot neck left_collar right_collar head left_shoulder right_shoulder left_elbow right_elbow
left_wrist right_wrist. Built-in maps: SMPL names (Pelvis, L_Hip, ...), Mixamo/LAFAN1 (Hips, Spine2,
LeftUpLeg, LeftArm, ...), CMU (LeftUpLeg/LeftLeg/LeftFoot/LeftToeBase/Spine1/Neck1) and CMU
(LeftHip/LeftKnee/LeftAnkle/LeftToe/Chest/Chest2/LeftCollar).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from motion_r1_verl.motion.sources.retarget import UNITS, UP_AXES

    parser = subparsers.add_parser(
        "import-bvh",
        help="Import BVH motion capture files into a HumanML3D-format folder (features, joints, texts, splits).",
        description=(
            "Import BVH files (any joint count and channel order) into a HumanML3D-format folder: resample to "
            "20 fps, retarget onto the 22-joint skeleton by joint names, detect the length unit and up axis, put "
            "the motion on the floor, write new_joint_vecs/, new_joints/, texts/, the split file and Mean/Std. "
            "Re-importing a file overwrites its clip; clips longer than 196 frames are cut into equal parts."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", type=Path, nargs="+", metavar="IN.bvh", help="BVH file(s) to import")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="HumanML3D-format folder to write")
    parser.add_argument(
        "--joint-map", type=Path, default=None, metavar="MAP.json", help="JSON map for rigs the built-in maps miss"
    )
    parser.add_argument(
        "--caption",
        default=None,
        help="caption written for every imported clip (default: a placeholder, 'a person moves')",
    )
    parser.add_argument(
        "--unit", choices=["auto", *UNITS], default="auto", help="length unit of the files (default: detect)"
    )
    parser.add_argument(
        "--up-axis", choices=["auto", *UP_AXES], default="auto", help="axis pointing up in the files (default: detect)"
    )
    parser.add_argument("--split", default="train", help="split file the new clip ids are appended to (default: train)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from motion_r1_verl.motion.sources.retarget import import_bvh_files, load_joint_map

    user_map = load_joint_map(args.joint_map) if args.joint_map is not None else None
    report = import_bvh_files(
        args.inputs,
        args.out,
        user_map=user_map,
        caption=args.caption,
        unit=args.unit,
        up_axis=args.up_axis,
        split=args.split,
    )
    for line in report.summaries:
        print(line)
    for path, reason in report.failed.items():
        print(f"failed {path}: {reason}", file=sys.stderr)
    for clip_id, reason in report.skipped.items():
        print(f"skipped {clip_id}: {reason}", file=sys.stderr)
    if args.caption is None:
        print("note: no --caption given; the clips carry the placeholder caption 'a person moves'")
    print(
        f"wrote {len(report.written)} clip(s) to {args.out} (split {args.split}); "
        f"{len(report.failed)} file(s) failed, {len(report.skipped)} too-short clip(s) skipped"
    )
    return 2 if report.failed else 0
