"""Checkpoints are atomic and verified; an interrupted run resumes to the same bits."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from helpers.checkpoint import (
    MAGIC,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from helpers.rng import make_generator
from helpers.train import train


class Evil:
    """An arbitrary class: unpickling it would run code from this module."""


def _squared(outputs, targets):
    return 0.5 * (outputs.reshape(-1) - targets) ** 2


def _problem():
    g = make_generator(5)
    X = torch.randn(32, 6, generator=g, dtype=torch.float64)
    y = torch.randn(32, generator=g, dtype=torch.float64)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    return model, X, y


def test_roundtrip_and_no_temporary_left(tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "a.ckpt", {"w": torch.arange(3.0), "k": [1, "x"]})
    state = load_checkpoint(path)
    assert torch.equal(state["w"], torch.arange(3.0)) and state["k"] == [1, "x"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.ckpt"]


def test_corruption_and_truncation_detected(tmp_path):
    path = save_checkpoint(tmp_path / "a.ckpt", {"w": torch.ones(100)})
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(path)
    good = save_checkpoint(tmp_path / "b.ckpt", {"w": torch.ones(100)})
    good.write_bytes(good.read_bytes()[:-50])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_checkpoint(good)
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        (tmp_path / "c.ckpt").write_bytes(b"hello")
        load_checkpoint(tmp_path / "c.ckpt")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.ckpt")


def test_untrusted_payload_is_refused(tmp_path):
    """A file with a valid header but a pickled object is not deserialised."""
    import hashlib
    import io

    buffer = io.BytesIO()
    torch.save({"x": Evil()}, buffer)
    payload = buffer.getvalue()
    path = tmp_path / "evil.ckpt"
    path.write_bytes(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    with pytest.raises(CheckpointError, match="deserialised safely"):
        load_checkpoint(path)


def test_save_rejects_unsafe_state(tmp_path):
    with pytest.raises(TypeError, match="weights_only"):
        save_checkpoint(tmp_path / "x.ckpt", {"f": object()})
    with pytest.raises(TypeError, match="mapping"):
        save_checkpoint(tmp_path / "x.ckpt", [1, 2])
    with pytest.raises(TypeError, match="path"):
        save_checkpoint(3, {})
    assert not (tmp_path / "x.ckpt").exists()


def test_resume_is_bit_for_bit(tmp_path):
    model, X, y = _problem()
    full = train(model, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                           generator=make_generator(1), checkpoint=tmp_path / "full.ckpt")
    reference = [p.detach().clone() for p in model.parameters()]

    model2, _, _ = _problem()
    path = tmp_path / "split.ckpt"
    first = train(model2, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                            generator=make_generator(1), checkpoint=path,
                            max_epochs_this_call=2)
    assert len(first.records) == 2
    model3, _, _ = _problem()  # a fresh process would rebuild the model from scratch
    resumed = train(model3, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                              generator=make_generator(1), checkpoint=path)
    for a, b in zip(reference, model3.parameters()):
        assert torch.equal(a, b)
    assert resumed.column("loss").tolist() == full.column("loss").tolist()
    assert resumed.column("epoch").tolist() == [1, 2, 3, 4, 5, 6]


def test_mismatched_run_refused(tmp_path):
    model, X, y = _problem()
    path = tmp_path / "r.ckpt"
    train(model, _squared, X, y, lr=0.05, epochs=2, batch_size=4,
                    generator=make_generator(0), checkpoint=path)
    with pytest.raises(CheckpointError, match="belongs to a run"):
        train(model, _squared, X, y, lr=0.05, epochs=3, batch_size=4,
                        generator=make_generator(0), checkpoint=path)


def test_bad_arguments(tmp_path):
    model, X, y = _problem()
    kwargs = {"lr": 0.1, "epochs": 2, "batch_size": 4, "generator": make_generator(0),
              "checkpoint": tmp_path / "x.ckpt"}
    with pytest.raises(ValueError, match="epochs"):
        train(model, _squared, X, y, **(kwargs | {"epochs": 0}))
    with pytest.raises(TypeError, match="generator"):
        train(model, _squared, X, y, **(kwargs | {"generator": None}))
    with pytest.raises(TypeError, match="checkpoint must be a str"):
        train(model, _squared, X, y, **(kwargs | {"checkpoint": 1}))
    with pytest.raises(ValueError, match="max_epochs_this_call"):
        train(model, _squared, X, y, **(kwargs | {"max_epochs_this_call": 0}))


SCRIPT = textwrap.dedent(
    """
    import sys, time, torch
    sys.path.insert(0, {tests!r})
    from test_checkpoint import _problem, _squared
    from helpers.train import train
    from helpers.rng import make_generator
    model, X, y = _problem()
    slow = {{"sleep": lambda m: time.sleep({sleep}) or 0.0}}
    train(model, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                    generator=make_generator(1), checkpoint={path!r}, metrics=slow)
    torch.save([p.detach() for p in model.parameters()], {out!r})
    """
)


def test_kill_and_resume_subprocess(tmp_path):
    """SIGKILL a run after its first checkpoint, rerun it, compare with an uninterrupted run."""
    ckpt, out = str(tmp_path / "k.ckpt"), str(tmp_path / "final.pt")
    tests = os.path.dirname(__file__)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(tests=tests, sleep=0.5,
                                                                 path=ckpt, out=out)], env=env)
    deadline = time.time() + 60
    while not os.path.exists(ckpt) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.path.exists(ckpt) and not os.path.exists(out), "the run was not killed midway"
    epochs_done = load_checkpoint(ckpt)["epoch"]
    assert 1 <= epochs_done < 6
    subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests, sleep=0.0, path=ckpt,
                                                        out=out)], env=env, check=True)
    model, X, y = _problem()
    train(model, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                    generator=make_generator(1), checkpoint=tmp_path / "ref.ckpt")
    for a, b in zip(model.parameters(), torch.load(out, weights_only=True)):
        assert torch.equal(a.detach(), b)


def test_schedule_resumes_bit_for_bit(tmp_path):
    """A step decay that changes mid-epoch, interrupted before and after the change."""
    from helpers.train import multistep

    # 32 examples, batch 5: 6 steps per epoch; decays after 15 updates (mid epoch 3),
    # 27 and 28 (both within epoch 5)
    schedule = multistep([15, 27, 28], 0.3)
    kwargs = {"lr": 0.05, "epochs": 6, "batch_size": 5, "schedule": schedule}
    model, X, y = _problem()
    full = train(model, _squared, X, y, generator=make_generator(1),
                           checkpoint=tmp_path / "full.ckpt", **kwargs)
    reference = [p.detach().clone() for p in model.parameters()]
    assert full.column("lr").tolist() == pytest.approx(
        [0.05, 0.05, 0.05 * 0.3, 0.05 * 0.3, 0.05 * 0.3**3, 0.05 * 0.3**3])

    path = tmp_path / "split.ckpt"
    for chunk in (2, 1, 3):          # three sessions, each rebuilding the model from scratch
        fresh, _, _ = _problem()
        resumed = train(fresh, _squared, X, y, generator=make_generator(1),
                                  checkpoint=path, max_epochs_this_call=chunk, **kwargs)
    for a, b in zip(reference, fresh.parameters()):
        assert torch.equal(a, b)
    assert resumed.records == full.records

    unscheduled, _, _ = _problem()   # the schedule is really applied
    train(unscheduled, _squared, X, y, lr=0.05, epochs=6, batch_size=5,
                    generator=make_generator(1), checkpoint=tmp_path / "plain.ckpt")
    assert not torch.equal(next(unscheduled.parameters()), reference[0])


def test_schedule_equals_phases_and_plain_train(tmp_path):
    """One scheduled call == the old emulation (one call per step-size phase) == train.train."""
    from helpers.train import multistep, train

    model, X, y = _problem()         # 32 examples, batch 4: 8 steps per epoch
    one = train(model, _squared, X, y, lr=0.05, epochs=6, batch_size=4,
                          generator=make_generator(2), checkpoint=tmp_path / "one.ckpt",
                          schedule=multistep([3 * 8, 5 * 8], 0.1))
    phased, _, _ = _problem()
    gen, losses = make_generator(2), []
    for phase, epochs in enumerate((3, 2, 1)):
        h = train(phased, _squared, X, y, lr=0.05 * 0.1**phase, epochs=epochs,
                            batch_size=4, generator=gen, checkpoint=tmp_path / f"{phase}")
        losses += h.column("loss").tolist()
    plain, _, _ = _problem()
    train(plain, _squared, X, y, lr=0.05, steps=48, batch_size=4, generator=make_generator(2),
          schedule=multistep([24, 40], 0.1), record_every=48)
    for a, b, c in zip(model.parameters(), phased.parameters(), plain.parameters()):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert one.column("loss").tolist() == losses


def test_one_evaluation_per_epoch_and_batchnorm_buffers(tmp_path):
    """Forward passes per epoch: one per SGD step plus one full-set evaluation; BN buffers
    then equal those of an uninterrupted train.train run (recording does not move them)."""
    from helpers.train import train

    g = make_generator(3)
    X = torch.randn(24, 4, generator=g, dtype=torch.float64)
    y = torch.randn(24, generator=g, dtype=torch.float64)

    def bn_model():
        net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6),
                                  torch.nn.ReLU(), torch.nn.Linear(6, 1)).double()
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(0.5 * torch.randn(p.shape, generator=make_generator(4),
                                          dtype=torch.float64))
        return net

    net, calls = bn_model(), []
    net.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    train(net, _squared, X, y, lr=0.1, epochs=3, batch_size=8,
                    generator=make_generator(5), checkpoint=tmp_path / "bn.ckpt",
                    eval_batch_size=16)
    assert calls == [8, 8, 8, 16, 8] * 3     # 3 steps, then the evaluation in chunks 16 + 8
    ref = bn_model()
    train(ref, _squared, X, y, lr=0.1, steps=9, batch_size=8, generator=make_generator(5),
          record_every=9, record_initial=False)
    a, b = net.state_dict(), ref.state_dict()
    for key in a:                             # weights and running statistics
        assert torch.equal(a[key], b[key]), key


def test_bad_schedule_and_eval_batch_size(tmp_path):
    model, X, y = _problem()
    kwargs = {"lr": 0.1, "epochs": 2, "batch_size": 4, "generator": make_generator(0),
              "checkpoint": tmp_path / "x.ckpt"}
    with pytest.raises(TypeError, match="schedule must be callable"):
        train(model, _squared, X, y, schedule=0.1, **kwargs)
    with pytest.raises(ValueError, match="eval_batch_size"):
        train(model, _squared, X, y, eval_batch_size=0, **kwargs)
    with pytest.raises(ValueError, match=r"schedule\(11\) must be a finite"):  # global step
        train(model, _squared, X, y, schedule=lambda t: -1.0 if t > 10 else 1.0,
                        **kwargs)


# --------------------------------------------------------------------------- atomic writes

WRITER = textwrap.dedent(
    """
    import resource, signal, sys, tempfile, torch
    from pathlib import Path
    from helpers.checkpoint import save_checkpoint
    mode, path, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    save_checkpoint(Path(tempfile.mkdtemp()) / "warm.ckpt", {"w": torch.ones(3)})  # lazy imports
    if mode == "kill":   # default action of SIGXFSZ: the process dies inside write(), no cleanup
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    save_checkpoint(path, {"epoch": 2, "w": torch.arange(2**20, dtype=torch.float64)})  # 8 MiB
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE (POSIX)")
@pytest.mark.parametrize("mode", ["kill", "error"])
def test_writer_stopped_mid_write_keeps_previous_checkpoint(tmp_path, mode):
    """The file-size limit stops the writer after exactly ``limit`` bytes of the new checkpoint:
    killed there by SIGXFSZ ("kill", no Python cleanup runs) or failing with EFBIG ("error").
    The previous checkpoint must be intact, byte for byte, and load; an in-place write would
    have left the first ``limit`` bytes of the new one instead."""
    path = save_checkpoint(tmp_path / "a.ckpt", {"epoch": 1, "w": torch.zeros(10)})
    before = path.read_bytes()
    limit = 2**20
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", WRITER, mode, str(path), str(limit)],
                            env=env, capture_output=True, text=True, timeout=120)
    if mode == "kill":
        assert result.returncode == -signal.SIGXFSZ, result.stderr
    else:
        assert result.returncode == 1 and "File too large" in result.stderr, result.stderr
    assert path.read_bytes() == before
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.zeros(10))
    others = sorted(p for p in tmp_path.iterdir() if p != path)
    if mode == "kill":   # the killed write is the partial temporary file, never the checkpoint
        assert [p.name.startswith("a.ckpt.") and p.suffix == ".tmp" for p in others] == [True]
        assert others[0].stat().st_size == limit
    else:                # a failed write removes its temporary file
        assert others == []


