package org.deltadit.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.deltadit.engine.Backends;
import org.deltadit.engine.opencl.OpenClDevices;
import picocli.CommandLine.Command;

/** {@code dit devices}: what --device can name on this machine. */
@Command(name = "devices", mixinStandardHelpOptions = true, description = "List the compute devices --device can name (cpu, reference, opencl:N).")
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
        System.out.println("cuda         not built yet (issue 14)");
        return 0;
    }
}
