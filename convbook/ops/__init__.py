"""From-scratch convolution operations, each checked against ``torch.nn.functional``.

=====================  ====================================================
``corr2d``             single-channel cross-correlation, the loop version
``conv2d``             vectorized ``F.conv2d`` (im2col plus one matrix product)
``corr2d_multi_in*``   multiple input/output channels and the 1x1 case (loops)
``pool2d``             max/average pooling of one channel, the loop version
``max_pool2d``         vectorized ``F.max_pool2d``
``avg_pool2d``         vectorized ``F.avg_pool2d``
=====================  ====================================================
"""

from convbook.ops.channels import corr2d_multi_in, corr2d_multi_in_out, corr2d_multi_in_out_1x1
from convbook.ops.conv import conv2d
from convbook.ops.corr import corr2d
from convbook.ops.pool import avg_pool2d, max_pool2d, pool2d

__all__ = ["conv2d", "corr2d"]
__all__ += [
    "avg_pool2d", "corr2d_multi_in", "corr2d_multi_in_out", "corr2d_multi_in_out_1x1",
    "max_pool2d", "pool2d",
]
