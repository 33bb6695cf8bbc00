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

    @Test
    void flagsAndPolicyFiles() {
        CacheSpec s = PolicyFile.fromFlags(null, "fbcache", null, null, null, null, null, false, null, null, 0.25);
        assertEquals("fbcache threshold=0.25", ((CacheSpec.Fixed) s).policy().describe());
        assertEquals("fbcache threshold=0.1", ((CacheSpec.Fixed) PolicyFile.fromFlags(null, "fbcache", null, null, null, null, null, false, null, null, null)).policy().describe());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PolicyFile.fromFlags(null, "delta-dit", null, null, null, null, null, false, null, null, 0.2));
        var parsed = PolicyFile.parse(java.util.Map.of("kind", "fbcache", "threshold", 0.3), "f: ");
        assertEquals("fbcache threshold=0.3", ((CacheSpec.Fixed) parsed).policy().describe());
        var tea = PolicyFile.parse(java.util.Map.of("kind", "teacache", "threshold", 0.2, "coefficients", java.util.List.of(2.0, 0.5)), "f: ");
        CachePolicy.TeaCache tc = (CachePolicy.TeaCache) ((CacheSpec.Fixed) tea).policy();
        assertEquals(2 * 0.1 + 0.5, tc.rescale(0.1), 1e-12, "the polynomial, highest power first");
        org.junit.jupiter.api.Assertions.assertThrows(org.deltadit.engine.InvalidParameter.class,
                () -> PolicyFile.parse(java.util.Map.of("kind", "fbcache", "coefficients", java.util.List.of(1.0)), "f: "));
        // what dit tune writes, read back: MagCache with its ratios, TeaCache with its polynomial
        for (CachePolicy p : new CachePolicy[] {new CachePolicy.MagCache(0.12, 3, new double[] {1, 0.9, 1.1}), new CachePolicy.TeaCache(0.2, new double[] {3, 2, 1}),
                new CachePolicy.DeltaDit(4, 2, 9, true), new CachePolicy.Forecast(0, 9, 2)}) {
            var back = PolicyFile.parse(org.deltadit.weights.Json.parseObject("test", PolicyWriter.json(p, "n").getBytes(java.nio.charset.StandardCharsets.UTF_8)), "f: ");
            CachePolicy q = back instanceof CacheSpec.Fixed f ? f.policy() : back.resolve(20, Pipeline.config(ModelSpec.builder().randomWeights(true).arch("DiT-S/2").build()), 2);
            assertEquals(p, q, p.describe());
        }
    }
}
