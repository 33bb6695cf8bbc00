package org.deltadit.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.deltadit.engine.DType;
import org.deltadit.engine.SelfCheck;
import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Constant weights packed once: the same products as packing per call, which weights are kept, the budget, closed mappings. */
class PrepackedTest {
    private static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    private static Tensor sealed(float[] v, DType dtype, int... shape) { return SelfCheck.sealed(Tensor.of(v, shape).to(dtype)); }

    private static CpuBackend backend(Prepacked.Mode mode, long budget) { return new CpuBackend(2, new Prepacked(mode, budget)); }

    /** K past one K block, N with a partial panel, M past one row block. */
    @Test
    void packedOnceGivesTheProductsOfPackingPerCall() {
        int m = 130, k = 1200, n = 37;
        Tensor x = Tensor.of(random(1, m * k), m, k), w = sealed(random(2, n * k), DType.F32, n, k), bias = Tensor.of(random(3, n), n);
        CpuBackend off = backend(Prepacked.Mode.OFF, Long.MAX_VALUE), on = backend(Prepacked.Mode.F32, Long.MAX_VALUE);
        float[] want = off.linear(x, w, bias).toFloatArray();
        assertEquals(0, on.packSeconds(), "nothing packed yet");
        assertArrayEquals(want, on.linear(x, w, bias).toFloatArray(), "first call (packs)");
        double packing = on.packSeconds();
        assertTrue(packing > 0, "the first call's packing is timed");
        assertArrayEquals(want, on.linear(x, w, bias).toFloatArray(), "second call (the kept copy)");
        assertEquals(packing, on.packSeconds(), "the kept copy is not packed again");
        assertEquals(0, off.packSeconds(), "packed per call: not counted as packing once");
        assertEquals(1, on.prepacked().count());
        assertEquals(4L << 20, on.prepacked().bytes(), "the first slab: 4 MB, for K × N rounded up to whole panels");
        assertEquals(0, off.prepacked().count());
        assertArrayEquals(off.linearGelu(x, w, bias, Tensor.zeros(m, n)).toFloatArray(), on.linearGelu(x, w, bias, Tensor.zeros(m, n)).toFloatArray(), "GELU epilogue");
    }

    /**
     * BF16 kept as BF16 (two to an int), widened a panel at a time (by the first row panel's kernel, or by a pass of its
     * own in scalar mode) or, for a few rows, inside the kernel: the same bits as widening per call.
     */
    @Test
    void bf16PackedAsBf16GivesTheProductsOfPackingPerCall() {
        // up to Gemm.SMALL_M rows, the kernel widens the pairs itself (two K blocks at 4 × 1300)
        for (int[] s : new int[][] {{130, 1200, 37}, {9, 300, 600}, {1, 7, 1}, {4, 1300, 70}, {2, 40, 33}, {5, 50, 40}}) {
            int m = s[0], k = s[1], n = s[2];
            Tensor x = Tensor.of(random(1, m * k), m, k), w = sealed(random(2, n * k), DType.BF16, n, k), bias = Tensor.of(random(3, n), n);
            CpuBackend off = backend(Prepacked.Mode.OFF, Long.MAX_VALUE), auto = backend(Prepacked.Mode.AUTO, Long.MAX_VALUE);
            String shape = m + "x" + k + "x" + n;
            float[] want = off.linear(x, w, bias).toFloatArray();
            assertArrayEquals(want, auto.linear(x, w, bias).toFloatArray(), shape + ", first call (packs)");
            assertArrayEquals(want, auto.linear(x, w, bias).toFloatArray(), shape + ", second call (the kept copy)");
            assertArrayEquals(off.linearGelu(x, w, bias, Tensor.zeros(m, n)).toFloatArray(), auto.linearGelu(x, w, bias, Tensor.zeros(m, n)).toFloatArray(), shape + ", GELU epilogue");
            assertEquals(1, auto.prepacked().count(), shape);
            assertEquals(4L << 20, auto.prepacked().bytes(), shape + ": the first slab, 4 MB, holds K × N / 2 ints");
        }
    }

