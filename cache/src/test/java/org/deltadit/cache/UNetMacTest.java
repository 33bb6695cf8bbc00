package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deltadit.engine.InvalidParameter;
import org.junit.jupiter.api.Test;

/**
 * SD 1.5's MACs against the paper's Table 11 (512 px, guidance, 20 steps): 13.553 T in full, 7.923 T for
 * DeepCache and Δ-Cache at 1.71× — each within 0.2 %. The 1.71× configuration is DeepCache's interval 2
 * with branch 0 (cached steps run conv_in, the first down ResNet+transformer and the last up level's two
 * last pairs), or Δ-Cache over that same span.
 */
class UNetMacTest {
    static void near(double paperT, long macs, String what) {
        double rel = Math.abs(macs / 1e12 - paperT) / paperT;
        assertTrue(rel <= 0.002, what + ": " + macs / 1e12 + " T against the paper's " + paperT + " T");
    }

    @Test
    void theFiguresOfTable11() {
        org.deltadit.weights.UNetConfig sd15 = org.deltadit.weights.UNetConfig.sd15(512);
        List<UNetMacs.Layer> l = UNetMacs.layers(sd15);
        assertEquals(27, sd15.depth());
        assertEquals(29, l.size(), "conv_in, 8 pairs + 3 convs down, mid, 12 pairs + 3 convs up, conv_out");
        near(13.553, UNetMacs.run(l, 20, 2, 1, 0, 0), "full");
        int[] span = UNetMacs.deepCacheSpan(l, 2, 0);
        assertEquals("down0.l1", l.get(span[0]).name());
        assertEquals("up3.l1", l.get(span[1]).name());
        near(7.923, UNetMacs.run(l, 20, 2, 2, span[0], span[1]), "DeepCache N = 2, branch 0");
        sd15.checkSpan(span[0] - 1, span[1] - 1); // the same span is a valid Δ-Cache span: 320 × 64² in and out, skips balanced
        double speedup = UNetMacs.run(l, 20, 2, 1, 0, 0) / (double) UNetMacs.run(l, 20, 2, 2, span[0], span[1]);
        assertEquals(1.71, speedup, 0.01);
        assertArrayEquals(new int[] {3, 25}, UNetMacs.deepCacheSpan(l, 2, 1), "branch 1: from down0.down through up2.up, up3 runs whole");
        // the same figures through the planner: the U-Net's blocks are its layers between conv_in and conv_out
        int[] blocks = UNetMacs.deepCacheBlocks(sd15, 0);
        assertArrayEquals(new int[] {1, 25}, blocks);
        assertEquals(UNetMacs.run(l, 20, 2, 1, 0, 0), Plan.uncachedMacs(sd15, 20, 1, 2));
        assertEquals(UNetMacs.run(l, 20, 2, 2, span[0], span[1]), Plan.of(new CachePolicy.DeltaCache(blocks[0], blocks[1], 2), 20, 27).macs(sd15, 1, 2));
        assertEquals("range", assertThrows(InvalidParameter.class, () -> sd15.checkSpan(1, 4)).parameter(), "320×64² into 640×32²");
        assertTrue(assertThrows(InvalidParameter.class, () -> sd15.checkSpan(0, 2)).getMessage().contains("leaves 2 skips"), "down0.l0, l1: pushes without pops");
    }
}
