"""hsi.pointwise: the matrix-product forms equal the torch layers they replace."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hsi.pointwise import pointwise, unit_channels


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_pointwise_equals_a_1x1_convolution(n, bias):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(7, 5, 1, bias=bias)
    x = torch.randn(n, 7, 6, 9)
    torch.testing.assert_close(pointwise(x, conv.weight, conv.bias), conv(x))


def test_pointwise_takes_a_linear_layer_and_a_strided_input():
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(2, 8, 5, 4).permute(0, 3, 1, 2)  # (2, 4, 8, 5), not contiguous
    want = layer(x.movedim(1, -1)).movedim(-1, 1)
    torch.testing.assert_close(pointwise(x, layer.weight, layer.bias), want)


def test_unit_channels_equals_normalize_and_keeps_zero_vectors_finite():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 4, 5)
    x[0, :, 1, 2] = 0.0
    got = unit_channels(x)
    torch.testing.assert_close(got, F.normalize(x, dim=1))
    assert torch.equal(got[0, :, 1, 2], torch.zeros(6))
    torch.testing.assert_close(got.norm(dim=1)[1], torch.ones(4, 5))
