"""``motion-r1 cot build`` end to end: oracle, rules and llm modes, resume after a kill, the cache."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from motion_r1_verl.cli.main import main

from .chat_server import ChatServer, Reply, caption_of, is_verification, steps_answer, verdict_answer
from .conftest import PLANS, write_dataset

ROW_KEYS = {"id", "caption", "think", "plan", "steps", "source", "status", "reason"}


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def llm_args(server, *extra: str) -> list[str]:
    return ["--base-url", server.base_url, "--model", "test-model", "--backoff", "0.01", "--no-progress", *extra]


def test_oracle_mode(tiny_data, tmp_path, capsys):
    out = tmp_path / "cot.jsonl"
    assert main(["cot", "build", "--data", str(tiny_data), "--mode", "oracle", "--out", str(out), "--no-progress"]) == 0
    rows = read_rows(out)
    # 4 (id, caption) items: the duplicated caption line of 000003 is kept once.
    assert [(r["id"], r["status"]) for r in rows] == [("000001", "ok"), ("000001", "ok"), ("000002", "ok"),
                                                      ("000003", "ok")]  # fmt: skip
    assert all(set(r) == ROW_KEYS and r["source"] == "oracle" for r in rows)
    assert rows[0]["steps"] == PLANS["000001"]
    assert rows[0]["plan"] == "1. walk forward 3 steps\n2. turn 90 degrees to the left\n3. wave the right hand 2 times"
    assert "4 rows, 4 ok" in capsys.readouterr().out
    assert not out.with_name("cot.jsonl.partial").exists()


def test_oracle_missing_plan_is_a_failed_row(tmp_path):
    data = write_dataset(tmp_path / "d", {"000001": ["walks"], "000009": ["runs"]}, {"000001": PLANS["000001"]})
    out = tmp_path / "cot.jsonl"
    assert main(["cot", "build", "--data", str(data), "--out", str(out), "--no-progress"]) == 0
    failed = [r for r in read_rows(out) if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["id"] == "000009" and "no plan" in failed[0]["reason"]
    assert failed[0]["think"] is None and failed[0]["steps"] == []


def test_rules_mode(tiny_data, tmp_path):
    out = tmp_path / "cot.jsonl"
    assert main(["cot", "build", "--data", str(tiny_data), "--mode", "rules", "--out", str(out), "--no-progress"]) == 0
    rows = read_rows(out)
    assert [[s["action"] for s in r["steps"]] for r in rows] == [
        ["walk", "turn", "wave"], ["walk", "turn", "wave"], ["squat", "jump"], ["kick"]
    ]  # fmt: skip
    assert all(r["source"] == "rules" and r["think"].startswith("The description") for r in rows)


def test_llm_mode_with_cache(tiny_data, tmp_path, chat_server, capsys):
    out = tmp_path / "cot.jsonl"
    argv = ["cot", "build", "--data", str(tiny_data), "--mode", "llm", "--out", str(out), "--max-tokens", "4096",
            *llm_args(chat_server)]  # fmt: skip
    assert main(argv) == 0
    rows = read_rows(out)
    assert len(rows) == 4 and all(r["status"] == "ok" and r["source"] == "llm" for r in rows)
    assert all(r["max_tokens"] == 4096 and r["model"] == "test-model" for r in chat_server.requests)
    meta = json.loads(out.with_name("cot.jsonl.meta.json").read_text())
    assert meta["prompt_version"] == "decompose-v1+verify-v1@min3" and meta["ok"] == 4
    # 4 distinct captions -> 4 decompositions + 4 verifications.
    assert len(chat_server.requests) == 8
    assert "requests=8" in capsys.readouterr().out
    # Rebuilding from scratch hits the SQLite cache: no new request.
    out.unlink()
    assert main(argv) == 0
    assert len(chat_server.requests) == 8 and read_rows(out) == rows
    assert "4 from the cache" in capsys.readouterr().out
    # Another model on the same output: the old rows are not reused, every caption is asked again.
    argv[argv.index("test-model")] = "other-model"
    assert main(argv) == 0
    assert len(chat_server.requests) == 16
    assert "0 reused" in capsys.readouterr().out


def test_llm_failures_are_recorded_and_transient_ones_retried(tiny_data, tmp_path):
    broken = {"down": True}

    def responder(req, i):
        if broken["down"]:
            return Reply(status=503)
        if is_verification(req):
            passed = "kicks" not in req["messages"][-1]["content"]
            return Reply(content=verdict_answer(passed, "ok" if passed else "kick side is wrong"))
        return Reply(content=steps_answer(caption_of(req)))

    out = tmp_path / "cot.jsonl"
    with ChatServer(responder) as server:
        argv = ["cot", "build", "--data", str(tiny_data), "--mode", "llm", "--out", str(out),
                *llm_args(server, "--max-retries", "0", "--max-regenerations", "1")]  # fmt: skip
        assert main(argv) == 0
        rows = read_rows(out)
        assert all(r["status"] == "failed" and r["reason"].startswith("request failed") for r in rows)
        broken["down"] = False  # the endpoint is back: a rerun retries transient failures only
        assert main(argv) == 0
        rows = read_rows(out)
        by_caption = {r["caption"]: r for r in rows}
        kick = by_caption["a man kicks quickly with his left leg."]
        assert (
            kick["status"] == "failed"
            and kick["reason"] == "verification failed: kick side is wrong (after 2 attempts)"
        )
        assert sum(r["status"] == "ok" for r in rows) == 3
        n_requests = len(server.requests)
        assert main(argv) == 0  # a verification failure is final: no new request
        assert len(server.requests) == n_requests


def test_refused_credentials_stop_the_run_in_one_line_and_never_reach_the_files(
    tiny_data, tmp_path, capsys, monkeypatch
):
    """HTTP 401 fails every request alike: exit 2 after the first, and the echoed key is nowhere on disk."""
    monkeypatch.setenv("MOTION_R1_LLM_API_KEY", "sk-secret-123")
    echo = Reply(status=401, raw=b'{"error": "bad key", "echo": "Authorization: Bearer sk-secret-123"}')
    out = tmp_path / "cot.jsonl"
    with ChatServer(lambda req, i: echo) as server:
        argv = ["cot", "build", "--data", str(tiny_data), "--mode", "llm", "--out", str(out),
                *llm_args(server, "--concurrency", "1")]  # fmt: skip
        assert main(argv) == 2
        assert len(server.requests) <= 2  # the one that failed and at most the one the free worker took next
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTTP 401" in err and "refused the API key" in err
    assert "sk-secret-123" not in err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"sk-secret-123" not in path.read_bytes(), path
    assert not out.exists()


def test_an_out_folder_or_a_malformed_prompt_fails_before_any_request(tiny_data, tmp_path, capsys):
    with ChatServer(lambda req, i: Reply(content="{}")) as server:
        (tmp_path / "folder").mkdir()
        argv = ["cot", "build", "--data", str(tiny_data), "--mode", "llm", *llm_args(server)]
        assert main([*argv, "--out", str(tmp_path / "folder")]) == 2
        assert "is a folder" in capsys.readouterr().err
        listed = tmp_path / "prompt.json"
        listed.write_text("[1, 2]")
        assert main([*argv, "--out", str(tmp_path / "o.jsonl"), "--prompt", str(listed)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "expected a JSON object" in err and str(listed) in err
        assert server.requests == []


def test_torn_journal_line_is_recomputed(tiny_data, tmp_path):
    out = tmp_path / "cot.jsonl"
    assert main(["cot", "build", "--data", str(tiny_data), "--mode", "rules", "--out", str(out), "--no-progress"]) == 0
    rows = read_rows(out)
    out.unlink()
    journal = out.with_name("cot.jsonl.partial")
    journal.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1])[:40])  # killed mid-write
    assert main(["cot", "build", "--data", str(tiny_data), "--mode", "rules", "--out", str(out), "--no-progress"]) == 0
    assert read_rows(out) == rows and not journal.exists()


@pytest.mark.slow
def test_killed_mid_run_resumes_with_one_row_per_caption(tmp_path):
    captions = {f"{i:06d}": [f"a person walks forward {i} steps and then waves the left hand."] for i in range(40)}
    data = write_dataset(tmp_path / "data", captions, None)
    out = tmp_path / "cot.jsonl"
    journal = out.with_name("cot.jsonl.partial")

    def slow(req, i):
        reply = verdict_answer(True) if is_verification(req) else steps_answer(caption_of(req))
        return Reply(content=reply, delay=0.05)

    with ChatServer(slow) as server:
        argv = ["cot", "build", "--data", str(data), "--mode", "llm", "--out", str(out), "--concurrency", "2",
                *llm_args(server)]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "MOTION_R1_LLM_API_KEY"} | {"OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "motion_r1_verl.cli.main", *argv], env=env)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                if journal.exists() and len(journal.read_text().splitlines()) >= 6:
                    break
                time.sleep(0.02)
            assert proc.poll() is None, "the build finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert not out.exists()
        done_before = {json.loads(line)["caption"] for line in journal.read_text().splitlines() if line.endswith("}")}
        assert 6 <= len(done_before) < 40
        n_before = len(server.decomposition_requests())

        assert main(argv) == 0
        rows = read_rows(out)
        assert sorted((r["id"], r["caption"]) for r in rows) == sorted((k, v[0]) for k, v in captions.items())
        assert all(r["status"] == "ok" for r in rows)
        # Captions finished before the kill were not asked again.
        asked_after = [caption_of(r) for r in server.decomposition_requests()[n_before:]]
        assert not done_before & set(asked_after)


@pytest.mark.parametrize("verb", [["cot", "build"], ["cot", "decompose"]])
def test_help(verb, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*verb, "--help"])
    assert exc.value.code == 0 and "example" in capsys.readouterr().out


def test_user_errors_exit_2(tmp_path, tiny_data, capsys, monkeypatch):
    assert main(["cot", "build", "--data", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["cot", "build", "--data", str(empty), "--mode", "rules"]) == 2
    assert "texts/" in capsys.readouterr().err
    monkeypatch.delenv("MOTION_R1_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("MOTION_R1_LLM_MODEL", raising=False)
    assert main(["cot", "build", "--data", str(tiny_data), "--mode", "llm"]) == 2
    assert "--base-url" in capsys.readouterr().err
    (tiny_data / "plans.jsonl").write_text("not json\n")
    assert main(["cot", "build", "--data", str(tiny_data), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "plans.jsonl:1" in capsys.readouterr().err


def test_decompose_verb(capsys):
    assert main(["cot", "decompose", "after squatting twice, a man jumps forward"]) == 0
    out = capsys.readouterr().out
    assert "<output>1. squat twice\n2. jump forward</output>" in out


def test_decompose_verb_llm(chat_server, capsys):
    assert main(["cot", "decompose", "a person claps then bows", "--mode", "llm", *llm_args(chat_server)[:-1]]) == 0
    out = capsys.readouterr().out
    assert '"attempts": 1' in out and "<output>1. clap\n2. bow</output>" in out
    assert len(chat_server.requests) == 2


def test_concurrency_is_bounded_and_real(tmp_path):
    captions = {f"{i:06d}": [f"a person jumps {i} times."] for i in range(12)}
    data = write_dataset(tmp_path / "data", captions, None)
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def responder(req, i):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return Reply(content=steps_answer(caption_of(req)))

    with ChatServer(responder) as server:
        argv = ["cot", "build", "--data", str(data), "--mode", "llm", "--out", str(tmp_path / "o.jsonl"),
                "--concurrency", "3", "--no-verify", *llm_args(server)]  # fmt: skip
        assert main(argv) == 0
    assert len(server.requests) == 12
    assert state["peak"] == 3  # never more than --concurrency, and actually that many at once


def test_crop_captions_get_the_plan_inside_their_window(tmp_path):
    data = write_dataset(tmp_path / "d", {"000001": ["walks then turns"]}, {"000001": PLANS["000001"]})
    with (data / "texts" / "000001.txt").open("a") as handle:
        handle.write("a person turns left and waves#a/DET#3.5#6.0\n")  # frames 70..120
    out = tmp_path / "cot.jsonl"
    assert main(["cot", "build", "--data", str(data), "--out", str(out), "--split", "train", "--no-progress"]) == 0
    whole, crop = read_rows(out)
    assert whole["id"] == "000001" and len(whole["steps"]) == 3
    assert crop["id"] == "000001@3.5-6.0"
    assert [(s["action"], s["start"], s["end"]) for s in crop["steps"]] == [("turn", 0, 10), ("wave", 10, 50)]