    /** Both ways of folding BF16 pairs (straight from contiguous columns, or through the F32 panels) give the F32 panels' values. */
    @Test
    void bf16PanelsFromEitherLayoutWidenToTheDensePanels() {
        int k = 1300, n = 600; // two K blocks, two column chunks, a partial panel
        Tensor kn = Tensor.of(random(5, k * n), k, n).to(DType.BF16), nk = Tensor.of(random(6, n * k), n, k).to(DType.BF16);
        for (org.deltadit.engine.Mat b : new org.deltadit.engine.Mat[] {org.deltadit.engine.Mat.of(kn), org.deltadit.engine.Mat.of(nk).transpose()}) {
            Gemm.PackedB16 packed = Gemm.PackedB16.of(b, Arena.ofAuto().allocate(4 * Gemm.PackedB16.size(b)), 0, new WorkerPool(2));
            Gemm.DenseB dense = new Gemm.DenseB(b);
            for (int k0 = 0; k0 < k; k0 += Gemm.KC) {
                for (int j0 = 0; j0 < n; j0 += Gemm.NB_MAX) {
                    int kc = Math.min(Gemm.KC, k - k0), nc = Math.min(Gemm.NB_MAX, n - j0), len = Gemm.roundUp(nc, Gemm.NR) * kc;
                    float[] want = new float[len], got = new float[len], tmp = new float[Math.max(Gemm.NR * Gemm.KC, Gemm.NB_MAX)];
                    dense.pack(k0, kc, j0, nc, want, tmp);
                    packed.pack(k0, kc, j0, nc, got, tmp);
                    assertArrayEquals(want, got, "block at k " + k0 + ", column " + j0 + (b.colStride() == 1 ? ", [K, N]" : ", [N, K] transposed"));
                }
            }
        }
    }

    /**
     * BF16 slabs come from malloc (not zeroed, so unused tails stay out of RSS) with native access, else from a zeroed
     * Arena block (the vector-width-0 run has no native access): either way the whole size is usable, on a cache line.
     */
    @Test
    void untouchedSlabsHoldTheirSize() {
        assertEquals(Untouched.class.getModule().isNativeAccessEnabled(), Untouched.fromMalloc());
        long bytes = 48L << 20; // above glibc's mmap threshold, as real slabs are
        MemorySegment s = Untouched.allocate(bytes);
        assertEquals(bytes, s.byteSize());
        assertEquals(0, s.address() % Untouched.ALIGN, "on a cache line");
        if (Untouched.fromMalloc() && Untouched.HUGE) assertEquals(0, s.address() % Untouched.HUGE_PAGE, "on a 2 MB page, for madvise(MADV_HUGEPAGE)");
        for (int i = 0; i < 20; i++) assertEquals(0, Untouched.allocate(1000 + 16 * i).address() % Untouched.ALIGN, "small blocks too"); // malloc's heap: 16-aligned
        s.setAtIndex(ValueLayout.JAVA_INT, 0, 7);
        s.setAtIndex(ValueLayout.JAVA_INT, bytes / 4 - 1, -9);
        assertEquals(7, s.getAtIndex(ValueLayout.JAVA_INT, 0));
        assertEquals(-9, s.getAtIndex(ValueLayout.JAVA_INT, bytes / 4 - 1));
    }

    @Test
    void keepsWhatItsModeAndBudgetAllow() {
        Tensor x = Tensor.of(random(1, 5 * 40), 5, 40), bf16 = sealed(random(2, 70 * 40), DType.BF16, 70, 40), heap = Tensor.of(random(4, 70 * 40), 70, 40);
        CpuBackend f32 = backend(Prepacked.Mode.F32, Long.MAX_VALUE), all = backend(Prepacked.Mode.ALL, Long.MAX_VALUE), tiny = backend(Prepacked.Mode.ALL, 1000);
        float[] want = backend(Prepacked.Mode.OFF, 0).linear(x, bf16, null).toFloatArray();
        assertArrayEquals(want, f32.linear(x, bf16, null).toFloatArray());
        assertEquals(0, f32.prepacked().count(), "f32 mode leaves BF16 weights their memory");
        assertArrayEquals(want, all.linear(x, bf16, null).toFloatArray());
        assertEquals(1, all.prepacked().count(), "all packs them too");
        CpuBackend auto = backend(Prepacked.Mode.AUTO, Long.MAX_VALUE);
        assertArrayEquals(want, auto.linear(x, bf16, null).toFloatArray());
        assertEquals(1, auto.prepacked().count(), "auto keeps BF16 weights, at their own size");
        Tensor f16 = sealed(random(2, 70 * 40), DType.F16, 70, 40);
        assertArrayEquals(backend(Prepacked.Mode.OFF, 0).linear(x, f16, null).toFloatArray(), auto.linear(x, f16, null).toFloatArray());
        assertEquals(1, auto.prepacked().count(), "auto leaves F16 weights their memory");
        CpuBackend autoTiny = backend(Prepacked.Mode.AUTO, 1000);
        assertArrayEquals(want, autoTiny.linear(x, bf16, null).toFloatArray());
        assertEquals(0, autoTiny.prepacked().count(), "BF16 over the budget: packed per call");
        assertArrayEquals(want, tiny.linear(x, bf16, null).toFloatArray());
        assertEquals(0, tiny.prepacked().count(), "over the budget: packed per call");
        all.linear(x, heap, null);
        assertEquals(1, all.prepacked().count(), "weights that could change are never kept");
    }

