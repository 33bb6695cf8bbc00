package org.deltadit.engine;

import org.deltadit.engine.cuda.CudaBackend;
import org.deltadit.engine.cuda.CudaDevices;

/**
 * The CUDA backend (the shared kernels through NVRTC, cuBLAS GEMMs in exact F32) against the reference,
 * on the first GPU. Machines without one — CI among them — skip it with a line that says why; it ran on a
 * lent H200 (see the README's CUDA section).
 */
class CudaVsReferenceTest extends BackendVsReferenceTest {
    private static Backend shared;
    private static boolean told;

    @Override
    synchronized Backend candidate() {
        if (shared == null) {
            String why = CudaDevices.unavailableReason();
            if (!why.isEmpty()) {
                if (!told) System.err.println("CudaVsReferenceTest: skipped: " + why);
                told = true;
                org.junit.jupiter.api.Assumptions.abort(why);
            }
            shared = new CudaBackend(0, CudaBackend.Gemm.FP32);
        }
        return shared;
    }
}
