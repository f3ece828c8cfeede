"""``motion-r1 export smpl`` end to end on the stand-in model, the mesh files it writes, and the SMPL mesh
mode of ``motion-r1 render``."""

import json
import struct

import numpy as np
import pytest
import trimesh

from motion_r1_verl.cli.main import main
from motion_r1_verl.motion.outputs.smpl.fit import SmplParams, smpl_joints, smpl_vertices
from motion_r1_verl.motion.outputs.smpl.mesh import export_mesh_sequence
from motion_r1_verl.motion.outputs.smpl.model_files import build_smpl

N = 12  # frames: the CLI path, not the fit quality, is under test here


@pytest.fixture(scope="module")
def exported(tmp_path_factory, synth_joints, matched_smpl_dir):
    out = tmp_path_factory.mktemp("export")
    np.save(out / "clip.npy", synth_joints[:N].astype(np.float32))
    argv = ["export", "smpl", str(out / "clip.npy"), "--smpl-model", str(matched_smpl_dir)]
    argv += ["--out", str(out / "clip_smpl.npz"), "--mesh", str(out / "clip.glb"), "--iters", "5"]
    assert main(argv) == 0
    return out


def test_export_writes_amass_params_that_reach_the_motion(exported, synth_joints, matched_smpl_dir, capsys):
    params = SmplParams.load(exported / "clip_smpl.npz")
    assert params.poses.shape == (N, 72) and params.trans.shape == (N, 3) and params.betas.shape == (10,)
    assert params.fps == 20.0 and params.gender == "neutral" and params.up_axis == "y"
    joints = smpl_joints(build_smpl(matched_smpl_dir), params)
    assert np.linalg.norm(joints - synth_joints[:N], axis=-1).max() < 5e-3


def _glb_json(path) -> dict:
    data = path.read_bytes()
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data))
    (json_length,) = struct.unpack("<I", data[12:16])
    return json.loads(data[20 : 20 + json_length])


def test_glb_is_an_animation_with_one_mesh_per_frame(exported, matched_smpl_dir):
    path = exported / "clip.glb"
    gltf = _glb_json(path)
    assert len(gltf["meshes"]) == N and len(gltf["animations"][0]["channels"]) == N
    scene = trimesh.load(path, force="scene")
    meshes = list(scene.geometry.values())
    assert len(meshes) == N
    model = build_smpl(matched_smpl_dir)
    expected = smpl_vertices(model, SmplParams.load(exported / "clip_smpl.npz"))
    first = meshes[0]
    assert first.vertices.shape == (6890, 3) and len(first.faces) == len(model.faces)
    assert any(np.allclose(m.vertices, expected[0], atol=1e-5) for m in meshes)


@pytest.mark.parametrize("fmt", ["obj", "ply"])
def test_per_frame_meshes(tmp_path, fmt):
    rng = np.random.default_rng(0)
    vertices = rng.normal(size=(3, 10, 3)).astype(np.float32)
    faces = np.array([[0, 1, 2], [2, 3, 4], [5, 6, 7]])
    paths = export_mesh_sequence(vertices, faces, tmp_path / "frames", fmt=fmt)
    assert [p.name for p in paths] == [f"frame_000{t}.{fmt}" for t in range(3)]
    mesh = trimesh.load(paths[2], process=False, maintain_order=True)  # keep unreferenced vertices
    np.testing.assert_allclose(mesh.vertices, vertices[2], atol=1e-5)
    np.testing.assert_array_equal(mesh.faces, faces)


def test_render_mesh_mode_png_and_gif(exported, matched_smpl_dir, capsys):
    params = ["--smpl-params", str(exported / "clip_smpl.npz"), "--smpl-model", str(matched_smpl_dir)]
    assert main(["render", *params, "--out", str(exported / "body.png"), "--frame", "3"]) == 0
    from PIL import Image

    image = np.asarray(Image.open(exported / "body.png").convert("RGB")).astype(int)
    bluish = (image[..., 2] > image[..., 0] + 30).mean()  # the shaded body colour
    assert 0.005 < bluish < 0.5
    assert main(["render", *params, "--out", str(exported / "body.gif")]) == 0
    assert Image.open(exported / "body.gif").n_frames == N
    assert f"({N} frames, SMPL mesh" in capsys.readouterr().out


def test_render_mesh_mode_errors(exported, capsys):
    code = main(["render", "--smpl-params", str(exported / "clip_smpl.npz"), "--out", str(exported / "x.png")])
    assert code == 2 and "--smpl-params needs --smpl-model" in capsys.readouterr().err
    assert main(["render", "--out", str(exported / "x.png")]) == 2
    assert "give a motion file IN.npy" in capsys.readouterr().err
