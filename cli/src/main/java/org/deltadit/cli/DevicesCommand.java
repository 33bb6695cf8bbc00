package org.deltadit.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.deltadit.engine.Backends;
import org.deltadit.engine.cuda.CudaDevices;
import org.deltadit.engine.opencl.OpenClDevices;
import picocli.CommandLine.Command;

/** {@code dit devices}: what --device can name on this machine. */
@Command(name = "devices", mixinStandardHelpOptions = true, description = "List the compute devices --device can name (cpu, reference, opencl:N, cuda:N).")
final class DevicesCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.println("cpu          " + Backends.create("cpu", Runtime.getRuntime().availableProcessors()).describe());
        System.out.println("reference    scalar Java, the test oracle");
        List<OpenClDevices.Device> cl = OpenClDevices.list();
        if (cl.isEmpty()) {
            System.out.println("opencl       none (" + (OpenClDevices.libraryPresent() ? "no OpenCL platform registered" : OpenClDevices.unavailableReason()) + ")");
        }
        for (OpenClDevices.Device d : cl) System.out.println(d.describe());
        List<CudaDevices.Device> gpus = CudaDevices.list();
        if (gpus.isEmpty()) System.out.println("cuda         none (" + CudaDevices.unavailableReason() + ")");
        for (CudaDevices.Device d : gpus) System.out.println(d.describe() + "  (experimental)");
        return 0;
    }
}
