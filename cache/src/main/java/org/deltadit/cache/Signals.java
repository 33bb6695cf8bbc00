package org.deltadit.cache;

import org.deltadit.engine.Tensor;

/** The change measures run-time caches decide by, shared with their calibration in dit tune. */
public final class Signals {
    private Signals() {}

    /** Σ|a − b| / Σ|b| (infinite when b is all zeros): the change TeaCache and First-Block Cache measure. */
    public static double relativeL1(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double num = 0, den = 0;
        for (int k = 0; k < x.length; k++) {
            num += Math.abs(x[k] - y[k]);
            den += Math.abs(y[k]);
        }
        return den == 0 ? Double.POSITIVE_INFINITY : num / den;
    }
}