def test_failure_before_rename_keeps_previous_checkpoint(tmp_path, monkeypatch):
    """A crash between the write and the rename: old checkpoint intact, no temporary left."""
    path = save_checkpoint(tmp_path / "a.ckpt", {"epoch": 1})
    before = path.read_bytes()

    def crash(src, dst):
        assert Path(src).stat().st_size > 0 and Path(dst) == path   # written, not yet renamed
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(path, {"epoch": 2, "w": torch.ones(1000)})
    assert path.read_bytes() == before and load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ckpt"]


def test_crash_while_saving_an_epoch_resumes_bit_for_bit(tmp_path, monkeypatch):
    """train(checkpoint=...) interrupted while writing epoch 3's checkpoint: epoch 2's survives and
    the rerun ends with the weights of an uninterrupted run."""
    model, X, y = _problem()
    kwargs = {"lr": 0.05, "epochs": 4, "batch_size": 5}
    train(model, _squared, X, y, generator=make_generator(1),
                    checkpoint=tmp_path / "ref.ckpt", **kwargs)
    path = tmp_path / "run.ckpt"
    real_replace, calls = os.replace, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError("simulated crash while saving epoch 3")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    fresh, _, _ = _problem()
    with pytest.raises(OSError, match="epoch 3"):
        train(fresh, _squared, X, y, generator=make_generator(1), checkpoint=path,
                        **kwargs)
    monkeypatch.setattr(os, "replace", real_replace)
    assert load_checkpoint(path)["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.ckpt", "run.ckpt"]
    fresh, _, _ = _problem()
    resumed = train(fresh, _squared, X, y, generator=make_generator(1),
                              checkpoint=path, **kwargs)
    assert resumed.column("epoch").tolist() == [1, 2, 3, 4]
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert torch.equal(a, b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.ckpt", "run.ckpt"]


# --------------------------------------------------------------------------- format versions


def test_version_1_files_are_refused(tmp_path):
    import hashlib
    import io

    buffer = io.BytesIO()
    torch.save({"epoch": 1, "epochs": 2, "batch_size": 4}, buffer)
    payload = buffer.getvalue()
    old = tmp_path / "v1.ckpt"
    old.write_bytes(b"NNBOOK-CHECKPOINT-v1\n" + hashlib.sha256(payload).hexdigest().encode()
                    + b"\n" + payload)
    assert MAGIC == b"NNBOOK-CHECKPOINT-v2\n"
    with pytest.raises(CheckpointError, match="format v1.*no run fingerprint.*delete it"):
        load_checkpoint(old)
    model, X, y = _problem()
    with pytest.raises(CheckpointError, match="format v1"):
        train(model, _squared, X, y, lr=0.05, epochs=2, batch_size=4,
                        generator=make_generator(0), checkpoint=old)


def test_checkpoint_without_fingerprint_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "plain.ckpt", {"epoch": 1, "model": {}})
    model, X, y = _problem()
    with pytest.raises(CheckpointError, match="no run fingerprint"):
        train(model, _squared, X, y, lr=0.05, epochs=2, batch_size=4,
                        generator=make_generator(0), checkpoint=path)


