"""Chapter 3 self-checks: right answers pass, typical wrong ones fail with a hint."""

import torch
import torch.nn.functional as F

from convbook.check import ch03


def test_param_count():
    assert ch03.param_count((64 * 9 + 1) * 128)  # 73,856 by hand
    no_bias = ch03.param_count(64 * 9 * 128)
    assert not no_bias and "bias" in no_bias.message
    assert not ch03.param_count(9 * 128)
    assert not ch03.param_count(None)


def test_mac_count():
    assert ch03.mac_count(56 * 56 * 64 * 256)
    assert "number of weights" in ch03.mac_count(64 * 256).message
    assert not ch03.mac_count(56 * 56 * 64)
    assert not ch03.mac_count(None)


def test_bottleneck_params():
    standard = 256 * 256 * 9  # by hand
    bottleneck = 256 * 64 + 64 * 64 * 9 + 64 * 256
    assert ch03.bottleneck_params((standard, bottleneck))
    assert ch03.bottleneck_params([standard, bottleneck])
    assert "wrong way round" in ch03.bottleneck_params((bottleneck, standard)).message
    assert "256 × 256 × 3 × 3" in ch03.bottleneck_params((256 * 9, bottleneck)).message
    assert "add the three layers" in ch03.bottleneck_params((standard, 64 * 64 * 9)).message
    assert "pair of ints" in ch03.bottleneck_params(standard).message


def _blue(slice_):
    K = torch.zeros(3, 3, 3)
    K[2] = torch.tensor(slice_)
    return K


def test_blue_edge_kernel_accepts_row_differences_in_blue():
    assert ch03.blue_edge_kernel(_blue([[1.0, 1, 1], [0, 0, 0], [-1, -1, -1]]))
    assert ch03.blue_edge_kernel(_blue([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]])[None])  # Sobel y
    K = torch.zeros(3, 2, 1)
    K[2] = torch.tensor([[1.0], [-1.0]])  # the smallest one
    assert ch03.blue_edge_kernel(K.tolist())


def test_blue_edge_kernel_accepts_large_and_rectangular_kernels():
    for k in (7, 9, 64):
        K = torch.zeros(3, k, k)
        K[2, 0], K[2, -1] = 1.0, -1.0  # first row minus last row, in blue
        assert ch03.blue_edge_kernel(K), k
    K = torch.zeros(3, 6, 2)
    K[2, :3], K[2, 3:] = 1.0, -1.0  # top half minus bottom half, two columns wide
    assert ch03.blue_edge_kernel(K)
    K = torch.zeros(3, 6, 2)
    K[2, 0, 0], K[2, -1, 1] = 1.0, -1.0  # a diagonal: its columns do not sum to 0
    assert "vertical edge in blue" in ch03.blue_edge_kernel(K).message


def test_blue_edge_kernel_rejects():
    sobel_y = [[1.0, 2, 1], [0, 0, 0], [-1, -2, -1]]
    cases = {
        "sum to 0": _blue([[1.0, 1, 1], [0, 0, 0], [0, 0, 0]]),
        "vertical edge in blue": _blue([[2.0, 1, 0], [0, 0, 0], [0, -1, -2]]),  # diagonal
        "does not respond": torch.zeros(3, 3, 3),
        "in red": torch.stack([torch.tensor(sobel_y)] * 3),  # an edge in brightness
    }
    for hint, K in cases.items():
        result = ch03.blue_edge_kernel(K)
        assert not result and hint in result.message, (hint, result)
    K = torch.zeros(3, 3, 3)
    K[1] = torch.tensor(sobel_y)  # green, not blue
    assert "does not respond" in ch03.blue_edge_kernel(K).message
    assert "(3, k, k)" in ch03.blue_edge_kernel(torch.zeros(3, 3)).message
    assert "k from 1 to 64" in ch03.blue_edge_kernel(torch.zeros(4, 3, 3)).message
    assert "does not respond" in ch03.blue_edge_kernel(torch.zeros(3, 7, 7)).message
    too_large = ch03.blue_edge_kernel(torch.zeros(3, 65, 65))
    assert not too_large and "up to 64×64; yours has shape (3, 65, 65)" in too_large.message
    assert "replace None" in ch03.blue_edge_kernel(None).message


def test_im2col_entries():
    windows = 112 * 112  # (224 + 6 - 7) // 2 + 1 = 112 per axis, by hand
    assert ch03.im2col_entries(windows * 3 * 7 * 7)
    assert "stride 1" in ch03.im2col_entries(3 * 49 * 218 * 218).message
    assert "every one of the 3 channels" in ch03.im2col_entries(49 * windows).message
    assert not ch03.im2col_entries(3 * 224 * 224)  # the input itself
    assert not ch03.im2col_entries(True)


def _im2col(X, K):
    k_h, k_w = K.shape
    rows = F.unfold(X[None, None], (k_h, k_w))[0].T  # (windows, k_h * k_w)
    return (rows @ K.reshape(-1)).reshape(X.shape[0] - k_h + 1, X.shape[1] - k_w + 1)


def _kernel_matrix(X, K):
    """The other matrix view: the kernel as a (windows, pixels) matrix, times the input."""
    (n_h, n_w), (k_h, k_w) = X.shape, K.shape
    h, w = n_h - k_h + 1, n_w - k_w + 1
    W = torch.zeros(h * w, n_h * n_w, dtype=X.dtype)
    for i in range(h):
        for j in range(w):
            placed = torch.zeros(n_h, n_w, dtype=X.dtype)
            placed[i : i + k_h, j : j + k_w] = K
            W[i * w + j] = placed.reshape(-1)
    return (W @ X.reshape(-1)).reshape(h, w)


def test_corr2d_as_matmul_accepts_both_matrix_views():
    assert ch03.corr2d_as_matmul(_im2col)
    assert ch03.corr2d_as_matmul(_kernel_matrix)
    assert ch03.corr2d_as_matmul(lambda X, K: _im2col(X, K).reshape(-1))  # flat, row-major


def test_corr2d_as_matmul_rejects():
    flipped = ch03.corr2d_as_matmul(lambda X, K: _im2col(X, K.flip(0, 1)))
    assert not flipped and "flipped kernel" in flipped.message
    transposed = ch03.corr2d_as_matmul(lambda X, K: _im2col(X.T, K.T))
    assert not transposed and "swapped" in transposed.message  # the first case is square
    square_only = ch03.corr2d_as_matmul(lambda X, K: _im2col(X, K)[:2, :2])
    assert not square_only and "output is (5, 6)" in square_only.message  # X 6x8, K 2x3
    off = ch03.corr2d_as_matmul(lambda X, K: _im2col(X, K) + 1e-3)
    assert not off and "row-major" in off.message
    raises = ch03.corr2d_as_matmul(lambda X, K: X @ K)
    assert not raises and "fn raised RuntimeError" in raises.message
    assert "a function" in ch03.corr2d_as_matmul(None).message
    assert "finite numbers" in ch03.corr2d_as_matmul(lambda X, K: None).message
