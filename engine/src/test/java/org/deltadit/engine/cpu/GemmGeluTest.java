package org.deltadit.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.reference.ReferenceBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The GEMM's GELU epilogue (FusedBlock's fc1): against the reference's linear then GELU, and against the cpu's own two passes. */
class GemmGeluTest {
    private static final ReferenceBackend REF = new ReferenceBackend();
    private static final CpuBackend CPU = new CpuBackend(2);

    private static Tensor random(long seed, int... shape) {
        Random r = new Random(seed);
        Tensor t = Tensor.zeros(shape);
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    /** K past one K block (Gemm.KC, 1152) so the GELU must wait for the last one; N with a partial tile; K = 1. */
    @ParameterizedTest(name = "M={0} K={1} N={2} bias={3}")
    @CsvSource({"7,1200,37,true", "1,2400,64,false", "13,40,96,true", "3,1,20,true", "256,1200,64,true"})
    void matchesLinearThenGelu(int m, int k, int n, boolean withBias) {
        Tensor x = random(1, m, k), w = random(2, n, k), bias = withBias ? random(3, n) : null;
        {
            CpuBackend cpu = CPU;
            Tensor got = cpu.linearGelu(x, w, bias, Tensor.zeros(m, n));
            float[] want = REF.gelu(REF.linear(x, w, bias), true).toFloatArray(), g = got.toFloatArray();
            double max = 1e-3;
            for (float v : want) max = Math.max(max, Math.abs(v));
            for (int i = 0; i < want.length; i++) assertTrue(Math.abs(want[i] - g[i]) <= 1e-5 * max + 1e-5 * Math.abs(want[i]), "element " + i + ": " + g[i] + " vs " + want[i]);
            // against the two passes on the same backend: the same GEMM sums and the same GELU code, so equal up
            // to where a partial tile's columns took the scalar tail and the separate pass its vector loop
            float[] twoPasses = cpu.gelu(cpu.linear(x, w, bias), true).toFloatArray();
            if (n % Gemm.NR == 0) assertArrayEquals(twoPasses, g, "full tiles: bit for bit");
            else for (int i = 0; i < g.length; i++) assertTrue(Math.abs(twoPasses[i] - g[i]) <= 1e-6 * max, "element " + i);
        }
    }
}
