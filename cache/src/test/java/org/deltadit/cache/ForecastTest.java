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
}
