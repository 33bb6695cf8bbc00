package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

/**
 * The cpu backend's fused adaLN block keeps its intermediates in workspaces reused from call to call
 * (BackendVsReferenceTest checks its arithmetic): nothing stale may leak from a larger call into a smaller
 * one, concurrent callers must not share a workspace, and a warmed-up call allocates little beyond its output.
 */
class FusedBlockTest {
    private static final Backend REF = new ReferenceBackend();

    private static AdaLnBlock block(int d, int f, boolean cross) {
        AdaLnBlock.Cross c = !cross ? null : new AdaLnBlock.Cross(Check.random(50, d, d), Check.random(51, d), Check.random(52, 2 * d, d),
                Check.random(53, 2 * d), Check.random(54, d, d), Check.random(55, d));
        return new AdaLnBlock(Check.random(40, 3 * d, d), Check.random(41, 3 * d), Check.random(42, d, d), Check.random(43, d),
                Check.random(44, f, d), Check.random(45, f), Check.random(46, d, f), Check.random(49, d), c);
    }

    private static void same(Tensor want, Tensor got, String what) {
        double max = 0;
        for (float v : want.toFloatArray()) max = Math.max(max, Math.abs(v));
        Check.close(want, got, 1e-4 * max, 0, what);
    }

    @Test
    void largerThenSmallerCallsAndInputViews() {
        Backend cpu = new CpuBackend(2);
        int d = 24, heads = 3;
        AdaLnBlock w = block(d, 4 * d, false);
        // h as the second of two stacked inputs: a contiguous view that does not start at element 0
        int[][] shapes = {{3, 33}, {1, 5}, {2, 17}, {3, 33}};
        for (int[] s : shapes) {
            Tensor h = Check.random(60 + s[1], 2, s[0], s[1], d).select(0, 1), mod = Check.random(70 + s[1], s[0], 6 * d);
            same(REF.adaLnBlock(h, mod, w, heads, 1e-6f, 1e-6f), cpu.adaLnBlock(h, mod, w, heads, 1e-6f, 1e-6f), "block B=" + s[0] + " N=" + s[1]);
        }
        // the same backend then runs a block with cross-attention: its workspace gains a slot
        AdaLnBlock wc = block(d, 4 * d, true);
        Tensor h = Check.random(80, 2, 9, d), mod = Check.random(81, 2, 6 * d), caption = Check.random(82, 2, 7, d);
        same(REF.adaLnBlock(h, mod, wc, heads, 1e-6f, 1e-6f, caption, null), cpu.adaLnBlock(h, mod, wc, heads, 1e-6f, 1e-6f, caption, null), "block with cross-attention");
    }

    @Test
    void concurrentCallersGetTheirOwnWorkspace() throws Exception {
        Backend cpu = new CpuBackend(2);
        int d = 16, heads = 2;
        AdaLnBlock w = block(d, 64, false);
        List<Tensor[]> cases = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Tensor h = Check.random(90 + i, 2, 20 + 7 * i, d), mod = Check.random(100 + i, 2, 6 * d);
            cases.add(new Tensor[] {h, mod, REF.adaLnBlock(h, mod, w, heads, 1e-6f, 1e-6f)});
        }
        ExecutorService callers = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> runs = new ArrayList<>();
            for (Tensor[] c : cases) {
                runs.add(callers.submit(() -> {
                    for (int r = 0; r < 15; r++) same(c[2], cpu.adaLnBlock(c[0], c[1], w, heads, 1e-6f, 1e-6f), "concurrent block, round " + r);
                }));
            }
            for (Future<?> f : runs) f.get();
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void aWarmedUpBlockAllocatesLittleBeyondItsOutput() {
        Backend cpu = new CpuBackend(1); // one thread: all work on this one, so its allocation counter sees it
        int b = 2, n = 64, d = 64, heads = 4, f = 256;
        AdaLnBlock w = block(d, f, false);
        Tensor h = Check.random(110, b, n, d), mod = Check.random(111, b, 6 * d);
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long output = 4L * b * n * d;
        // The composed form makes ~14 tensors of [B, N, D] or larger (fc1's output is four of them); until C2
        // has compiled the kernels, Vector API temporaries are heap objects too, so take the least of many calls.
        long least = Long.MAX_VALUE, end = System.nanoTime() + 30_000_000_000L;
        for (int i = 0; i < 400 && least >= 3 * output && System.nanoTime() < end; i++) {
            long before = mx.getThreadAllocatedBytes(tid);
            cpu.adaLnBlock(h, mod, w, heads, 1e-6f, 1e-6f);
            least = Math.min(least, mx.getThreadAllocatedBytes(tid) - before);
        }
        assertTrue(least < 3 * output, "a block allocated " + least + " bytes; its output is " + output);
    }
}
