"""convbook.check.ch10: right answers pass, typical wrong ones fail with a hint."""

from __future__ import annotations

from verdicts import right_passes_wrong_fails

from convbook.check import ch10

# Worked by hand.  Exercise 2: 128 · 15·15 · 32 · 3·3 = 8,294,400 MACs.  Exercise 3: twice
# that in FLOPs over (32·15·15 + 128·32·9 + 128·15·15) · 4 = 291,456 bytes.  Exercise 4
# (16 channels, 32×32): with side = 32 + 2·(k // 2) and P = side², the FFT count
# (16 + 256 + 16) · 2.5·P·log2(P) + 8·256·side·(side // 2 + 1) is 9.72e6 at k = 3 (direct
# 2·256·9·32² = 4.72e6) and 1.10e7 at k = 5 (direct 1.31e7).
INTENSITY = 2 * 8_294_400 / 291_456

test_right_passes_wrong_fails = right_passes_wrong_fails([
    (ch10.winograd_multiplications, 36, 144, "that is the direct method"),
    (ch10.winograd_multiplications, 36, 6, "that is one axis"),
    (ch10.winograd_multiplications, 36, 16, "that is F(2×2, 3×3)"),
    (ch10.winograd_multiplications, 36, 49, "an m×m output tile of an r×r filter"),
    (ch10.layer_macs, 8_294_400, 16_588_800, "that counts FLOPs"),
    (ch10.layer_macs, 8_294_400, 128 * 13 * 13 * 32 * 9, "keeps the 15×15 size"),
    (ch10.layer_macs, 8_294_400, 128 * 32 * 9, "dot product of C_in · k · k terms"),
    (ch10.layer_intensity, INTENSITY, INTENSITY / 2, "a multiply-accumulate is 2 FLOPs"),
    (ch10.layer_intensity, round(INTENSITY, 1), INTENSITY * 4, "a float32 value is 4 bytes"),
    (ch10.layer_intensity, INTENSITY, INTENSITY * 2, "that is for bfloat16"),
    (ch10.layer_intensity, INTENSITY, 1.0, "2 · MACs divided by"),
    (ch10.fft_crossover, 5, 3, "at k = 3 the direct method"),
    (ch10.fft_crossover, 5, 7, "check the kernel size before"),
    (ch10.fft_crossover, 5, 9, "compute both counts"),
])


def test_the_crossover_counts_worked_by_hand():
    import math

    def counts(k):
        side = 32 + 2 * (k // 2)
        points = side * side
        fft = 288 * 2.5 * points * math.log2(points) + 8 * 256 * side * (side // 2 + 1)
        return fft, 2 * 256 * k * k * 32 * 32

    assert counts(3)[0] > counts(3)[1] and counts(5)[0] < counts(5)[1]
    assert round(counts(3)[0] / 1e6, 2) == 9.72 and counts(5)[1] == 13_107_200
