package org.deltadit.cli;

import org.deltadit.engine.cuda.CudaDevices;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/**
 * dit generate --device cuda reproduces the cpu backend's samples (the cases of OpenClGenerateTest, same
 * 1e-4 × max tolerance, exact F32 GEMMs). Runs where there is a GPU; elsewhere, CI included, skipped with a line.
 */
class CudaGenerateTest extends OpenClGenerateTest {
    @BeforeAll
    static void needsADevice() {
        String why = CudaDevices.unavailableReason();
        if (why.isEmpty()) return;
        System.err.println("CudaGenerateTest: skipped: " + why);
        Assumptions.abort(why);
    }

    @Override
    String device() { return "cuda"; }
}
