package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deltadit.engine.opencl.OpenClBackend;
import org.deltadit.engine.opencl.OpenClDevices;
import org.junit.jupiter.api.Test;

/**
 * The OpenCL kernels (ops.cl) against the reference, on the first OpenCL device — PoCL on the CPU in CI,
 * which .ci/run installs. Without any OpenCL device the tests fail in CI and are skipped elsewhere, with
 * a line that says why.
 */
class OpenClVsReferenceTest extends BackendVsReferenceTest {
    private static Backend shared;

    @Override
    synchronized Backend candidate() {
        if (shared == null) {
            if (OpenClDevices.list().isEmpty()) {
                String why = "no OpenCL device (" + (OpenClDevices.libraryPresent() ? "no platform registered" : OpenClDevices.unavailableReason()) + ")";
                if ("true".equals(System.getenv("CI"))) throw new AssertionError(why + ": CI must install pocl-opencl-icd (.ci/run does)");
                System.err.println("OpenClVsReferenceTest: " + why + ": skipped");
                org.junit.jupiter.api.Assumptions.abort(why);
            }
            shared = new OpenClBackend(0);
        }
        return shared;
    }

    /** A read-only mapping of {@code values}, as the loaders map checkpoints. */
    static Tensor mapped(java.lang.foreign.Arena arena, java.nio.file.Path file, float[] values, int... shape) throws java.io.IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * values.length).order(java.nio.ByteOrder.nativeOrder());
        for (float v : values) b.putFloat(v);
        java.nio.file.Files.write(file, b.array());
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            return Tensor.wrap(ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena), DType.F32, shape);
        }
    }

    @Test
    void mappedWeightsStayOnTheDeviceUntilTheirMappingCloses(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        OpenClBackend cl = (OpenClBackend) CPU;
        Tensor x = Check.random(30, 5, 33);
        float[] w1 = Check.random(31, 17, 33).toFloatArray(), w2 = Check.random(32, 17, 33).toFloatArray();
        int before = cl.residentWeights();
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofShared()) {
            Tensor w = mapped(a, dir.resolve("w1.bin"), w1, 17, 33);
            Check.close(REF.linear(x, w, null), cl.linear(x, w, null), gemmTol(33), 1e-5, "first call uploads");
            Check.close(REF.linear(x, w, null), cl.linear(x, w, null), gemmTol(33), 1e-5, "second call reuses");
            assertEquals(before + 1, cl.residentWeights(), "uploaded once, kept");
        }
        // the first mapping is closed: a second file may map at the same address; its weights must be its own
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofShared()) {
            Tensor w = mapped(a, dir.resolve("w2.bin"), w2, 17, 33);
            Check.close(REF.linear(x, w, null), cl.linear(x, w, null), gemmTol(33), 1e-5, "another mapping");
            assertEquals(before + 1, cl.residentWeights(), "the closed mapping's copy was freed, the new one kept");
        }
        Tensor heap = Tensor.of(w1, 17, 33);
        cl.linear(x, heap, null);
        assertEquals(before + 1, cl.residentWeights(), "weights the engine could write are not kept");
    }

    /**
     * A run of blocks is one device program, and h stays on the device after it: the next run (or block) reads it
     * in place, and it comes down once, when the host reads it. Without kept results, every h comes down.
     */
    @Test
    void theHiddenStateStaysOnTheDeviceUntilTheHostReadsIt() {
        OpenClBackend cl = (OpenClBackend) CPU;
        int b = 2, n = 7, d = 16, heads = 2;
        java.util.List<AdaLnBlock.Call> calls = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            AdaLnBlock w = new AdaLnBlock(Check.sealed(Check.random(10 * i, 3 * d, d)), null, Check.sealed(Check.random(10 * i + 1, d, d)), null,
                    Check.sealed(Check.random(10 * i + 2, 2 * d, d)), null, Check.sealed(Check.random(10 * i + 3, d, 2 * d)), null);
            calls.add(new AdaLnBlock.Call(w, Check.random(10 * i + 4, b, 6 * d), null));
        }
        Tensor h = Check.random(5, b, n, d);
        float[] hBefore = h.toFloatArray();
        long hBytes = 4L * h.numel();
        cl.adaLnBlocks(h, calls, heads, 1e-6f, 1e-6f, null); // the weights go up on first use, and stay
        var t0 = cl.traffic();
        Tensor run = cl.adaLnBlocks(h, calls, heads, 1e-6f, 1e-6f, null);
        var t1 = cl.traffic();
        Tensor step = h;
        for (AdaLnBlock.Call c : calls) step = cl.adaLnBlockKv(step, c.mod(), c.weights(), heads, 1e-6f, 1e-6f, null, null);
        var t2 = cl.traffic();
        assertEquals(1, t1.ops() - t0.ops(), "one device program for the run");
        // kernels are queued, not waited for one by one: the run waits once, at its end
        assertTrue(t1.launches() - t0.launches() > 40, "the run's kernels: " + (t1.launches() - t0.launches()));
        assertEquals(1, t1.waits() - t0.waits(), "waits in the run");
        assertEquals(0, t1.downBytes() - t0.downBytes(), "nothing comes down: the host has not read h");
        assertEquals(0, t2.downBytes() - t1.downBytes(), "block by block, h stays on the device between blocks");
        // the rest of what goes up (modulations, biases, placeholders for absent arguments) is the same both ways
        assertEquals(0, (t2.upBytes() - t1.upBytes()) - (t1.upBytes() - t0.upBytes()), "h goes up once either way");
        assertTrue(run.deviceCopy() != null && step.deviceCopy() != null, "both results are held on the device");
        Check.close(step, run, 1e-6, 0, "the same kernels in the same order");
        assertEquals(2 * hBytes, cl.traffic().downBytes() - t2.downBytes(), "each result comes down once, when read");
        Check.close(step, run, 1e-6, 0, "read again: from host memory");
        assertEquals(2 * hBytes, cl.traffic().downBytes() - t2.downBytes(), "nothing comes down twice");
        assertTrue(run.deviceCopy() != null, "reading keeps the device copy");
        assertEquals(java.util.Arrays.toString(hBefore), java.util.Arrays.toString(h.toFloatArray()), "the blocks did not write their input");
        // a run from a resident h: the same values, without h going up again
        var t3 = cl.traffic();
        Tensor again = cl.adaLnBlocks(step, calls.subList(0, 1), heads, 1e-6f, 1e-6f, null);
        Tensor want = REF.adaLnBlocks(step, calls.subList(0, 1), heads, 1e-6f, 1e-6f, null);
        assertEquals(4L * b * 6 * d, cl.traffic().upBytes() - t3.upBytes(), "only the modulation goes up, not h");
        Check.close(want, again, 1e-4, 1e-4, "from a resident h");
        cl.keepResults(false);
        try {
            var t4 = cl.traffic();
            cl.adaLnBlocks(h, calls, heads, 1e-6f, 1e-6f, null);
            assertEquals(hBytes, cl.traffic().downBytes() - t4.downBytes(), "results not kept: h comes down at the end of the run");
        } finally {
            cl.keepResults(true);
        }
    }

    /** A checkpoint's BF16 weights stay BF16 on the device (half the memory) and give the products of their F32 widening. */
    @Test
    void bf16WeightsAreKeptAsStored() {
        OpenClBackend cl = (OpenClBackend) CPU;
        Tensor x = Check.random(60, 2, 9, 40), w = Check.sealed(Check.random(61, 70, 40).to(DType.BF16)), bias = Check.random(62, 70);
        long before = cl.residentWeightBytes();
        Tensor got = cl.linear(x, w, bias);
        assertEquals(2L * 70 * 40, cl.residentWeightBytes() - before, "two bytes a weight");
        Check.close(REF.linear(x, w, bias), got, gemmTol(40), 1e-5, "BF16 weights");
        Check.close(cl.linear(x, w.to(DType.F32), bias), got, 0, 0, "the same sums as the weights widened to F32");
    }

    /** A cache's Δ arithmetic (h_j − h_i, h + Δ, a forecast's scaled difference) on held results: nothing crosses, the values are the reference's. */
    @Test
    void deltaArithmeticOnHeldResultsStaysOnTheDevice() {
        OpenClBackend cl = (OpenClBackend) CPU;
        Tensor hi = Check.random(40, 2, 5, 8), hj = Check.random(41, 2, 5, 8), row = Check.random(42, 8);
        Tensor a = cl.scale(hi, 1f), b = cl.scale(hj, 1f); // held on the device
        var t0 = cl.traffic();
        Tensor delta = cl.sub(b, a);
        Tensor next = cl.add(a, delta);
        Tensor forecast = cl.add(delta, cl.scale(cl.sub(delta, a), 0.5f));
        var t1 = cl.traffic();
        assertEquals(0, t1.upBytes() - t0.upBytes(), "held inputs are read in place");
        assertEquals(0, t1.downBytes() - t0.downBytes(), "results stay until read");
        Tensor wantDelta = REF.sub(hj, hi);
        Check.close(wantDelta, delta, 1e-6, 1e-6, "Δ");
        Check.close(REF.add(hi, wantDelta), next, 1e-6, 1e-6, "h + Δ");
        Check.close(REF.add(wantDelta, REF.scale(REF.sub(wantDelta, hi), 0.5f)), forecast, 1e-6, 1e-6, "forecast");
        // a broadcast operand goes up; the held one is still read in place
        var t2 = cl.traffic();
        Tensor biased = cl.add(a, row);
        assertEquals(4L * a.numel(), cl.traffic().upBytes() - t2.upBytes(), "only the expanded row goes up");
        Check.close(REF.add(hi, row), biased, 1e-6, 1e-6, "broadcast add");
        // in place: the output is an input's storage
        Tensor c = cl.scale(hi, 1f);
        cl.binary(Backend.Binary.ADD, c, b, c);
        Check.close(REF.add(hi, hj), c, 1e-6, 1e-6, "in place");
        Check.close(hj, b, 0, 0, "the other input is unchanged");
    }

    /** A held result's device memory goes back to the backend when its tensor is gone. */
    @Test
    void heldResultsAreGivenBackWhenTheirTensorsAreGone() throws InterruptedException {
        OpenClBackend cl = (OpenClBackend) CPU;
        int before = cl.heldResults();
        for (int i = 0; i < 20; i++) cl.scale(Check.random(50 + i, 64), 2f);
        assertTrue(cl.heldResults() > before, "results are held: " + cl.heldResults() + " after " + before);
        for (int i = 0; i < 200 && cl.heldResults() > before; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertTrue(cl.heldResults() <= before, "after collection: " + cl.heldResults() + " held, " + before + " before");
    }

    @Test
    void namesItsDeviceAndRefusesOnesThatDoNotExist() {
        assertTrue(CPU.describe().startsWith("opencl:0 ("), CPU.describe());
        int n = OpenClDevices.list().size();
        InvalidParameter e = assertThrows(InvalidParameter.class, () -> Backends.select("opencl:" + n, null));
        assertEquals("device", e.parameter());
        assertTrue(e.problem().contains("there are " + n + " OpenCL devices"), e.getMessage());
        assertThrows(InvalidParameter.class, () -> Backends.select("opencl:x", null));
    }
}
