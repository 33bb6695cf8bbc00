package org.deltadit.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.deltadit.engine.Backends;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.device.Kernels;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * What of the CUDA backend a machine without a GPU can check: NVRTC compiles every shared kernel as CUDA C,
 * the driver library resolves every call the backend makes, and asking for the device is one clear error.
 * .ci/run fetches Debian's NVRTC and libcuda1 so that in CI (CI=true) these run instead of skipping.
 */
class CudaToolchainTest {
    private static void need(boolean present, String what, String why) {
        if (present) return;
        if ("true".equals(System.getenv("CI"))) throw new AssertionError(what + " missing in CI (.ci/run fetches it): " + why);
        System.err.println("CudaToolchainTest: " + what + " not here (" + why + "): skipped");
        Assumptions.abort(why);
    }

    @Test
    void everySharedKernelCompilesAsCudaCThroughNvrtc() {
        need(Nvrtc.available(), "NVRTC", Nvrtc.available() ? "" : Nvrtc.reason());
        for (String arch : List.of("compute_75", "compute_80")) {
            String ptx = Nvrtc.compile(Kernels.cuda(), "ops.cu", List.of("--gpu-architecture=" + arch, "-std=c++17"));
            assertTrue(ptx.contains(".target sm_" + arch.substring(8)), "PTX for " + arch);
            for (String k : Kernels.NAMES) assertTrue(ptx.contains(".entry " + k + "("), "PTX for " + arch + " exports " + k);
        }
    }

    @Test
    void aCompileErrorCarriesNvrtcsLog() {
        need(Nvrtc.available(), "NVRTC", Nvrtc.available() ? "" : Nvrtc.reason());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Nvrtc.compile("extern \"C\" __global__ void k(float* x) { x[0] = undefined_name; }", "bad.cu", List.of("--gpu-architecture=compute_75")));
        assertTrue(e.getMessage().contains("undefined_name"), e.getMessage());
    }

    @Test
    void thePtxCacheGivesTheSameTextAsACompile() {
        need(Nvrtc.available(), "NVRTC", Nvrtc.available() ? "" : Nvrtc.reason());
        String first = Nvrtc.kernelsPtx("compute_75"), second = Nvrtc.kernelsPtx("compute_75");
        assertEquals(Nvrtc.compile(Kernels.cuda(), "ops.cu", List.of("--gpu-architecture=compute_75", "-std=c++17")), second);
        assertEquals(first, second);
    }

    @Test
    void theDriverResolvesAndAMissingGpuIsOneClearError() {
        need(CudaDevices.driverResolves(), "libcuda.so.1", CudaDevices.driverResolves() ? "" : Driver.reason());
        String why = CudaDevices.unavailableReason();
        Assumptions.assumeFalse(why.isEmpty(), "a GPU is present: CudaVsReferenceTest runs instead");
        assertTrue(why.contains("no CUDA device"), why);
        InvalidParameter e = assertThrows(InvalidParameter.class, () -> Backends.select("cuda", null));
        assertEquals("device", e.parameter());
        assertEquals("cuda: " + why, e.problem());
        assertThrows(InvalidParameter.class, () -> Backends.select("cuda:x", null));
    }

    @Test
    void aBadGemmPrecisionIsNamed() {
        String old = System.getProperty("dit.cuda.gemm");
        System.setProperty("dit.cuda.gemm", "fp8");
        try {
            InvalidParameter e = assertThrows(InvalidParameter.class, CudaBackend.Gemm::fromProperty);
            assertEquals("dit.cuda.gemm", e.parameter());
        } finally {
            if (old == null) System.clearProperty("dit.cuda.gemm");
            else System.setProperty("dit.cuda.gemm", old);
        }
    }
}
