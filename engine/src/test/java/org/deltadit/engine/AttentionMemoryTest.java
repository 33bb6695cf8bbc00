package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

/**
 * 4096 tokens, the PixArt-α 1024 px sequence: one head's score matrix alone would be 64 MiB.
 * On a one-thread backend (all work on this thread) a warmed-up call must allocate far less, and a
 * sample of output rows must match the reference computed on those rows alone.
 */
class AttentionMemoryTest {

    @Test
    void fourThousandTokensWithoutTheScoreMatrix() {
        int l = 4096, d = 72, heads = 2;
        Tensor q = Check.random(1, 1, heads, l, d), k = Check.random(2, 1, heads, l, d), v = Check.random(3, 1, heads, l, d);
        float scale = (float) (1 / Math.sqrt(d));
        Backend cpu = new CpuBackend(1);
        Tensor out = Tensor.zeros(1, heads, l, d);
        // Warm up: until C2 has compiled the kernels (in the background, and late when the compile queue
        // is long — this JVM ran the other engine tests first; a clean CI run once needed more than 15
        // calls), Vector API temporaries are heap objects. The steady state is what is checked: the least
        // a call allocates, calling until it drops or 40 s have passed.
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long scoreMatrix = 4L * l * l;
        for (int i = 0; i < 3; i++) cpu.attention(q, k, v, null, scale, out);
        long allocated = Long.MAX_VALUE, end = System.nanoTime() + 40_000_000_000L;
        for (int i = 0; i < 200 && allocated >= scoreMatrix / 8 && System.nanoTime() < end; i++) {
            long before = mx.getThreadAllocatedBytes(tid);
            cpu.attention(q, k, v, null, scale, out);
            allocated = Math.min(allocated, mx.getThreadAllocatedBytes(tid) - before);
        }
        assertTrue(allocated < scoreMatrix / 8, "attention allocated " + allocated + " bytes; one head's scores would be " + scoreMatrix);

        int[] rows = {0, 1, 1000, 4095};
        Backend ref = new ReferenceBackend();
        for (int r : rows) {
            Tensor expect = ref.attention(q.slice(2, r, r + 1), k, v, null, scale);
            Check.close(expect, out.slice(2, r, r + 1), 2e-6, 1e-5, "row " + r);
        }
    }
}
