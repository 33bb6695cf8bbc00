package org.deltadit.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The paired FID bootstrap: its resampled statistics, intervals and shares against cases worked by hand. */
class FidBootstrapTest {
    static final int D = 3;

    /** A row of n images with features drawn from N(shift, 1) per dimension (the same draws for the same seed). */
    static RowStats row(int n, double shift, long seed) {
        RowStats r = new RowStats(D, 0, null, false);
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            float[] f = new float[D];
            for (int j = 0; j < D; j++) f[j] = (float) (random.nextGaussian() + shift);
            r.features.add(f);
            r.cnnByImage.put(i, f);
        }
        r.count = n;
        return r;
    }

    static final Fid.Stats REAL = new Fid.Stats(new double[D], MetricsTest.diag(new double[] {1, 1, 1}), 1000);

    @Test
    void weightedStatisticsAreThoseOfTheRepeatedSet() {
        double[][] x = {{1, 2, 0}, {0, -1, 3}, {2, 2, 2}, {-1, 0, 1}};
        int[] times = {2, 0, 1, 3};
        Fid.Moments repeated = new Fid.Moments(D);
        for (int i = 0; i < x.length; i++) {
            for (int t = 0; t < times[i]; t++) repeated.add(new float[] {(float) x[i][0], (float) x[i][1], (float) x[i][2]});
        }
        Fid.Stats want = repeated.stats(), got = FidBootstrap.weighted(x, times);
        assertArrayEquals(want.mu(), got.mu(), 1e-12);
        for (int i = 0; i < D; i++) assertArrayEquals(want.sigma()[i], got.sigma()[i], 1e-12);
        assertEquals(6, got.count());
    }

    @Test
    void identicalRowsDifferByNothing() {
        RowStats a = row(50, 0, 1), b = row(50, 0, 1);
        FidBootstrap boot = FidBootstrap.of(new RowStats[] {a, b}, REAL, 40, 7);
        assertArrayEquals(new double[] {0, 0}, boot.differenceInterval(1, 0), 0);
        assertEquals(0, boot.shareLower(1, 0));
        assertEquals(0, boot.shareLower(0, 1));
    }

    @Test
    void aShiftedRowIsWorseInEveryResampleAndItsIntervalHoldsTheObservedDifference() {
        RowStats near = row(200, 0, 1), far = row(200, 1, 2); // FID ≈ 0 against N(0, I) vs ≈ 3 (‖μ‖² = 3)
        FidBootstrap boot = FidBootstrap.of(new RowStats[] {near, far}, REAL, 100, 3);
        double[] d = boot.differenceInterval(1, 0);
        double observed = far.fid(REAL) - near.fid(REAL);
        assertTrue(d[0] > 1.5 && d[0] < observed && observed < d[1] && d[1] < 5, java.util.Arrays.toString(d) + " around " + observed);
        assertEquals(1.0, boot.shareLower(0, 1));
        assertEquals(0.0, boot.shareLower(1, 0));
        // the same seed draws the same resamples
        assertArrayEquals(boot.fids()[1], FidBootstrap.of(new RowStats[] {near, far}, REAL, 100, 3).fids()[1], 0);
    }

    @Test
    void twoDrawsOfOneDistributionAreNotToldApart() {
        // different noise, same distribution: neither row should win (nearly) always
        FidBootstrap boot = FidBootstrap.of(new RowStats[] {row(300, 0, 11), row(300, 0, 12)}, REAL, 200, 5);
        double[] d = boot.differenceInterval(1, 0);
        assertTrue(d[0] < 0 && d[1] > 0, java.util.Arrays.toString(d));
        double share = boot.shareLower(1, 0);
        assertTrue(share > 0.025 && share < 0.975, "share " + share);
    }

    @Test
    void percentilesInterpolateAsNumpy() {
        double[] v = {1, 2, 3, 4};
        assertEquals(2.5, FidBootstrap.percentile(v, 0.5), 1e-15);
        assertEquals(1.075, FidBootstrap.percentile(v, 0.025), 1e-12); // at 0.075 between 1 and 2
        assertEquals(3.925, FidBootstrap.percentile(v, 0.975), 1e-12);
    }

    @Test
    void badRequestsAreOneLine() {
        RowStats a = row(5, 0, 1), other = row(4, 0, 1);
        assertEquals("--bootstrap: 10 resamples (at least 20; 200 is typical)",
                assertThrows(IllegalArgumentException.class, () -> FidBootstrap.of(new RowStats[] {a}, REAL, 10, 0)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FidBootstrap.of(new RowStats[] {new RowStats(0, 0, null, false)}, REAL, 20, 0)).getMessage()
                .startsWith("--bootstrap: needs the digit CNN's FID"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FidBootstrap.of(new RowStats[] {a, other}, REAL, 20, 0)).getMessage().contains("different images"));
    }

    @Test
    void mergedPartsHoldEveryImage() {
        RowStats whole = row(6, 0, 1), first = new RowStats(D, 0, null, false), second = new RowStats(D, 0, null, false);
        whole.cnnByImage.forEach((i, f) -> (i < 3 ? first : second).cnnByImage.put(i, f));
        assertEquals(whole.cnnByImage.keySet(), second.merge(first).cnnByImage.keySet());
    }
}
