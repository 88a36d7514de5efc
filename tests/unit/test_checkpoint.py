"""convbook.training.checkpoint: atomic writes, weights-only loading, RNG restore."""

from __future__ import annotations

import pickle

import pytest
import torch

from convbook.training import checkpoint as C


def small_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))


def test_round_trip_model_optimizer_history(tmp_path):
    model = small_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    hist = {"test_acc": [0.5, 0.625]}
    path = C.save_checkpoint(tmp_path / "sub" / "c.pt", model, opt, epoch=2, history=hist,
                             config={"model": "fast"})
    raw = torch.load(path, weights_only=True)  # only tensors and plain values inside
    assert raw["epoch"] == 2 and raw["history"] == hist and raw["config"] == {"model": "fast"}

    other = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt2 = torch.optim.SGD(other.parameters(), lr=0.1, momentum=0.9)
    C.load_checkpoint(path, other, opt2)
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)
    buf_a = opt.state_dict()["state"][0]["momentum_buffer"]
    assert torch.equal(buf_a, opt2.state_dict()["state"][0]["momentum_buffer"])


def test_rng_state_is_restored(tmp_path):
    model = small_model()
    torch.manual_seed(123)
    C.save_checkpoint(tmp_path / "c.pt", model)
    expected = torch.rand(3)
    torch.manual_seed(999)
    C.load_checkpoint(tmp_path / "c.pt", restore_rng=True)
    assert torch.equal(torch.rand(3), expected)


def test_failed_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    model = small_model()
    C.save_checkpoint(tmp_path / "c.pt", model, epoch=1)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        C.save_checkpoint(tmp_path / "c.pt", model, epoch=2)
    monkeypatch.undo()
    assert C.load_checkpoint(tmp_path / "c.pt")["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left


def test_code_in_a_checkpoint_is_refused(tmp_path, capsys):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"model": Evil()}, f, protocol=2)
    with pytest.raises(C.CheckpointError, match=r"evil\.pt is not a readable convbook checkpoint"):
        C.load_checkpoint(tmp_path / "evil.pt")
    assert "pwned" not in capsys.readouterr().out


def test_truncated_foreign_and_mismatched_checkpoints_name_the_file(tmp_path):
    model = small_model()
    path = C.save_checkpoint(tmp_path / "c.pt", model, epoch=1)
    raw = path.read_bytes()
    for n in (0, 10, len(raw) // 2, len(raw) - 1):
        (tmp_path / "cut.pt").write_bytes(raw[:n])
        with pytest.raises(C.CheckpointError, match=r"cut\.pt is not a readable convbook"):
            C.load_checkpoint(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(C.CheckpointError, match=r"foreign\.pt is not a convbook checkpoint"):
        C.load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(C.CheckpointError, match=r"c\.pt does not fit this model"):
        C.load_checkpoint(path, torch.nn.Linear(3, 5))
    with pytest.raises(C.CheckpointError, match="got the directory"):
        C.load_checkpoint(tmp_path)


def test_a_list_of_optimizers_round_trips(tmp_path):
    model = small_model()
    opts = [torch.optim.SGD([model[0].weight], lr=0.1, momentum=0.9),
            torch.optim.SGD([model[0].bias], lr=0.2, momentum=0.5)]
    model(torch.randn(5, 3)).sum().backward()
    for o in opts:
        o.step()
    C.save_checkpoint(tmp_path / "c.pt", model, opts, progress={"step": 3})
    other = small_model()
    opts2 = [torch.optim.SGD([other[0].weight], lr=0.1, momentum=0.9),
             torch.optim.SGD([other[0].bias], lr=0.2, momentum=0.5)]
    ck = C.load_checkpoint(tmp_path / "c.pt", other, opts2)
    assert ck["progress"] == {"step": 3}
    for a, b in zip(opts, opts2):
        assert torch.equal(a.state_dict()["state"][0]["momentum_buffer"],
                           b.state_dict()["state"][0]["momentum_buffer"])
    with pytest.raises(C.CheckpointError, match="holds 2 optimizer states, expected 1"):
        C.load_checkpoint(tmp_path / "c.pt", other, opts2[:1])


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        C.load_checkpoint("/nonexistent/c.pt")
