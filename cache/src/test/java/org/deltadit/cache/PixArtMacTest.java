package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.deltadit.weights.PixArtConfig;
import org.junit.jupiter.api.Test;

/** The paper's PixArt-α figures (Tables 1 and 3), 1024 px, within 0.2%. */
class PixArtMacTest {
    static final PixArtConfig XL_1024 = PixArtConfig.preset("PixArt-XL/2", 1024);

    private static void near(double paperT, long macs, String what) {
        assertEquals(paperT * 1e12, macs, 0.002 * paperT * 1e12, what + ": " + macs / 1e12 + " T");
    }

    @Test
    void dpmSolverTwentyStepsWithGuidance() {
        near(85.651, Plan.of(new CachePolicy.None(), 20, 28).macs(XL_1024, 1, 2), "full");
        near(53.532, Plan.of(new CachePolicy.DeltaDit(12, 2, 21, false), 20, 28).macs(XL_1024, 1, 2), "Δ-DiT N=2 Nc=21");
    }

    @Test
    void lcmFourStepsWithoutGuidance() {
        near(8.565, Plan.of(new CachePolicy.None(), 4, 28).macs(XL_1024, 1, 1), "LCM full");
        int[] nc = {4, 6, 11, 16};
        double[] paper = {7.953, 7.647, 6.883, 6.118};
        for (int i = 0; i < nc.length; i++) near(paper[i], Plan.of(new CachePolicy.DeltaDit(2, 2, nc[i], false), 4, 28).macs(XL_1024, 1, 1), "LCM Nc=" + nc[i]);
    }

    @Test
    void tgateRunsOneBranchWithoutCrossAttentionAfterTheGate() {
        long full = MacCount.forward(XL_1024), cross = 4096L * 2 * 1152 * 1152 + 120L * 2 * 1152 * 1152;
        long want = 8 * 2 * full + 12 * (full - 28 * cross);
        assertEquals(want, Plan.of(new CachePolicy.TGate(8), 20, 28).macs(XL_1024, 1, 2), "8 guided steps, 12 single-branch steps");
        assertEquals(8 * full + 12 * (full - 28 * cross), Plan.of(new CachePolicy.TGate(8), 20, 28).macs(XL_1024, 1, 1), "unguided: no halving");
    }

    @Test
    void perForwardByHand() {
        // 28 blocks × (4096 tokens × 14·1152² + 120 caption tokens × 2·1152²) + embeddings, caption MLP and final layer
        long block = 4096L * 14 * 1152 * 1152 + 120L * 2 * 1152 * 1152;
        long outside = 4096L * 16 * 1152 + (256L * 1152 + 1152L * 1152) + 3 * (256L * 384 + 384L * 384) + 1152L * 6912
                + 120L * (4096 * 1152 + 1152 * 1152) + 4096L * 1152 * 32;
        assertEquals(28 * block + outside, MacCount.forward(XL_1024));
        assertEquals(2L * 4096 * 4096 * 1152 + 2L * 4096 * 120 * 1152, MacCount.attentionPerBlock(XL_1024));
    }
}
