"""Classic image-processing kernels, as float tensors ready for cross-correlation.

Every kernel here is applied by *cross-correlation* (``corr2d``, ``F.conv2d``), so
``sobel_x`` responds positively where the image gets brighter from left to right.

=================  =========================================  ===========
kernel             what it does                                sums to
=================  =========================================  ===========
``identity``       copies the image                            1
``box_blur``       mean of the window                          1
``gaussian_blur``  weighted mean, nearer pixels count more     1
``sharpen``        image plus its difference from neighbours   1
``sobel_x``        horizontal derivative: vertical edges       0
``sobel_y``        vertical derivative: horizontal edges       0
``laplacian``      second derivative: edges in any direction   0
``emboss``         directional derivative plus the image       1
=================  =========================================  ===========
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import torch

from convbook._args import check_int, check_positive_float

#: The largest kernel side the builders make (a kernel larger than any image in the book).
MAX_SIZE = 1024


def _size(size: object) -> int:
    return check_int(size, "size", minimum=1, maximum=MAX_SIZE)


def identity(size: int = 3) -> torch.Tensor:
    """``(size, size)`` kernel with a single 1 at the centre (top-left of centre if even)."""
    size = _size(size)
    K = torch.zeros(size, size)
    K[(size - 1) // 2, (size - 1) // 2] = 1.0
    return K


def box_blur(size: int = 3) -> torch.Tensor:
    """``(size, size)`` kernel of equal weights ``1 / size**2``: the mean of each window."""
    size = _size(size)
    return torch.full((size, size), 1.0 / size**2)


def gaussian_1d(size: int = 3, sigma: float = 1.0) -> torch.Tensor:
    """``(size,)`` samples of ``exp(-x**2 / (2 sigma**2))``, x the offset from the centre.

    Normalized to sum to 1.
    """
    size = _size(size)
    sigma = check_positive_float(sigma, "sigma")
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return (g / g.sum()).float()


def gaussian_blur(size: int = 3, sigma: float = 1.0) -> torch.Tensor:
    """``(size, size)`` Gaussian kernel: the outer product of two :func:`gaussian_1d`.

    Because it is an outer product, the blur is *separable*: a column pass followed by a
    row pass gives the same result with ``2 * size`` instead of ``size**2`` products.
    """
    g = gaussian_1d(size, sigma)
    return torch.outer(g, g)


def sharpen() -> torch.Tensor:
    """``(3, 3)``: the centre pixel plus its excess over its four neighbours."""
    return torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])


def sobel_x() -> torch.Tensor:
    """``(3, 3)`` Sobel kernel for the horizontal derivative (finds vertical edges)."""
    return torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_y() -> torch.Tensor:
    """``(3, 3)`` Sobel kernel for the vertical derivative (finds horizontal edges)."""
    return sobel_x().t().contiguous()


def laplacian() -> torch.Tensor:
    """``(3, 3)`` discrete Laplacian ``d²/dx² + d²/dy²`` (four-neighbour version)."""
    return torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def emboss() -> torch.Tensor:
    """``(3, 3)`` emboss: a diagonal derivative plus the image, so it looks lit from a corner."""
    return torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])


#: Builders of kernels that exist in any size; the others are 3x3 only.
RESIZABLE: dict[str, Callable[[int], torch.Tensor]] = {
    "identity": identity,
    "box_blur": box_blur,
    "gaussian_blur": lambda size: gaussian_blur(size, sigma=max(size / 3, 0.5)),
}

class _Presets(Mapping[str, torch.Tensor]):
    """A read-only ``{name: kernel}`` mapping that builds a new tensor on every lookup, so
    that changing a kernel taken from it never changes what the next caller gets."""

    def __init__(self, builders: dict[str, Callable[[], torch.Tensor]]) -> None:
        self._builders = builders

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._builders:
            raise KeyError(f"unknown kernel {name!r}; choose one of {', '.join(self._builders)}")
        return self._builders[name]()

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)

    def __repr__(self) -> str:
        return f"PRESETS({', '.join(self._builders)})"


#: Named ``(3, 3)`` kernels, in the order the kernel editor lists them; every lookup
#: (``PRESETS["sobel_x"]``, ``.values()``, ``.items()``) returns a new tensor.
PRESETS: Mapping[str, torch.Tensor] = _Presets(
    {
        "identity": identity,
        "box_blur": box_blur,
        "gaussian_blur": lambda: gaussian_blur(3, sigma=1.0),
        "sharpen": sharpen,
        "sobel_x": sobel_x,
        "sobel_y": sobel_y,
        "laplacian": laplacian,
        "emboss": emboss,
    }
)
