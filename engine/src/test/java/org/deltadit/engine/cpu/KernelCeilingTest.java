package org.deltadit.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The kernel ceiling runs the GEMM's own kernel on real data and reports both cases (the figures are for selfcheck and bench, not asserted). */
class KernelCeilingTest {
    @Test
    void measuresBothCases() {
        KernelCeiling.Ceiling c = KernelCeiling.measure(1, 0.4);
        assertEquals(1, c.threads());
        assertTrue(c.inCache() > 0 && Double.isFinite(c.inCache()) && c.streamed() > 0 && Double.isFinite(c.streamed()), c.toString());
        assertTrue(c.streamedMb() >= 200, "one thread streams about 256 MB: " + c.streamedMb());
        // a small streamed B, so every thread wraps around it many times (a pass must never run past its end)
        long panel = (long) Gemm.KC * Gemm.NR * Float.BYTES;
        KernelCeiling.Ceiling small = KernelCeiling.measure(2, 0.4, 2 * 37 * panel);
        assertEquals(32 * panel >> 20, small.streamedMb(), "37 panels a thread round down to whole passes of 8");
        assertTrue(small.streamed() > 0 && Double.isFinite(small.streamed()), small.toString());
        String d = new KernelCeiling.Ceiling(2, 90, 80, 128).describe(new FmaPeak.Peak(2, 512, 100));
        assertTrue(d.contains("(90 % of the peak) with B in cache") && d.contains("(80 %) with B streamed from memory (128 MB a thread)"), d);
        assertThrows(IllegalArgumentException.class, () -> KernelCeiling.measure(0, 0.1));
    }

    /** The pass is the GEMM's arithmetic: its tile is A's last row panel times B's last panel, rows past A repeating its last row. */
    @Test
    void thePassComputesTheProduct() {
        int rows = 11, kc = Gemm.KC, nr = Gemm.NR, mr = Gemm.MR;
        float[] a = new float[rows * kc], b = new float[2 * kc * nr];
        for (int i = 0; i < a.length; i++) a[i] = (i % 7) * 0.25f - 0.5f;
        for (int i = 0; i < b.length; i++) b[i] = (i % 5) * 0.125f - 0.25f;
        float[] tile = new float[mr * nr];
        long flops = Gemm.kernelPass(a, rows, b, 1, 1, new int[mr], tile);
        assertEquals(2L * Gemm.roundUp(rows, mr) * kc * nr, flops);
        int last = (rows - 1) / mr * mr;
        float[] want = new float[mr * nr];
        for (int r = 0; r < mr; r++) {
            int row = Math.min(last + r, rows - 1);
            for (int j = 0; j < nr; j++) {
                double s = 0;
                for (int k = 0; k < kc; k++) s += (double) a[row * kc + k] * b[kc * nr + k * nr + j];
                want[r * nr + j] = (float) s;
            }
        }
        assertArrayEquals(want, tile, 1e-3f);
    }
}