# --------------------------------------------------------------------------- run fingerprint


def _squared_copy(outputs, targets):
    """The same loss under another name (the fingerprint knows names, not code)."""
    return 0.5 * (outputs.reshape(-1) - targets) ** 2


def _variant(change: str):
    """(model, X, y, kwargs) of the base run (4 epochs of 6 steps, step size decayed after 15
    updates) with one thing changed."""
    from helpers.train import multistep

    model, X, y = _problem()
    kwargs = {"loss_fn": _squared, "lr": 0.05, "epochs": 4, "batch_size": 5,
              "schedule": multistep([15], 0.3),
              "metrics": None, "eval_batch_size": None, "generator": make_generator(1)}
    if change == "lr":
        kwargs["lr"] = 0.05 + 1e-9
    elif change == "schedule":
        kwargs["schedule"] = multistep([15], 0.5)
    elif change == "schedule milestone":
        kwargs["schedule"] = multistep([16], 0.3)
    elif change == "no schedule":
        kwargs["schedule"] = None
    elif change == "X":
        X = X.clone()
        X[7, 3] = torch.nextafter(X[7, 3], torch.tensor(math.inf, dtype=X.dtype))  # one ulp
    elif change == "y":
        y = y.clone()
        y[0] = -y[0]
    elif change == "width":
        g = make_generator(5)
        model = torch.nn.Sequential(torch.nn.Linear(6, 17), torch.nn.Tanh(),
                                    torch.nn.Linear(17, 1)).double()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    elif change == "activation":
        model[1] = torch.nn.ReLU()
    elif change == "initial weights":
        with torch.no_grad():
            model[0].weight[0, 0] += 1e-3      # e.g. another initialisation seed
    elif change == "generator":
        kwargs["generator"] = make_generator(2)
    elif change == "loss":
        kwargs["loss_fn"] = _squared_copy
    elif change == "metrics":
        kwargs["metrics"] = {"norm": lambda m: float(m[0].weight.norm())}
    elif change == "eval_batch_size":
        kwargs["eval_batch_size"] = 8
    elif change == "batch_size":
        kwargs["batch_size"] = 4
    elif change == "epochs":
        kwargs["epochs"] = 5
    elif change == "dtype":
        model, X, y = model.float(), X.float(), y.float()
    else:
        assert change == "none", change
    return model, X, y, kwargs


