"""From-scratch convolution operations, each checked against ``torch.nn.functional``.

=====================  ====================================================
``corr2d``             single-channel cross-correlation, the loop version
``conv2d``             vectorized ``F.conv2d`` (im2col plus one matrix product)
=====================  ====================================================
"""

from convbook.ops.conv import conv2d
from convbook.ops.corr import corr2d

__all__ = ["conv2d", "corr2d"]
