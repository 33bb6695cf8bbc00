package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;

/** Shared helpers: seeded random tensors and a closeness check that reports the worst element. */
final class Check {
    private Check() {}

    static Tensor random(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[(int) t.numel()];
        for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return Tensor.of(a, shape);
    }

    /** {@code t} in read-only native memory, as a mapped checkpoint's weights are ({@link SelfCheck#sealed}). */
    static Tensor sealed(Tensor t) { return SelfCheck.sealed(t); }

    /** |actual − expected| ≤ atol + rtol·|expected| for every element. */
    static void close(Tensor expected, Tensor actual, double atol, double rtol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < e.length; i++) {
            double diff = Math.abs((double) a[i] - e[i]);
            double excess = diff - (atol + rtol * Math.abs(e[i]));
            if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
                worst = i;
                worstExcess = excess;
            }
        }
        if (worst >= 0) {
            fail(what + ": element " + worst + " expected " + e[worst] + " got " + a[worst]
                    + " (atol " + atol + ", rtol " + rtol + ", " + e.length + " elements)");
        }
    }
}
