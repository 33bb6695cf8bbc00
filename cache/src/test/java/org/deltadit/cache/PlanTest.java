package org.deltadit.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deltadit.weights.DitConfig;
import org.junit.jupiter.api.Test;

/** Plans and their MACs against the paper (DiT-XL/2, 256 px, guidance: 2 rows), each within 0.2%. */
class PlanTest {
    static final DitConfig XL = MacCountTest.XL_256;

    static void near(double paperTera, long macs, String what) {
        assertEquals(paperTera * 1e12, macs, 0.002 * paperTera * 1e12, what + ": " + macs / 1e12 + " T");
    }

    @Test
    void paperMacFigures() {
        near(4.579, Plan.of(new CachePolicy.None(), 20, 28).macs(XL, 1, 2), "full, 20 steps");
        near(2.862, Plan.of(new CachePolicy.DeltaDit(12, 2, 21, false), 20, 28).macs(XL, 1, 2), "Δ-DiT N=2 Nc=21");
        near(2.976, Plan.of(new CachePolicy.None(), 13, 28).macs(XL, 1, 2), "T = 13");
        near(3.434, Plan.of(new CachePolicy.FasterDiffusion(14, 2), 20, 28).macs(XL, 1, 2), "Faster Diffusion I=14");
    }

    @Test
    void deltaDitAlignsRangesWithTheStages() {
        Plan p = Plan.of(new CachePolicy.DeltaDit(12, 2, 21, false), 20, 28);
        assertTrue(p.step(1).full());
        assertEquals("Δ[7,28)", p.step(2).label(), "outline stage: deep blocks cached");
        assertEquals("Δ[7,28)", p.step(12).label());
        assertEquals("Δ[0,21)", p.step(14).label(), "detail stage: shallow blocks cached");
        assertEquals(List.of(new StepPlan.Range(StepPlan.Mode.DELTA, 7, 28)), p.step(11).records(), "a full step records only what the next cached step takes");
        assertEquals(List.of(new StepPlan.Range(StepPlan.Mode.DELTA, 0, 21)), p.step(13).records());
        assertEquals(7, p.step(2).blocksRun());
        assertEquals(10, p.cachedSteps());
        Plan rev = Plan.of(new CachePolicy.DeltaDit(12, 2, 21, true), 20, 28);
        assertEquals("Δ[0,21)", rev.step(2).label());
        assertEquals("Δ[7,28)", rev.step(14).label());
    }

    @Test
    void budgetSolverPicksNAndTheSmallestFittingNc() {
        CachePolicy.DeltaDit p = BudgetSolver.solve(1.59, 20, 12, false, XL, 2);
        assertEquals(2, p.interval());
        assertEquals(21, p.cachedBlocks());
        assertTrue(Plan.of(p, 20, 28).macs(XL, 1, 2) <= 4.5757e12 / 1.59);
        assertEquals(22, BudgetSolver.solve(1.6, 20, 12, false, XL, 2).cachedBlocks(), "4.579/2.862 is 1.5999: 1.6 needs one block more");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BudgetSolver.solve(30, 20, 12, false, XL, 2));
        assertTrue(e.getMessage().contains("best reachable"), e.getMessage());
    }

    @Test
    void budgetsBeyondEquationSixTakeALongerInterval() {
        // 2× cannot be had with N = 2 (eq. 6's answer) when only one stage of the run skips: N = 3 is the first that fits
        long full = Plan.uncachedMacs(XL, 20, 1, 2);
        for (double x : new double[] {2.0, 2.5}) {
            CachePolicy.DeltaDit p = BudgetSolver.solve(x, 20, 12, false, XL, 2);
            long macs = Plan.of(p, 20, 28).macs(XL, 1, 2);
            assertTrue(macs <= full / x, x + "×: " + p.describe());
            assertTrue(p.interval() > 2, x + "×: " + p.describe());
            CachePolicy.DeltaDit shorter = new CachePolicy.DeltaDit(12, p.interval() - 1, 28, false);
            assertTrue(Plan.of(shorter, 20, 28).macs(XL, 1, 2) > full / x, "no shorter interval fits " + x + "×, even with every block cached");
            CachePolicy.DeltaDit fewer = new CachePolicy.DeltaDit(12, p.interval(), p.cachedBlocks() - 1, false);
            assertTrue(Plan.of(fewer, 20, 28).macs(XL, 1, 2) > full / x, "and one block fewer does not fit");
        }
        // any policy of (N, N_c): a Δ-Cache at the rear
        CachePolicy deep = BudgetSolver.<CachePolicy>solve(2.0, 20, XL, 2, (n, nc) -> nc == 0 ? new CachePolicy.None() : new CachePolicy.DeltaCache(28 - nc, 28, n));
        assertTrue(deep instanceof CachePolicy.DeltaCache d && d.to() == 28 && Plan.of(d, 20, 28).macs(XL, 1, 2) <= full / 2.0, deep.describe());
    }

    @Test
    void badParametersAreNamedWhenTheRunIsKnown() {
        assertMessage(() -> Plan.of(new CachePolicy.DeltaDit(21, 2, 21, false), 20, 28), "b: 21");
        assertMessage(() -> Plan.of(new CachePolicy.DeltaDit(12, 2, 29, false), 20, 28), "cachedBlocks: 29");
        assertMessage(() -> Plan.of(new CachePolicy.Skip(20, 30, 2), 20, 28), "range: 20:30");
        assertMessage(() -> Plan.of(new CachePolicy.FasterDiffusion(29, 2), 20, 28), "block: 29");
        assertMessage(() -> Plan.of(new CachePolicy.TGate(21), 20, 28), "gate: 21");
    }

    @Test
    void aPolicyWithInvalidComponentsCannotBeBuilt() {
        // each of these was accepted by the records before (and failed, if at all, only in Plan.of)
        assertParameter(() -> new CachePolicy.DeltaDit(12, 0, 21, false), "interval");
        assertParameter(() -> new CachePolicy.DeltaDit(-1, 2, 21, false), "b");
        assertParameter(() -> new CachePolicy.DeltaDit(12, 2, -3, false), "cachedBlocks");
        assertParameter(() -> new CachePolicy.DeltaCache(5, 5, 2), "range");
        assertParameter(() -> new CachePolicy.DeltaCache(-1, 5, 2), "range");
        assertParameter(() -> new CachePolicy.Skip(3, 9, 0), "interval");
        assertParameter(() -> new CachePolicy.FasterDiffusion(0, 2), "block");
        assertParameter(() -> new CachePolicy.TGate(0), "gate");
    }

    static void assertParameter(org.junit.jupiter.api.function.Executable r, String parameter) {
        org.deltadit.engine.InvalidParameter e = assertThrows(org.deltadit.engine.InvalidParameter.class, r);
        assertEquals(parameter, e.parameter(), e.getMessage());
    }

    static void assertMessage(org.junit.jupiter.api.function.Executable r, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
