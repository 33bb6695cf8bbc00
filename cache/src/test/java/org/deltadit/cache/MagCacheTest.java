package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.deltadit.engine.InvalidParameter;
import org.junit.jupiter.api.Test;

/** MagCache's schedule from calibrated ratios, by hand. */
class MagCacheTest {
    @Test
    void skipsWhileTheAccumulatedErrorStaysUnderTheThresholdAndTheRunUnderK() {
        // 10 steps: the first ⌈0.2·10⌉ = 2 and the last compute. From step 3: ratios 0.95 each.
        // step 3: ratio 0.95, err 0.05 < 0.12 → skip; step 4: ratio 0.9025, err 0.1475 ≥ 0.12 → compute, reset;
        // step 5: skip (0.05); step 6: compute; … the pattern alternates.
        double[] r = new double[10];
        java.util.Arrays.fill(r, 0.95);
        boolean[] s = new CachePolicy.MagCache(0.12, 4, r).skips(10);
        assertArrayEquals(new boolean[] {false, false, true, false, true, false, true, false, true, false}, s);
        // ratios of 1 never add error: only K stops a run — K = 2: two skips, then a computed step
        java.util.Arrays.fill(r, 1.0);
        assertArrayEquals(new boolean[] {false, false, true, true, false, true, true, false, true, false}, new CachePolicy.MagCache(0.1, 2, r).skips(10));
        // threshold 0: nothing skips
        assertArrayEquals(new boolean[10], new CachePolicy.MagCache(0, 4, r).skips(10));
        Plan p = Plan.of(new CachePolicy.MagCache(0.1, 2, r), 10, 4);
        assertEquals(StepPlan.Mode.DELTA, p.step(3).mode());
        assertEquals(0, p.step(3).blocksRun(), "a skipped step runs no block: Δ over all of them");
        assertEquals("ratios", assertThrows(InvalidParameter.class, () -> Plan.of(new CachePolicy.MagCache(0.1, 2, r), 12, 4)).parameter(), "calibrated for 10 steps");
    }
}
