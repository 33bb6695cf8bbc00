package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import org.deltadit.dit.BlockStack;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Tensor;
import org.deltadit.engine.opencl.OpenClBackend;
import org.deltadit.engine.opencl.OpenClDevices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * On a device backend the Δ store lives on the device: a full step records Δ = h_j − h_i from the blocks' held
 * results, a cached step adds it back there, and neither crosses to the host (PoCL in CI, as the engine's tests).
 */
class DeviceDeltaStoreTest {
    static OpenClBackend cl;

    @BeforeAll
    static void needsADevice() {
        if (OpenClDevices.list().isEmpty()) {
            if ("true".equals(System.getenv("CI"))) throw new AssertionError("no OpenCL device: CI must install pocl-opencl-icd (.ci/run does)");
            System.err.println("DeviceDeltaStoreTest: no OpenCL device here: skipped");
            Assumptions.abort("no OpenCL device");
        }
        cl = new OpenClBackend(0);
    }

    @AfterAll
    static void close() {
        if (cl != null) cl.close();
    }

    /** Block i multiplies by (1 + 0.1·i) and adds the step: every op a device op, so h stays there. */
    record Stack(Backend be) implements BlockStack<Integer> {
        public int depth() { return 6; }

        public Backend backend() { return be; }

        public Tensor embed(Tensor x) { return be.scale(x, 1f); }

        public Tensor block(int i, Tensor h, Integer step) { return be.add(be.scale(h, 1 + 0.1f * i), Tensor.of(new float[] {step}, 1)); }

        public Tensor finalLayer(Tensor h, Integer step) { return h; }
    }

    @Test
    void deltaIsRecordedAndAddedOnTheDevice() {
        int steps = 4;
        Plan plan = Plan.of(new CachePolicy.DeltaCache(1, 5, 2), steps, 6);
        BlockRunner<Integer> onDevice = new BlockRunner<>(new Stack(cl), plan, null);
        BlockRunner<Integer> onHost = new BlockRunner<>(new Stack(new org.deltadit.engine.reference.ReferenceBackend()), plan, null);
        Tensor x = Tensor.of(new float[] {0.5f, -1f, 2f, 0.25f}, 2, 2);
        StepPlan.Range range = plan.step(1).records().getFirst();
        for (int s = 1; s <= steps; s++) {
            var before = cl.traffic();
            Tensor got = onDevice.run(x, s, s, 1);
            var after = cl.traffic();
            assertEquals(0, after.downBytes() - before.downBytes(), "step " + s + " (" + plan.step(s).label() + "): nothing comes down before the host reads h");
            if (s == 1) {
                Tensor delta = onDevice.store().take(range);
                assertNotNull(delta.deviceCopy(), "Δ is held on the device");
                assertEquals(0, cl.traffic().downBytes() - after.downBytes(), "taking it reads nothing");
            }
            assertArrayEquals(onHost.run(x, s, s, 1).toFloatArray(), got.toFloatArray(), 1e-5f, "step " + s);
        }
        assertEquals(2, onDevice.store().hits() - 1, "steps 2 and 4 used the stored Δ");
    }
}
