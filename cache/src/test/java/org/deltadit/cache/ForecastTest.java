package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deltadit.dit.BlockStack;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

/** The TaylorSeer-style forecast of Δ: a hand-computed value, and exactness where Δ is linear in the step. */
class ForecastTest {
    static final Backend BE = new ReferenceBackend();

    @Test
    void theForecastIsTheFirstOrderExtrapolationOfTheLastTwoFullSteps() {
        DeltaStore store = new DeltaStore(false);
        StepPlan.Range r = new StepPlan.Range(StepPlan.Mode.FORECAST, 2, 5);
        store.put(r, Tensor.of(new float[] {1, 2}, 2), 1);
        assertArrayEquals(new float[] {1, 2}, store.forecast(r, 2, BE).toFloatArray(), "one full step so far: Δ as it is");
        store.put(r, Tensor.of(new float[] {3, 6}, 2), 3);
        // Δ(3) + (Δ(3) − Δ(1))·(4 − 3)/(3 − 1) = [3, 6] + [2, 4]·½
        assertArrayEquals(new float[] {4, 8}, store.forecast(r, 4, BE).toFloatArray());
        assertEquals(2, store.hits());
        assertEquals(4L * 4, store.bytes(), "the latest Δ and the one before it");
    }

    /** A stack whose block i adds (i + 1)·s to every value at step s: Δ over any range is linear in s. */
    static final class Linear implements BlockStack<Integer> {
        public int depth() { return 6; }

        public Backend backend() { return BE; }

        public Tensor embed(Tensor x) { return x; }

        public Tensor block(int i, Tensor h, Integer step) { return BE.add(h, Tensor.of(new float[] {(i + 1f) * step}, 1)); }

        public Tensor finalLayer(Tensor h, Integer step) { return h; }
    }

    @Test
    void aDeltaLinearInTheStepIsForecastExactly() {
        int steps = 7;
        Plan plan = Plan.of(new CachePolicy.Forecast(1, 5, 2), steps, 6);
        BlockRunner<Integer> cached = new BlockRunner<>(new Linear(), plan, null), full = new BlockRunner<>(new Linear(), null, null);
        Tensor x = Tensor.of(new float[] {0.5f, -1f}, 1, 2);
        for (int s = 1; s <= steps; s++) {
            float[] want = full.run(x, s, s, 1).toFloatArray(), got = cached.run(x, s, s, 1).toFloatArray();
            if (s == 2) assertTrue(want[0] != got[0], "step 2 has only step 1 to go on: it reuses Δ(1)");
            else assertArrayEquals(want, got, 1e-4f, "step " + s + " (" + plan.step(s).label() + ")");
        }
        assertEquals(List.of(new StepPlan.Range(StepPlan.Mode.FORECAST, 1, 5)), plan.step(3).records());
        assertEquals(3, cached.store().hits());
    }

    /** Our adaptive policy's forecast: per row, from the row's two latest computed steps of the same stage. */
    @Test
    void theAdaptivePolicyForecastsEachRowFromItsOwnComputedSteps() {
        int steps = 7;
        // every step in the outline stage (b = T), span the rear 4 of 6 blocks; a threshold nothing reaches, so
        // max_skips = 1 alone decides: compute at 1, 3, 5, 7, reuse at 2, 4, 6
        CachePolicy.AdaptiveDelta p = new CachePolicy.AdaptiveDelta(steps, 4, 9.99, 1, true);
        var cfg = org.deltadit.weights.DitConfig.ofPreset("DiT-S/2", 8, 4, 10); // for the MAC count only
        RowCacheRunner<Integer> runner = new RowCacheRunner<>(new Linear(), p, 1, cfg);
        BlockRunner<Integer> full = new BlockRunner<>(new Linear(), null, null);
        Conditioner<Integer> byStep = (t, from, to) -> (int) t;
        Tensor x = Tensor.of(new float[] {0.5f, -1f}, 1, 2);
        for (int s = 1; s <= steps; s++) {
            float[] want = full.run(x, s, s, 1).toFloatArray(), got = runner.run(x, s, byStep, s, s, steps).toFloatArray();
            // the rear span's Δ is (3 + 4 + 5 + 6)·s = 18·s; at step 2 only Δ(1) = 18 is known, and it is reused as it is
            if (s == 2) assertArrayEquals(new float[] {0.5f + 3 * 2 + 18, -1f + 3 * 2 + 18}, got, 1e-5f, "step 2 reuses Δ(1)");
            // at 4: Δ(3) + (Δ(3) − Δ(1))·(4 − 3)/(3 − 1) = 54 + 18 = 72 = 18·4, exact as Δ is linear in the step
            else assertArrayEquals(want, got, 1e-4f, "step " + s);
        }
        assertEquals(List.of(0, 1, 0, 1, 0, 1, 0), runner.reusedPerStep());
    }
}
