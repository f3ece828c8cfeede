"""An evaluator checkpoint with the official finest.tar layout, plus the GloVe folder, for tests."""

import shutil
from pathlib import Path

import numpy as np
import torch

from motion_r1_verl.retrieval.glove import load_plain_pickle

# Key names and shapes of the official finest.tar (EricGuo5513/text-to-motion networks/modules.py with the
# HumanML3D evaluator sizes: dim_pose 263 - 4 contacts, movement 512, motion hidden 1024, text hidden 512).
GRU = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _gru(hidden, inp):
    shapes = {}
    for suffix in ("", "_reverse"):
        shapes.update({f"gru.{n}{suffix}": (3 * hidden, inp if n.startswith("weight_ih") else hidden) for n in GRU[:2]})
        shapes.update({f"gru.{n}{suffix}": (3 * hidden,) for n in GRU[2:]})
    return shapes


def _head(hidden, out):
    return {
        "output_net.0.weight": (hidden, 2 * hidden),
        "output_net.0.bias": (hidden,),
        "output_net.1.weight": (hidden,),
        "output_net.1.bias": (hidden,),
        "output_net.3.weight": (out, hidden),
        "output_net.3.bias": (out,),
    }


OFFICIAL_SHAPES = {
    "movement_encoder": {
        "main.0.weight": (512, 259, 4),
        "main.0.bias": (512,),
        "main.3.weight": (512, 512, 4),
        "main.3.bias": (512,),
        "out_net.weight": (512, 512),
        "out_net.bias": (512,),
    },
    "motion_encoder": {
        "input_emb.weight": (1024, 512),
        "input_emb.bias": (1024,),
        "hidden": (2, 1, 1024),
        **_gru(1024, 1024),
        **_head(1024, 512),
    },
    "text_encoder": {
        "pos_emb.weight": (300, 15),
        "pos_emb.bias": (300,),
        "input_emb.weight": (512, 300),
        "input_emb.bias": (512,),
        "hidden": (2, 1, 512),
        **_gru(512, 512),
        **_head(512, 512),
    },
}


def make_official_files(root: Path, shared_data: Path) -> tuple[Path, Path, Path, dict]:
    """Write ``root/finest.tar`` (random weights, official keys) and ``root/glove`` (real word lists)."""
    gen = torch.Generator().manual_seed(0)
    ckpt = {
        part: {k: 0.05 * torch.randn(shape, generator=gen) for k, shape in shapes.items()}
        for part, shapes in OFFICIAL_SHAPES.items()
    }
    # the official file also carries optimizer states and counters
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))])
    ckpt.update({"opt_text_encoder": opt.state_dict(), "epoch": 120, "iter": 9000})
    torch.save(ckpt, root / "finest.tar")
    glove = root / "glove"
    glove.mkdir()
    for name in ("our_vab_words.pkl", "our_vab_idx.pkl"):
        shutil.copy(shared_data / "t2m_evaluator" / name, glove / name)
    n_words = len(load_plain_pickle(glove / "our_vab_words.pkl"))
    np.save(glove / "our_vab_data.npy", np.random.default_rng(0).normal(size=(n_words, 300)).astype(np.float32))
    return root / "finest.tar", glove, shared_data / "t2m_evaluator", ckpt
