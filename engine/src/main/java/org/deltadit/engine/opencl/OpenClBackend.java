package org.deltadit.engine.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.device.DeviceBackend;
import org.deltadit.engine.device.Kernels;

/**
 * {@link DeviceBackend} on an OpenCL device (PoCL on the CPU in CI, a GPU driver elsewhere), through FFM:
 * the shared kernels ({@code ops.cl}) built once per backend as OpenCL C 1.2, one in-order command queue.
 */
public final class OpenClBackend extends DeviceBackend {
    private final OpenClDevices.Device device;
    private final MemorySegment context, queue, program;
    private final Map<String, MemorySegment> kernels = new HashMap<>();

    /** The device {@code index} of {@link OpenClDevices#list()}; an unavailable one is an InvalidParameter naming the device. */
    public OpenClBackend(int index) {
        if (!OpenCl.available()) throw new InvalidParameter("device", "opencl: " + OpenCl.reason());
        List<OpenClDevices.Device> all = OpenClDevices.list();
        if (all.isEmpty()) throw new InvalidParameter("device", "opencl: no OpenCL device found (install a driver, e.g. pocl-opencl-icd; `dit devices` lists them)");
        if (index < 0 || index >= all.size()) throw new InvalidParameter("device", "opencl:" + index + ": there are " + all.size() + " OpenCL devices (opencl:0.." + (all.size() - 1) + ")");
        this.device = all.get(index);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment ids = a.allocate(ADDRESS);
            ids.set(ADDRESS, 0, device.deviceId());
            context = (MemorySegment) OpenCl.createContext.invokeExact(MemorySegment.NULL, 1, ids, MemorySegment.NULL, MemorySegment.NULL, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateContext");
            queue = (MemorySegment) OpenCl.createCommandQueue.invokeExact(context, device.deviceId(), 0L, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateCommandQueue");
            MemorySegment src = a.allocateFrom(Kernels.openCl());
            MemorySegment srcs = a.allocate(ADDRESS);
            srcs.set(ADDRESS, 0, src);
            program = (MemorySegment) OpenCl.createProgramWithSource.invokeExact(context, 1, srcs, MemorySegment.NULL, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateProgramWithSource");
            int rc = (int) OpenCl.buildProgram.invokeExact(program, 1, ids, a.allocateFrom("-cl-std=CL1.2"), MemorySegment.NULL, MemorySegment.NULL);
            if (rc != OpenCl.SUCCESS) throw new IllegalStateException("OpenCL: the kernels do not build on " + device.name() + ":\n" + buildLog(a));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("OpenCL: " + t, t);
        }
    }

    private String buildLog(Arena a) throws Throwable {
        MemorySegment size = a.allocate(JAVA_LONG);
        OpenCl.check((int) OpenCl.getProgramBuildInfo.invokeExact(program, device.deviceId(), OpenCl.PROGRAM_BUILD_LOG, 0L, MemorySegment.NULL, size), "clGetProgramBuildInfo");
        MemorySegment log = a.allocate(size.get(JAVA_LONG, 0) + 1);
        OpenCl.check((int) OpenCl.getProgramBuildInfo.invokeExact(program, device.deviceId(), OpenCl.PROGRAM_BUILD_LOG, size.get(JAVA_LONG, 0), log, MemorySegment.NULL), "clGetProgramBuildInfo");
        return log.getString(0);
    }

    @Override public String name() { return "opencl"; }

    @Override public String describe() { return "opencl:" + device.index() + " (" + device.platform() + " / " + device.name() + ", " + device.openClC() + "; weights and results resident)"; }

    public OpenClDevices.Device device() { return device; }

    // ---- running kernels -------------------------------------------------------------------

    @Override protected String prefix() { return "OpenCL"; }

    private MemorySegment kernel(String name) throws Throwable {
        MemorySegment k = kernels.get(name);
        if (k == null) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment err = a.allocate(JAVA_INT);
                k = (MemorySegment) OpenCl.createKernel.invokeExact(program, a.allocateFrom(name), err);
                OpenCl.check(err.get(JAVA_INT, 0), "clCreateKernel(" + name + ")");
            }
            kernels.put(name, k);
        }
        return k;
    }

    private static MemorySegment mem(Buf b) { return MemorySegment.ofAddress(b.handle()); }

    @Override
    protected Buf allocate(long bytes) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment mem = (MemorySegment) OpenCl.createBuffer.invokeExact(context, OpenCl.MEM_READ_WRITE, Math.max(1L, bytes), MemorySegment.NULL, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateBuffer");
            return new Buf(mem.address(), bytes);
        }
    }

    @Override
    protected void write(Buf dst, MemorySegment src, long bytes) throws Throwable {
        OpenCl.check((int) OpenCl.enqueueWriteBuffer.invokeExact(queue, mem(dst), 1, 0L, bytes, src, 0, MemorySegment.NULL, MemorySegment.NULL), "clEnqueueWriteBuffer");
    }

    @Override
    protected void read(Buf src, MemorySegment dst, long bytes) throws Throwable {
        OpenCl.check((int) OpenCl.enqueueReadBuffer.invokeExact(queue, mem(src), 1, 0L, bytes, dst, 0, MemorySegment.NULL, MemorySegment.NULL), "clEnqueueReadBuffer");
    }

    @Override
    protected void free(Buf b) throws Throwable {
        int ignored = (int) OpenCl.releaseMemObject.invokeExact(mem(b));
    }

    @Override
    protected void launch(String name, long[] global, long[] local, Object... args) throws Throwable {
        MemorySegment k = kernel(name);
        try (Arena a = Arena.ofConfined()) {
            for (int i = 0; i < args.length; i++) {
                MemorySegment value;
                long size;
                switch (args[i]) {
                    case Buf b -> {
                        value = a.allocate(ADDRESS);
                        value.set(ADDRESS, 0, mem(b));
                        size = ADDRESS.byteSize();
                    }
                    case Integer v -> {
                        value = a.allocateFrom(JAVA_INT, v);
                        size = 4;
                    }
                    case Float v -> {
                        value = a.allocateFrom(JAVA_FLOAT, v);
                        size = 4;
                    }
                    default -> throw new IllegalArgumentException("kernel argument " + args[i]);
                }
                OpenCl.check((int) OpenCl.setKernelArg.invokeExact(k, i, size, value), "clSetKernelArg(" + name + ", " + i + ")");
            }
            MemorySegment g = a.allocateFrom(JAVA_LONG, global), l = local == null ? MemorySegment.NULL : a.allocateFrom(JAVA_LONG, local);
            OpenCl.check((int) OpenCl.enqueueNDRangeKernel.invokeExact(queue, k, global.length, MemorySegment.NULL, g, l, 0, MemorySegment.NULL, MemorySegment.NULL),
                    "clEnqueueNDRangeKernel(" + name + ")");
        }
    }

    @Override
    protected void synchronize() throws Throwable { OpenCl.check((int) OpenCl.finish.invokeExact(queue), "clFinish"); }

    @Override
    protected void release() throws Throwable {
        for (MemorySegment k : kernels.values()) {
            int ignored = (int) OpenCl.releaseKernel.invokeExact(k);
        }
        kernels.clear();
        int r1 = (int) OpenCl.releaseProgram.invokeExact(program);
        int r2 = (int) OpenCl.releaseCommandQueue.invokeExact(queue);
        int r3 = (int) OpenCl.releaseContext.invokeExact(context);
    }
}
