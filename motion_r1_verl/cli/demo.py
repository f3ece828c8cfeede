"""``motion-r1 demo --model DIR``: a local web demo (Gradio): caption in, reasoning, plan and a 3D motion out."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from motion_r1_verl.errors import UserError
from motion_r1_verl.protocol import REASONING_CHOICES

EXAMPLE = """examples:
  motion-r1 demo --model runs/quickstart/grpo-merged            # http://127.0.0.1:7860
  motion-r1 demo --model runs/sft-merged --codec runs/vq --port 8000 --temperature 0.7

Each answer's files (features and joints .npy, BVH, mp4) go to --out/<answer number>/ and are offered as
downloads. The page is served on 127.0.0.1 only unless --host says otherwise; there is no share link.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="a local web demo of a trained model: caption -> reasoning, plan, 3D motion, downloads",
        description="Load a merged Motion-R1 model once and serve a Gradio page: type a caption, get the "
        "<think> reasoning, the <output> plan and the decoded motion as an animated 3D skeleton, with the "
        "features, joints, BVH and mp4 to download. A response without a usable motion span is re-sampled "
        "(--retries); when every attempt fails the page says why and the next press uses the next seed.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, type=Path, help="merged HF model folder (with motion_vocab.json)")
    p.add_argument("--codec", type=Path, default=None, help="VQ checkpoint (default: the one in motion_vocab.json)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--out", type=Path, default=None, help="folder for the answers' files (default: a temp folder)")
    p.add_argument("--temperature", type=float, default=1.0, help="initial sampling temperature (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="initial seed; each press moves it on (default 0)")
    p.add_argument("--retries", type=int, default=2, help="re-samples of a malformed response (default 2)")
    p.add_argument("--max-new-tokens", type=int, default=768, help="token budget per response (default 768)")
    p.add_argument("--backend", choices=("auto", "hf", "vllm"), default="auto", help="auto: vLLM if GPU+vLLM, else hf")
    p.add_argument("--device", default=None, help="torch device for hf and the codec (default cuda if available)")
    p.add_argument(
        "--reasoning",
        choices=REASONING_CHOICES,
        default="think+output",
        help="the response layout the model was fine-tuned on (picks its system prompt; default think+output)",
    )
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("gradio") is None:
        raise UserError("the demo needs Gradio: pip install 'motion-r1-verl[demo]'")
    from motion_r1_verl.generate import GenerateConfig
    from motion_r1_verl.view.demo import DemoConfig, MotionDemo

    generate = GenerateConfig(
        retries=args.retries,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
        backend=args.backend,
        device=args.device,
        reasoning=args.reasoning,
    )
    demo = MotionDemo(args.model, args.codec, DemoConfig(generate=generate, out_dir=args.out))
    print(f"motion-r1 demo: serving {args.model} on http://{args.host}:{args.port} (Ctrl+C stops it)")
    print(f"  answers' files in {demo.out_dir}")
    demo.launch(args.host, args.port)
    return 0
