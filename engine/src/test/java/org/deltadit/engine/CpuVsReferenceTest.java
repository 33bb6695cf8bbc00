package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deltadit.engine.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/** The cpu backend (Vector API, 2 threads so the parallel split is exercised) against the reference, at the JVM's vector width. */
class CpuVsReferenceTest extends BackendVsReferenceTest {
    private static final Backend SHARED = new CpuBackend(2);

    @Override
    Backend candidate() { return SHARED; }

    @Test
    void runsAtTheRequestedVectorWidth() {
        String bits = System.getProperty("dit.vector.bits", "");
        String expect = bits.isEmpty() ? "FloatVector " : bits.equals("0") ? "scalar" : "FloatVector " + bits + "-bit";
        assertTrue(CPU.describe().startsWith("cpu (" + expect), CPU.describe() + " for dit.vector.bits=" + bits);
    }
}
