"""From-scratch convolution operations, each checked against ``torch.nn.functional``.

=====================  ====================================================
``corr2d``             single-channel cross-correlation, the loop version
``conv2d``             vectorized ``F.conv2d`` (im2col plus one matrix product)
``conv2d_direct``      ``F.conv2d`` by the direct method, one step per kernel tap
``conv2d_fft``         ``F.conv2d`` by the convolution theorem (``torch.fft``)
``conv2d_winograd``    3x3 ``F.conv2d`` by Winograd's F(2x2, 3x3)
``corr2d_multi_in*``   multiple input/output channels and the 1x1 case (loops)
``pool2d``             max/average pooling of one channel, the loop version
``max_pool2d``         vectorized ``F.max_pool2d``
``avg_pool2d``         vectorized ``F.avg_pool2d``
``conv_transpose2d``   ``F.conv_transpose2d`` as a scatter-add (matmul plus fold)
``conv2d_backward``    the gradients of ``conv2d``: transposed convolution, correlation
``conv3d``             ``F.conv3d`` (im2col over three axes)
``kernel2matrix``      a cross-correlation written as a matrix
``channel_shuffle``    ShuffleNet's channel shuffle
=====================  ====================================================
"""

from convbook.ops.backward import conv2d_backward
from convbook.ops.channels import corr2d_multi_in, corr2d_multi_in_out, corr2d_multi_in_out_1x1
from convbook.ops.conv import conv2d
from convbook.ops.conv3d import conv3d
from convbook.ops.corr import corr2d
from convbook.ops.direct import conv2d_direct
from convbook.ops.fft import conv2d_fft
from convbook.ops.matrix import kernel2matrix
from convbook.ops.pool import avg_pool2d, max_pool2d, pool2d
from convbook.ops.shuffle import channel_shuffle
from convbook.ops.transposed import conv_transpose2d
from convbook.ops.winograd import conv2d_winograd

__all__ = [
    "avg_pool2d",
    "channel_shuffle",
    "conv2d",
    "conv2d_backward",
    "conv2d_direct",
    "conv2d_fft",
    "conv2d_winograd",
    "conv3d",
    "conv_transpose2d",
    "corr2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
    "kernel2matrix",
    "max_pool2d",
    "pool2d",
]