# change -> what the refusal must name
REFUSALS = {
    "lr": r"lr \(0\.05 in the checkpoint, 0\.050000001 in this call\)",
    "schedule": r"schedule \(lr multiplier, first at global step 15: 0\.3 in the checkpoint, 0\.5 ",
    "schedule milestone": r"schedule \(lr multiplier, first at global step 15: 0\.3 in the "
                          r"checkpoint, 1 in this call",
    "no schedule": r"schedule \(lr multiplier, first at global step 15: 0\.3 in the "
                   r"checkpoint, 1 in this call",
    "X": r"X \('\(32, 6\) torch\.float64 sha256:",
    "y": r"y \('\(32,\) torch\.float64 sha256:",
    "width": r"model architecture \(entry 1: .*out_features=16.* in the checkpoint, "
             r".*out_features=17",
    "activation": r"model architecture \(entry 2: .*Tanh.* in the checkpoint, .*ReLU",
    "initial weights": r"model weights \(neither the run's initial weights",
    "generator": r"generator state \(neither the run's initial state",
    "loss": r"loss_fn \('test_checkpoint\._squared' in the checkpoint, "
            r"'test_checkpoint\._squared_copy' in this call\)",
    "metrics": r"metrics \(\[\] in the checkpoint, \['norm'\] in this call\)",
    "eval_batch_size": r"eval_batch_size \(None in the checkpoint, 8 in this call\)",
    "batch_size": r"batch_size \(5 in the checkpoint, 4 in this call\)",
    "epochs": r"epochs \(4 in the checkpoint, 5 in this call\)",
    "dtype": r"X \('\(32, 6\) torch\.float64 .*torch\.float32",
}


