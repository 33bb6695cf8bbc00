package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.deltadit.weights.CheckpointFormat;
import org.deltadit.weights.DitConfig;
import org.junit.jupiter.api.Test;

/** The paper's figure (Δ-DiT Table 2): DiT-XL/2, 256 px, guidance (batch 2), 20 steps = 4.579 T MACs, within 0.2%. */
class MacCountTest {
    static final DitConfig XL_256 = new DitConfig(32, 2, 4, 1152, 28, 16, 1000, true, 4608, CheckpointFormat.DIT_OFFICIAL, Map.of());

    @Test
    void ditXl2FullRunMatchesThePaper() {
        double total = 20 * 2 * (double) MacCount.forward(XL_256);
        assertEquals(4.579e12, total, 0.002 * 4.579e12, "DiT-XL/2 256 px, 20 steps with guidance");
        assertEquals(114_393_563_136L, MacCount.forward(XL_256), "per sample and forward, by hand from the layer list");
        assertEquals(2L * 256 * 256 * 1152, MacCount.attentionPerBlock(XL_256));
    }
}
