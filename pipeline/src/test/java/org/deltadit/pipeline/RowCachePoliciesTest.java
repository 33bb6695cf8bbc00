package org.deltadit.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import org.deltadit.cache.CachePolicy;
import org.deltadit.cache.CacheSpec;
import org.deltadit.cache.MacCount;
import org.junit.jupiter.api.Test;

/** First-Block Cache and TeaCache decided at run time, row by row, on the demo model: exactness at 0, per-row decisions, MACs of what ran. */
class RowCachePoliciesTest {
    static GenerationRequest.Builder request(CachePolicy policy) {
        return GenerationRequest.builder().classes(1, 7).seed(3).steps(10).cfg(4.0).decode(false).keepLatents(true).cache(new CacheSpec.Fixed(policy));
    }

    @Test
    void thresholdZeroIsFullComputeAndRowsDecideApart() {
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(Path.of("../models/demo")).threads(2).build())) {
            GenerationResult full = p.generate(GenerationRequest.builder().classes(1, 7).seed(3).steps(10).cfg(4.0).decode(false).keepLatents(true).build(), null);
            for (CachePolicy zeroPolicy : new CachePolicy[] {new CachePolicy.FirstBlock(0), new CachePolicy.TeaCache(0, new double[] {1, 0})}) {
                GenerationResult zero = p.generate(request(zeroPolicy).build(), null);
                assertArrayEquals(full.latents().toFloatArray(), zero.latents().toFloatArray(), zeroPolicy.describe() + ": threshold 0 computes every row at every step");
                assertEquals(full.macs(), zero.macs(), "and counts the MACs of a full run");
                assertEquals(0, Arrays.stream(zero.reusedRows()).sum());
            }

            var c = p.config();
            long perRowFirst = MacCount.outside(c) + MacCount.blocks(c, 0, 1), others = MacCount.blocks(c, 1, c.depth());
            boolean partial = false;
            for (double t : new double[] {0.05, 0.1, 0.2, 0.4}) {
                GenerationResult g = p.generate(request(new CachePolicy.FirstBlock(t)).build(), null);
                int[] reused = g.reusedRows();
                assertEquals(10, reused.length);
                assertEquals(0, reused[0], "the first step computes");
                assertEquals(0, reused[9], "the last step computes");
                int rows = 4, reusedAll = Arrays.stream(reused).sum(); // 2 images × 2 guidance branches
                assertEquals(10L * rows * perRowFirst + (10L * rows - reusedAll) * others, g.macs(), "MACs of what ran at " + t);
                assertEquals(reusedAll, g.cacheHits());
                for (int r : reused) partial |= r > 0 && r < rows; // some rows skipped while others of the same batch ran
            }
            assertTrue(partial, "rows of one batch decided apart at some threshold and step");
            // TeaCache skips every block of a reused row: its MACs are the embedding and final layer only
            long outside = MacCount.outside(c), all = MacCount.blocks(c, 0, c.depth());
            GenerationResult tea = p.generate(request(new CachePolicy.TeaCache(0.3, new double[] {1, 0})).build(), null);
            int teaReused = Arrays.stream(tea.reusedRows()).sum();
            assertTrue(teaReused > 0, "TeaCache at 0.3 skips some rows: " + Arrays.toString(tea.reusedRows()));
            assertEquals(10L * 4 * outside + (10L * 4 - teaReused) * all, tea.macs());
        }
    }

    /** Ours: Δ-DiT's stages with the refresh decided per row; exact at 0, MACs of what ran per stage, forced steps, the skip cap. */
    @Test
    void adaptiveDeltaDecidesPerRowWithinItsStages() {
        try (Pipeline p = Pipeline.open(ModelSpec.builder().model(Path.of("../models/demo")).threads(2).build())) {
            GenerationResult full = p.generate(GenerationRequest.builder().classes(1, 7).seed(3).steps(10).cfg(4.0).decode(false).keepLatents(true).build(), null);
            GenerationResult zero = p.generate(request(new CachePolicy.AdaptiveDelta(-1, -1, 0, 2, true)).build(), null);
            assertArrayEquals(full.latents().toFloatArray(), zero.latents().toFloatArray(), "threshold 0 computes every row at every step");
            assertEquals(full.macs(), zero.macs());

            var c = p.config();
            int depth = c.depth(), rows = 4, b = 6; // round(0.6·10)
            long outside = MacCount.outside(c);
            boolean partial = false, some = false;
            for (int nc : new int[] {14, 21}) {
                for (double t : new double[] {0.05, 0.1, 0.2, 0.4}) {
                    for (int k : new int[] {1, 3}) {
                        GenerationResult g = p.generate(request(new CachePolicy.AdaptiveDelta(-1, nc, t, k, k == 3)).build(), null);
                        int[] reused = g.reusedRows();
                        String what = "Nc=" + nc + " threshold " + t + " K=" + k + ": " + Arrays.toString(reused);
                        assertEquals(0, reused[0], what + ": the first step computes");
                        assertEquals(0, reused[b], what + ": the first step of the detail stage computes (its Δ spans other blocks)");
                        assertEquals(0, reused[9], what + ": the last step computes");
                        long want = 0;
                        for (int s = 1; s <= 10; s++) {
                            boolean outline = s <= b;
                            long shared = outline ? MacCount.blocks(c, 0, depth - nc) : MacCount.blocks(c, nc, depth);
                            long span = outline ? MacCount.blocks(c, depth - nc, depth) : MacCount.blocks(c, 0, nc);
                            want += rows * (outside + shared) + (long) (rows - reused[s - 1]) * span;
                        }
                        assertEquals(want, g.macs(), what + ": MACs of what ran");
                        if (k == 1) for (int s = 0; s + 1 < 10; s++) assertTrue(reused[s] + reused[s + 1] <= rows, what + ": no row reuses twice in a row");
                        for (int r : reused) {
                            partial |= r > 0 && r < rows;
                            some |= r > 0;
                        }
                    }
                }
            }
            assertTrue(some, "some threshold reuses");
            assertTrue(partial, "rows of one batch decided apart at some threshold and step");
        }
    }

    @Test
    void flagsAndPolicyFiles() {
        CacheSpec s = PolicyFile.fromFlags(null, "fbcache", null, null, null, null, null, false, null, null, 0.25, null);
        assertEquals("fbcache threshold=0.25", ((CacheSpec.Fixed) s).policy().describe());
        assertEquals("fbcache threshold=0.1", ((CacheSpec.Fixed) PolicyFile.fromFlags(null, "fbcache", null, null, null, null, null, false, null, null, null, null)).policy().describe());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PolicyFile.fromFlags(null, "delta-dit", null, null, null, null, null, false, null, null, 0.2, null));
        assertEquals("adaptive-delta b=8 Nc=14 threshold=0.2 max_skips=1 forecast",
                ((CacheSpec.Fixed) PolicyFile.fromFlags(null, "adaptive-delta", 8, null, 14, null, null, false, null, null, 0.2, null)).policy().describe());
        assertEquals("adaptive-delta b=auto Nc=auto threshold=0.1 max_skips=3 forecast",
                ((CacheSpec.Fixed) PolicyFile.fromFlags(null, "adaptive-delta", null, null, null, null, null, false, null, null, null, 3)).policy().describe());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PolicyFile.fromFlags(null, "fbcache", null, null, null, null, null, false, null, null, null, 2));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PolicyFile.fromFlags(null, "adaptive-delta", null, 2, null, null, null, false, null, null, null, null));
        org.junit.jupiter.api.Assertions.assertThrows(org.deltadit.engine.InvalidParameter.class,
                () -> PolicyFile.parse(java.util.Map.of("kind", "adaptive-delta", "interval", 2), "f: "));
        org.junit.jupiter.api.Assertions.assertThrows(org.deltadit.engine.InvalidParameter.class,
                () -> PolicyFile.parse(java.util.Map.of("kind", "adaptive-delta", "max_skips", 0), "f: "));
        org.junit.jupiter.api.Assertions.assertThrows(org.deltadit.engine.InvalidParameter.class,
                () -> new CacheSpec.Fixed(new CachePolicy.AdaptiveDelta(-1, 29, 0.1, 2, false)).resolve(20, Pipeline.config(ModelSpec.builder().model(Path.of("../models/demo")).build()), 2));
        var parsed = PolicyFile.parse(java.util.Map.of("kind", "fbcache", "threshold", 0.3), "f: ");
        assertEquals("fbcache threshold=0.3", ((CacheSpec.Fixed) parsed).policy().describe());
        var tea = PolicyFile.parse(java.util.Map.of("kind", "teacache", "threshold", 0.2, "coefficients", java.util.List.of(2.0, 0.5)), "f: ");
        CachePolicy.TeaCache tc = (CachePolicy.TeaCache) ((CacheSpec.Fixed) tea).policy();
        assertEquals(2 * 0.1 + 0.5, tc.rescale(0.1), 1e-12, "the polynomial, highest power first");
        org.junit.jupiter.api.Assertions.assertThrows(org.deltadit.engine.InvalidParameter.class,
                () -> PolicyFile.parse(java.util.Map.of("kind", "fbcache", "coefficients", java.util.List.of(1.0)), "f: "));
        // what dit tune writes, read back: MagCache with its ratios, TeaCache with its polynomial
        for (CachePolicy p : new CachePolicy[] {new CachePolicy.MagCache(0.12, 3, new double[] {1, 0.9, 1.1}), new CachePolicy.TeaCache(0.2, new double[] {3, 2, 1}),
                new CachePolicy.DeltaDit(4, 2, 9, true), new CachePolicy.Forecast(0, 9, 2), new CachePolicy.AdaptiveDelta(7, 14, 0.15, 3, true), new CachePolicy.AdaptiveDelta(-1, -1, 0.1, 2, false)}) {
            var back = PolicyFile.parse(org.deltadit.weights.Json.parseObject("test", PolicyWriter.json(p, "n").getBytes(java.nio.charset.StandardCharsets.UTF_8)), "f: ");
            CachePolicy q = back instanceof CacheSpec.Fixed f ? f.policy() : back.resolve(20, Pipeline.config(ModelSpec.builder().randomWeights(true).arch("DiT-S/2").build()), 2);
            assertEquals(p, q, p.describe());
        }
    }
}