@pytest.mark.parametrize("change", sorted(REFUSALS))
def test_resume_of_a_different_run_is_refused(tmp_path, change):
    model, X, y, kwargs = _variant("none")
    path = tmp_path / "run.ckpt"
    loss_fn = kwargs.pop("loss_fn")
    train(model, loss_fn, X, y, checkpoint=path, max_epochs_this_call=2, **kwargs)
    before = path.read_bytes()
    model, X, y, kwargs = _variant(change)
    loss_fn = kwargs.pop("loss_fn")
    with pytest.raises(CheckpointError, match="belongs to a run that differs") as err:
        train(model, loss_fn, X, y, checkpoint=path, **kwargs)
    assert re.search(REFUSALS[change], str(err.value)), str(err.value)
    assert path.read_bytes() == before                 # refused before touching anything


def test_refusal_lists_every_difference(tmp_path):
    model, X, y, kwargs = _variant("none")
    path = tmp_path / "run.ckpt"
    train(model, _squared, X, y, checkpoint=path, max_epochs_this_call=1,
                    **{k: v for k, v in kwargs.items() if k != "loss_fn"})
    model, X, y, kwargs = _variant("none")
    kwargs |= {"lr": 0.1, "eval_batch_size": 8}
    with pytest.raises(CheckpointError) as err:
        train(model, _squared_copy, X, y, checkpoint=path,
                        **{k: v for k, v in kwargs.items() if k != "loss_fn"})
    message = str(err.value)
    assert all(word in message for word in ("lr (", "eval_batch_size (", "loss_fn ("))
    assert "delete the file" in message


