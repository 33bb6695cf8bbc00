package org.deltadit.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The CUDA GPUs the driver sees, in the order {@code --device cuda:N} counts them. */
public final class CudaDevices {
    private CudaDevices() {}

    /** One GPU: its name, memory, compute capability (e.g. 90 for sm_90). */
    public record Device(int index, String name, long memoryBytes, int computeCapability) {
        public String describe() {
            return String.format(Locale.ROOT, "cuda:%d    %s, %.1f GB, sm_%d", index, name, memoryBytes / 1e9, computeCapability);
        }
    }

    /** Why no GPU can be had: the library missing, a symbol missing, or cuInit's answer; "" when there are GPUs. */
    public static String unavailableReason() {
        if (!Driver.usable()) return Driver.reason();
        int rc = Driver.init();
        if (rc == Driver.NO_DEVICE) return "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE; the driver library is present)";
        if (rc != Driver.SUCCESS) return "cuInit failed with error " + rc + " (" + Driver.name(rc) + ")";
        return list().isEmpty() ? "no CUDA device" : "";
    }

    /** Whether libcuda loaded and every driver call the backend makes resolved (true on a machine without a GPU too). */
    public static boolean driverResolves() { return Driver.usable(); }

    /** Every GPU; empty without the driver or a device. */
    public static List<Device> list() {
        List<Device> out = new ArrayList<>();
        if (!Driver.usable() || Driver.init() != Driver.SUCCESS) return out;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(JAVA_INT);
            Driver.check((int) Driver.cuDeviceGetCount.invokeExact(n), "cuDeviceGetCount");
            for (int i = 0; i < n.get(JAVA_INT, 0); i++) {
                MemorySegment dev = a.allocate(JAVA_INT);
                Driver.check((int) Driver.cuDeviceGet.invokeExact(dev, i), "cuDeviceGet");
                int d = dev.get(JAVA_INT, 0);
                MemorySegment name = a.allocate(256);
                Driver.check((int) Driver.cuDeviceGetName.invokeExact(name, 256, d), "cuDeviceGetName");
                MemorySegment mem = a.allocate(JAVA_LONG);
                Driver.check((int) Driver.cuDeviceTotalMem.invokeExact(mem, d), "cuDeviceTotalMem");
                MemorySegment major = a.allocate(JAVA_INT), minor = a.allocate(JAVA_INT);
                Driver.check((int) Driver.cuDeviceGetAttribute.invokeExact(major, Driver.ATTR_CC_MAJOR, d), "cuDeviceGetAttribute");
                Driver.check((int) Driver.cuDeviceGetAttribute.invokeExact(minor, Driver.ATTR_CC_MINOR, d), "cuDeviceGetAttribute");
                out.add(new Device(i, name.getString(0), mem.get(JAVA_LONG, 0), major.get(JAVA_INT, 0) * 10 + minor.get(JAVA_INT, 0)));
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("CUDA: " + t, t);
        }
        return out;
    }
}
