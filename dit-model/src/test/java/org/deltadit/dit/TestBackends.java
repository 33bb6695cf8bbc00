package org.deltadit.dit;

import java.util.ArrayList;
import java.util.List;
import org.deltadit.engine.Backend;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.cuda.CudaBackend;
import org.deltadit.engine.cuda.CudaDevices;
import org.deltadit.engine.opencl.OpenClBackend;
import org.deltadit.engine.opencl.OpenClDevices;
import org.deltadit.engine.reference.ReferenceBackend;

/** Every backend the model fixtures run on: reference, cpu, OpenCL (PoCL in CI, where it must be present), and CUDA where a GPU is. */
final class TestBackends {
    private TestBackends() {}

    private static List<Backend> all;

    static synchronized List<Backend> all() {
        if (all == null) {
            all = new ArrayList<>(List.of(new ReferenceBackend(), new CpuBackend(2)));
            if (!OpenClDevices.list().isEmpty()) all.add(new OpenClBackend(0));
            else if ("true".equals(System.getenv("CI"))) throw new AssertionError("no OpenCL device: CI must install pocl-opencl-icd (.ci/run does)");
            else System.err.println("model fixtures: no OpenCL device here, its parity runs are skipped");
            // a GPU machine adds the CUDA backend (exact F32 GEMMs); elsewhere CudaVsReferenceTest says why it is absent
            if (CudaDevices.unavailableReason().isEmpty()) all.add(new CudaBackend(0, CudaBackend.Gemm.FP32));
        }
        return all;
    }
}
