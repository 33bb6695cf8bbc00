package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PolyfitTest {
    @Test
    void recoversAQuarticFromItsPointsOverSmallX() {
        double[] want = {498.65, -283.78, 55.86, -3.82, 0.26}; // highest degree first; x over 0.01..0.4
        double[] x = new double[40], y = new double[40];
        CachePolicy.TeaCache p = new CachePolicy.TeaCache(0.1, want);
        for (int i = 0; i < x.length; i++) {
            x[i] = 0.01 + 0.01 * i;
            y[i] = p.rescale(x[i]);
        }
        assertArrayEquals(want, Polyfit.fit(x, y, 4), 1e-6);
    }

    @Test
    void aLineThroughNoisyPointsAndTooFewPointsForTheDegree() {
        double[] x = {0, 1, 2, 3}, y = {1.1, 2.9, 5.1, 6.9}; // y ≈ 2x + 1
        double[] line = Polyfit.fit(x, y, 1);
        assertEquals(1.96, line[0], 1e-9);
        assertEquals(1.06, line[1], 1e-9);
        assertEquals(2, Polyfit.fit(new double[] {0.1, 0.2, 0.1}, new double[] {1, 2, 1}, 4).length, "two distinct x: a line");
        assertThrows(IllegalArgumentException.class, () -> Polyfit.fit(new double[] {1}, new double[] {1, 2}, 1));
    }
}
