"""Chapter 3 self-checks: right answers pass, typical wrong ones fail with a hint."""

from convbook.check import ch03


def test_param_count():
    assert ch03.param_count((64 * 9 + 1) * 128)  # 73,856 by hand
    no_bias = ch03.param_count(64 * 9 * 128)
    assert not no_bias and "bias" in no_bias.message
    assert not ch03.param_count(9 * 128)
    assert not ch03.param_count(None)


def test_mac_count():
    assert ch03.mac_count(56 * 56 * 64 * 256)
    assert not ch03.mac_count(64 * 256)  # the parameter count, not the work
    assert not ch03.mac_count(None)
