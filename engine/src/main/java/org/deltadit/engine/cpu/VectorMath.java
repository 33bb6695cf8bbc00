package org.deltadit.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * exp built only from IEEE-exact vector operations (add, mul, fma, compare,
 * shifts), so a kernel returns the same bits in every compiled form. The Vector API's own
 * {@code lanewise(EXP)} and {@code TANH} run a vector math library once C2 compiles the loop and a
 * scalar fallback before, and {@code reduceLanes(ADD)} may add the lanes in any order: either made
 * the same run give different images from one JVM to the next (the last bits, amplified by sampling).
 * Lane sums are therefore written out at their call sites as a loop over the lanes in order; a helper
 * method for them was not inlined into the larger kernels, and a vector passed to a call that is not
 * inlined is allocated on the heap.
 */
final class VectorMath {
    private VectorMath() {}

    private static final float LOG2E = 1.44269504088896341f;
    // ln 2 split in two so n·LN2_HI is exact for the n that occur (|n| ≤ 128): Cody–Waite reduction
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    // 1.5·2²³: adding it rounds a float of magnitude < 2²² to an integer, held in the low mantissa bits
    private static final float ROUND = 12582912f;
    private static final float MAX = 88.0f, MIN = -87.33654f; // n = round(x·log2 e) stays within ±127

    /**
     * e^x lane by lane, within 2 ulp of Math.exp over the normal range (Cephes expf: a degree-5
     * polynomial on |r| ≤ ln2/2 after x = n·ln2 + r); 0 below −87.34 (where e^x is subnormal, so masked
     * scores stay exactly 0), +∞ above 88 (e^88 = 1.65e38: nothing here comes near), NaN for NaN.
     */
    static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.compare(VectorOperators.LT, MIN), over = x.compare(VectorOperators.GT, MAX);
        FloatVector c = x.max(MIN).min(MAX);
        FloatVector t = c.fma(LOG2E, ROUND);            // round(x·log2 e) in the low bits of t
        FloatVector n = t.sub(ROUND);
        FloatVector r = c.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO)); // n·LN2_HI is exact
        FloatVector z = r.mul(r);
        FloatVector p = r.fma(1.9875691500E-4f, 1.3981999507E-3f);
        p = p.mul(r).add(8.3334519073E-3f);
        p = p.mul(r).add(4.1665795894E-2f);
        p = p.mul(r).add(1.6666665459E-1f);
        p = p.mul(r).add(5.0000001201E-1f);
        p = p.fma(z, r).add(1f);
        FloatVector y = scaleByPow2(p, n);
        return y.blend(0f, under).blend(Float.POSITIVE_INFINITY, over);
    }

    /** p·2^n for integer-valued n with |n| ≤ 127: n + 127 written into the exponent bits of a float. */
    private static FloatVector scaleByPow2(FloatVector p, FloatVector n) {
        IntVector e = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul((FloatVector) e.reinterpretAsFloats());
    }

}
