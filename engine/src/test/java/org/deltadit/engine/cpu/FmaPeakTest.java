package org.deltadit.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The peak probe works and says what it measured (its figure is for bench and selfcheck to report, not asserted). */
class FmaPeakTest {
    @Test
    void measuresAtTheEnginesWidthAndComputesShares() {
        FmaPeak.Peak p = FmaPeak.measure(1, 0.3);
        assertEquals(1, p.threads());
        assertEquals(VectorConfig.VEC ? VectorConfig.S.vectorBitSize() : 0, p.bits());
        assertTrue(p.gflops() > 0 && Double.isFinite(p.gflops()), p.describe());
        assertEquals(50.0, new FmaPeak.Peak(2, 512, 200).percent(100), 1e-9);
        assertTrue(p.describe().contains("1 thread (FMA"), p.describe());
    }

    @Test
    void theChainsStayFiniteAndAreNotDeadCode() {
        float a = FmaPeak.chunk(1000, 1f), b = FmaPeak.chunk(1000, 2f);
        assertTrue(Float.isFinite(a) && Float.isFinite(b));
        assertTrue(a != b, "the seed reaches the result");
        assertThrows(IllegalArgumentException.class, () -> FmaPeak.measure(0, 0.1));
    }

    @Test
    void namesTheMachine() {
        String m = FmaPeak.machine();
        assertTrue(m.contains(Runtime.getRuntime().availableProcessors() + " cores") && m.contains(String.valueOf(Runtime.version().feature())), m);
    }
}