    @Test
    void aClosedMappingsCopyIsDropped(@TempDir Path dir) throws Exception {
        int k = 40, n = 33;
        Tensor x = Tensor.of(random(1, 3 * k), 3, k);
        CpuBackend cpu = backend(Prepacked.Mode.F32, Long.MAX_VALUE);
        float[][] products = new float[2][];
        for (int f = 0; f < 2; f++) {
            float[] v = random(10 + f, n * k);
            Path file = dir.resolve("w" + f + ".bin");
            try (Arena write = Arena.ofConfined()) {
                Files.write(file, write.allocateFrom(ValueLayout.JAVA_FLOAT, v).toArray(ValueLayout.JAVA_BYTE));
            }
            try (Arena a = Arena.ofShared(); FileChannel ch = FileChannel.open(file)) {
                Tensor w = Tensor.wrap(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), a), DType.F32, n, k);
                products[f] = cpu.linear(x, w, null).toFloatArray();
                assertArrayEquals(products[f], cpu.linear(x, w, null).toFloatArray(), "the mapped pages were released; the packed copy serves");
                assertEquals(1, cpu.prepacked().count(), "the first mapping's copy was dropped when the second weight came");
                assertArrayEquals(products[f], new CpuBackend(1, new Prepacked(Prepacked.Mode.OFF, 0)).linear(x, Tensor.of(v, n, k), null).toFloatArray());
            }
        }
        assertTrue(products[0][0] != products[1][0], "two different weights");
    }

    /** With the file's size recorded (the loaders do it), the packed copies take about the checkpoint's bytes, not a 4 MB slab. */
    @Test
    void aMappedCheckpointsCopiesTakeAboutItsSize(@TempDir Path dir) throws Exception {
        int k = 40, n = 70, count = 3;
        Path file = dir.resolve("w.bin");
        Files.write(file, Tensor.of(random(20, count * n * k), count * n, k).to(DType.BF16).readSegment().toArray(ValueLayout.JAVA_BYTE));
        Tensor x = Tensor.of(random(1, 3 * k), 3, k);
        try (Arena a = Arena.ofShared(); FileChannel ch = FileChannel.open(file)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), a);
            org.deltadit.engine.MappedWeights.add(seg, file);
            CpuBackend cpu = backend(Prepacked.Mode.AUTO, Long.MAX_VALUE), off = backend(Prepacked.Mode.OFF, 0);
            for (int i = 0; i < count; i++) {
                Tensor w = Tensor.wrap(seg.asSlice((long) i * n * k * 2, (long) n * k * 2), DType.BF16, n, k);
                assertArrayEquals(off.linear(x, w, null).toFloatArray(), cpu.linear(x, w, null).toFloatArray(), "weight " + i);
            }
            assertEquals(count, cpu.prepacked().count());
            // each weight 40 × roundUp(70, NR) / 2 ints (whole panels); the first slab holds what the 16.8 KB file can give,
            // 4200 ints, two weights; the third opens one sized to what is left (1400 ints) or to itself
            int per = k * Gemm.roundUp(n, Gemm.NR) / 2;
            assertEquals(4L * (4200 + Math.max(per, 1400)), cpu.prepacked().bytes());
        }
    }

    @Test
    void refusesAnUnknownMode() {
        String before = System.getProperty("dit.cpu.prepack");
        System.setProperty("dit.cpu.prepack", "sometimes");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Prepacked::fromProperties);
            assertTrue(e.getMessage().contains("auto, f32, all or off"), e.getMessage());
        } finally {
            if (before == null) System.clearProperty("dit.cpu.prepack");
            else System.setProperty("dit.cpu.prepack", before);
        }
    }
}
