package org.deltadit.engine;

/** How far one result is from another, in the one measure the project's parity checks use. */
public final class Compare {
    private Compare() {}

    /** max |expected − actual| / max |expected| (0 when both are all zero; ∞ for a length mismatch or a NaN). */
    public static double relativeMaxError(float[] expected, float[] actual) {
        if (expected.length != actual.length) return Double.POSITIVE_INFINITY;
        double max = 0, err = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i]));
            double d = Math.abs((double) expected[i] - actual[i]);
            if (Double.isNaN(d)) return Double.POSITIVE_INFINITY;
            err = Math.max(err, d);
        }
        return err == 0 ? 0 : err / max;
    }
}
