package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deltadit.engine.opencl.OpenClBackend;
import org.deltadit.engine.opencl.OpenClDevices;
import org.junit.jupiter.api.Test;

/**
 * The OpenCL kernels (ops.cl) against the reference, on the first OpenCL device — PoCL on the CPU in CI,
 * which .ci/run installs. Without any OpenCL device the tests fail in CI and are skipped elsewhere, with
 * a line that says why.
 */
class OpenClVsReferenceTest extends BackendVsReferenceTest {
    private static Backend shared;

    @Override
    synchronized Backend candidate() {
        if (shared == null) {
            if (OpenClDevices.list().isEmpty()) {
                String why = "no OpenCL device (" + (OpenClDevices.libraryPresent() ? "no platform registered" : OpenClDevices.unavailableReason()) + ")";
                if ("true".equals(System.getenv("CI"))) throw new AssertionError(why + ": CI must install pocl-opencl-icd (.ci/run does)");
                System.err.println("OpenClVsReferenceTest: " + why + ": skipped");
                org.junit.jupiter.api.Assumptions.abort(why);
            }
            shared = new OpenClBackend(0);
        }
        return shared;
    }

    @Test
    void namesItsDeviceAndRefusesOnesThatDoNotExist() {
        assertTrue(CPU.describe().startsWith("opencl:0 ("), CPU.describe());
        int n = OpenClDevices.list().size();
        InvalidParameter e = assertThrows(InvalidParameter.class, () -> Backends.select("opencl:" + n, null));
        assertEquals("device", e.parameter());
        assertTrue(e.problem().contains("there are " + n + " OpenCL devices"), e.getMessage());
        assertThrows(InvalidParameter.class, () -> Backends.select("opencl:x", null));
    }
}
