"""``motion-r1 data check DIR``: list every problem in a HumanML3D-format folder.

Prints one line per problem (``<relative path>: <reason>``) and a summary line; exit code 0 when
the folder is clean, 2 otherwise. See ``motion_r1_verl.motion.core.check`` for what is checked.
"""

import argparse
import sys
from pathlib import Path

EPILOG = """example:
  motion-r1 data check runs/quickstart/data
  # new_joint_vecs/000007.npy: NaN values in 3 frame(s) (first at frame 12)
  # texts/000009.txt: bad line 2: expected 4 '#'-separated fields 'caption#tokens#start#end', got 2
  # FAILED runs/quickstart/data: 64 clips (train 48, val 8, test 8); ...; 2 problems in 2 files
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="Validate a HumanML3D-format folder and list every bad file with the reason.",
        description=(
            "Validate a HumanML3D-format folder (new_joint_vecs/, new_joints/, texts/, split files, "
            "Mean.npy/Std.npy). Lists every problem, one per line, then a summary; exit 0 if clean, 2 otherwise."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "dir", type=Path, metavar="DIR", help="the folder to check (contains new_joint_vecs/, texts/, ...)"
    )
    parser.add_argument("--progress", action="store_true", help="show a progress bar while reading feature files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from motion_r1_verl.motion.core.check import check_folder

    result = check_folder(args.dir, progress=args.progress)
    for problem in result.problems:
        print(problem)
    print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 2