def test_equivalent_calls_resume(tmp_path):
    """What does not change the computation does not block a resume: no schedule == constant
    schedule 1, eval_batch_size None == eval_batch_size >= n; the same model and generator
    objects may continue (their state is then the checkpoint's), and a fresh process after
    that still resumes (the checkpoint keeps the run's own start)."""
    model, X, y = _problem()
    kwargs = {"lr": 0.05, "epochs": 4, "batch_size": 5}
    reference = train(model, _squared, X, y, generator=make_generator(1),
                                checkpoint=tmp_path / "r.ckpt", **kwargs)
    path = tmp_path / "run.ckpt"
    fresh, _, _ = _problem()
    train(fresh, _squared, X, y, generator=make_generator(1), checkpoint=path,
                    max_epochs_this_call=1, **kwargs)
    again, _, _ = _problem()
    gen = make_generator(1)
    train(again, _squared, X, y, generator=gen, checkpoint=path,
                    max_epochs_this_call=1, schedule=lambda t: 1.0, eval_batch_size=32, **kwargs)
    train(again, _squared, X, y, generator=gen, checkpoint=path,
                    max_epochs_this_call=1, **kwargs)          # same objects, continuing
    last, _, _ = _problem()                                    # a fresh process again
    resumed = train(last, _squared, X, y, generator=make_generator(1),
                              checkpoint=path, **kwargs)
    assert resumed.records == reference.records
    for a, b in zip(model.parameters(), last.parameters()):
        assert torch.equal(a, b)
