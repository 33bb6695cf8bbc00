package org.deltadit.eval;

import java.io.Serializable;

/**
 * Sums kept as double-doubles (a value and its rounding error, Knuth's TwoSum), so that adding the same
 * terms in another order or in another grouping — a cluster's partitions merged in whatever order their
 * tasks end — gives the same double when read, to within a unit of the 106-bit sum (reading differs only
 * on an exact tie, which these figures do not meet in practice). Without this, a FID of a few thousand
 * read to three decimals differed in its last digit between one machine and two partitions.
 */
final class ExactSums implements Serializable {
    private final double[] hi, lo;

    ExactSums(int n) {
        hi = new double[n];
        lo = new double[n];
    }

    int size() { return hi.length; }

    void add(int i, double v) {
        double s = hi[i] + v, bp = s - hi[i], err = (hi[i] - (s - bp)) + (v - bp);
        hi[i] = s;
        lo[i] += err;
    }

    void merge(ExactSums o) {
        if (o.hi.length != hi.length) throw new IllegalArgumentException("sums of " + hi.length + " and " + o.hi.length + " terms");
        for (int i = 0; i < hi.length; i++) {
            add(i, o.hi[i]);
            lo[i] += o.lo[i];
        }
    }

    double get(int i) { return hi[i] + lo[i]; }
}
