package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** Half-precision widening must be exact: every one of the 65 536 bit patterns, both formats. */
class DTypeTest {

    @Test
    void bf16WideningIsExactForEveryPattern() {
        MemorySegment seg = MemorySegment.ofArray(new short[65536]);
        for (int i = 0; i < 65536; i++) seg.setAtIndex(DType.SHORT, i, (short) i);
        float[] wide = new float[65536];
        DType.BF16.read(seg, 0, wide, 0, 65536);
        for (int i = 0; i < 65536; i++) {
            float expect = Float.intBitsToFloat(i << 16);
            assertEquals(Float.floatToRawIntBits(expect), Float.floatToRawIntBits(wide[i]), "bf16 pattern " + i);
            if (!Float.isNaN(expect)) assertEquals((short) i, DType.floatToBf16(wide[i]), "bf16 round trip " + i);
        }
    }

    @Test
    void f16WideningIsExactForEveryPattern() {
        MemorySegment seg = MemorySegment.ofArray(new short[65536]);
        for (int i = 0; i < 65536; i++) seg.setAtIndex(DType.SHORT, i, (short) i);
        float[] wide = new float[65536];
        DType.F16.read(seg, 0, wide, 0, 65536);
        for (int i = 0; i < 65536; i++) {
            int exp = (i >> 10) & 0x1f, man = i & 0x3ff;
            double mag = exp == 0 ? man * Math.pow(2, -24) : exp == 31 ? (man == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                    : (1 + man / 1024.0) * Math.pow(2, exp - 15);
            double expect = (i & 0x8000) != 0 ? -mag : mag;
            if (Double.isNaN(expect)) {
                assertTrue(Float.isNaN(wide[i]), "f16 NaN pattern " + i);
            } else {
                assertEquals(expect, wide[i], 0.0, "f16 pattern " + i);
                assertEquals(Float.floatToRawIntBits((float) expect), Float.floatToRawIntBits(wide[i]), "f16 sign of pattern " + i);
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one (1).
        assertEquals(1f, DType.bf16ToFloat(DType.floatToBf16(1f + 0x1p-8f)));
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
        assertEquals(1f + 0x1p-6f, DType.bf16ToFloat(DType.floatToBf16(1f + 3 * 0x1p-8f)));
        assertEquals(1f + 0x1p-7f, DType.bf16ToFloat(DType.floatToBf16(1f + 0x1p-8f + 0x1p-12f)));
        assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, DType.bf16ToFloat(DType.floatToBf16(Float.MAX_VALUE)));
    }

    @Test
    void tensorConversionRoundTrips() {
        Tensor x = Check.random(1, 3, 5);
        Tensor h = x.to(DType.F16), b = x.to(DType.BF16);
        assertEquals(DType.F16, h.dtype());
        Check.close(x, h.to(DType.F32), 0, 0x1p-11, "f16 round trip within half an ulp");
        Check.close(x, b.to(DType.F32), 0, 0x1p-8, "bf16 round trip within half an ulp");
    }
}
