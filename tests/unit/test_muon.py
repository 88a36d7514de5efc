"""convbook.training.muon: Newton–Schulz orthogonalisation and the Muon optimizer."""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from convbook.training.muon import Muon, orthogonalize

#: the unit roundoff of each dtype the iteration runs in: half the gap between 1 and the next
#: number (bfloat16 keeps 8 significant bits, float32 24)
ROUNDOFF = {torch.bfloat16: 2.0**-8, torch.float32: 2.0**-24}


def drift_bound(steps: int, dtype: torch.dtype) -> float:
    """How far rounding can move ``orthogonalize``'s result off ``G``'s singular basis.

    Scaling ``G`` to norm 1 and rounding it to ``dtype`` moves it by at most the unit roundoff
    ``u``.  Each Newton-Schulz step X ← aX + (bA + cA²)X, A = XXᵀ, rounds ``A``, ``bA + cA²``
    and the sum to ``dtype``: with every singular value of ``X`` at most 1 (the iteration
    keeps them below about 1.2) its terms are at most ``|a|``, ``|b|`` and ``|c|`` in size,
    so a step adds an error of at most about ``(|a| + |b| + |c|)·u`` and ``steps`` steps add
    up to ``steps`` times that.  The sum of a step is about 1 while its terms are up to 3.4
    and 4.8 (they cancel), which is why the error is some ten times ``u`` per step and not
    ``u``: 0.04 a step in bfloat16.
    """
    a, b, c = 3.4445, -4.7750, 2.0315
    return ROUNDOFF[dtype] * (1 + steps * (abs(a) + abs(b) + abs(c)))


@given(m=st.integers(2, 40), n=st.integers(2, 40), seed=st.integers(0, 10_000),
       scale=st.floats(1e-3, 1e3), steps=st.integers(1, 5),
       dtype=st.sampled_from([torch.bfloat16, torch.float32]))
@example(m=22, n=2, seed=500, scale=853.25, steps=5, dtype=torch.bfloat16)  # off-diagonal 0.108
def test_orthogonalize_keeps_the_singular_vectors_and_evens_the_values(m, n, seed, scale, steps,
                                                                        dtype):
    g = torch.Generator().manual_seed(seed)
    G = torch.randn(m, n, generator=g, dtype=torch.float64) * scale
    U, S, Vh = torch.linalg.svd(G, full_matrices=False)
    X = orthogonalize(G.float(), steps=steps, dtype=dtype).double()
    assert X.shape == (m, n)
    # X = U diag(s') Vᵀ: in G's singular basis it is diagonal, up to rounding ...
    D = U.T @ X @ Vh.T
    off = D - torch.diag(torch.diagonal(D))
    assert off.abs().max() <= drift_bound(steps, dtype)
    # ... with singular values pulled towards 1 (exactly 1 would need many more steps);
    # the smallest ones are pulled up less, so check those that are not tiny
    if steps >= 3:
        s = torch.diagonal(D)
        big = S / S[0] > 0.05
        assert ((s[big] > 0.3) & (s[big] < 1.6)).all()


def test_the_drift_bound_is_no_looser_than_it_must_be():
    """Over many random matrices the drift comes within a factor of 10 of the bound in
    bfloat16 (so the bound says how large the error really gets: 0.23 of it here, and 0.54
    in the example above), and in float32 it stays as small as float32's bound says,
    65,536 times smaller."""
    g = torch.Generator().manual_seed(1)
    worst = {torch.bfloat16: 0.0, torch.float32: 0.0}
    for _ in range(40):
        m, n = (int(v) for v in torch.randint(2, 41, (2,), generator=g))
        G = torch.randn(m, n, generator=g, dtype=torch.float64)
        U, _, Vh = torch.linalg.svd(G, full_matrices=False)
        for dtype in worst:
            D = U.T @ orthogonalize(G.float(), steps=5, dtype=dtype).double() @ Vh.T
            off = (D - torch.diag(torch.diagonal(D))).abs().max().item()
            worst[dtype] = max(worst[dtype], off / drift_bound(5, dtype))
    assert 0.1 < worst[torch.bfloat16] <= 1
    assert worst[torch.float32] <= 1


def test_orthogonalize_is_scale_free_and_maps_zero_to_zero():
    G = torch.randn(8, 20)
    torch.testing.assert_close(orthogonalize(G).float(), orthogonalize(1000 * G).float(),
                               atol=5e-2, rtol=0)  # bfloat16
    assert torch.equal(orthogonalize(torch.zeros(3, 4)).float(), torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"G must be a 2D \(m, n\) tensor, got a 3D tensor"):
        orthogonalize(torch.zeros(2, 3, 4))


def test_one_muon_step_by_hand():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(4, 2, 3, 3))
    grad = torch.randn(4, 2, 3, 3)
    start = w.detach().clone()
    opt = Muon([w], lr=0.1, momentum=0.5, nesterov=True)
    w.grad = grad.clone()
    opt.step()
    # momentum buffer m = g; Nesterov direction g + 0.5·m = 1.5 g; weight rescaled to norm 2
    direction = orthogonalize((1.5 * grad).reshape(4, -1)).float().reshape(4, 2, 3, 3)
    expected = start * (2 / start.norm()) - 0.1 * direction
    torch.testing.assert_close(w.detach(), expected, atol=1e-6, rtol=0)


def test_muon_refuses_vectors_and_bad_settings():
    with pytest.raises(ValueError, match=r"params must be weights with 2 or more dimensions"):
        Muon([torch.nn.Parameter(torch.zeros(3))])
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1"):
        Muon([torch.nn.Parameter(torch.zeros(3, 3))], momentum=1)
    with pytest.raises(ValueError, match="lr must be a finite number, got nan"):
        Muon([torch.nn.Parameter(torch.zeros(3, 3))], lr=float("nan"))


def test_orthogonalize_in_float32_agrees_with_bfloat16_and_is_more_exact():
    g = torch.Generator().manual_seed(0)
    G = torch.randn(16, 40, generator=g)
    x32, x16 = orthogonalize(G, dtype=torch.float32), orthogonalize(G, dtype=torch.bfloat16)
    assert x32.dtype == torch.float32 and x16.dtype == torch.bfloat16
    torch.testing.assert_close(x16.float(), x32, atol=5e-2, rtol=0)
    # the same iteration in float64 is the reference: float32 is much closer to it
    ref = orthogonalize(G.double().float(), dtype=torch.float32, steps=3).double()
    X = G.double() / (G.double().norm() + 1e-7)
    for _ in range(3):
        A = X @ X.T
        X = 3.4445 * X + (-4.7750 * A + 2.0315 * A @ A) @ X
    assert (ref - X).abs().max() < 1e-4 < (x16.double() - X).abs().max()
    with pytest.raises(TypeError, match=r"dtype must be torch\.bfloat16 or torch\.float32"):
        orthogonalize(G, dtype=torch.float16)


def test_muon_orthogonalises_in_its_dtype():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(4, 2, 3, 3))
    grad = torch.randn(4, 2, 3, 3)
    start = w.detach().clone()
    opt = Muon([w], lr=0.1, momentum=0.5, nesterov=True, dtype=torch.float32)
    assert opt.dtype == torch.float32 and "dtype" not in opt.state_dict()["param_groups"][0]
    w.grad = grad.clone()
    opt.step()
    direction = orthogonalize((1.5 * grad).reshape(4, -1), dtype=torch.float32)
    expected = start * (2 / start.norm()) - 0.1 * direction.reshape(4, 2, 3, 3)
    torch.testing.assert_close(w.detach(), expected, atol=1e-6, rtol=0)
