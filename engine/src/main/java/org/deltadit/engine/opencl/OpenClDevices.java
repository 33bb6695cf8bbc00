package org.deltadit.engine.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** The OpenCL devices of every platform, in the order `--device opencl:N` counts them. */
public final class OpenClDevices {
    private OpenClDevices() {}

    /** One device: its platform and name, global memory, OpenCL C version, and the native handles. */
    public record Device(int index, String platform, String name, long memoryBytes, String openClC, MemorySegment platformId, MemorySegment deviceId) {
        public String describe() {
            return String.format(java.util.Locale.ROOT, "opencl:%d  %s / %s, %.1f GB, %s", index, platform, name, memoryBytes / 1e9, openClC);
        }
    }

    /** Whether an OpenCL library is present at all (devices may still be none). */
    public static boolean libraryPresent() { return OpenCl.available(); }

    /** Why no device can be had ("" when the library is present). */
    public static String unavailableReason() { return OpenCl.available() ? "" : OpenCl.reason(); }

    /** Every device found; empty where there is no library or no platform. */
    public static List<Device> list() {
        List<Device> out = new ArrayList<>();
        if (!OpenCl.available()) return out;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(JAVA_INT);
            int rc = (int) OpenCl.getPlatformIDs.invokeExact(0, MemorySegment.NULL, count);
            if (rc != OpenCl.SUCCESS || count.get(JAVA_INT, 0) == 0) return out; // −1001: no ICD registered
            int np = count.get(JAVA_INT, 0);
            MemorySegment platforms = a.allocate(ADDRESS, np);
            OpenCl.check((int) OpenCl.getPlatformIDs.invokeExact(np, platforms, MemorySegment.NULL), "clGetPlatformIDs");
            for (int p = 0; p < np; p++) {
                MemorySegment pid = platforms.getAtIndex(ADDRESS, p);
                String pname = platformString(pid, OpenCl.PLATFORM_NAME);
                int rcd = (int) OpenCl.getDeviceIDs.invokeExact(pid, OpenCl.DEVICE_TYPE_ALL, 0, MemorySegment.NULL, count);
                if (rcd != OpenCl.SUCCESS) continue;
                int nd = count.get(JAVA_INT, 0);
                MemorySegment devices = a.allocate(ADDRESS, nd);
                OpenCl.check((int) OpenCl.getDeviceIDs.invokeExact(pid, OpenCl.DEVICE_TYPE_ALL, nd, devices, MemorySegment.NULL), "clGetDeviceIDs");
                for (int d = 0; d < nd; d++) {
                    MemorySegment did = devices.getAtIndex(ADDRESS, d);
                    MemorySegment mem = a.allocate(JAVA_LONG);
                    OpenCl.check((int) OpenCl.getDeviceInfo.invokeExact(did, OpenCl.DEVICE_GLOBAL_MEM_SIZE, 8L, mem, MemorySegment.NULL), "clGetDeviceInfo");
                    out.add(new Device(out.size(), pname, deviceString(did, OpenCl.DEVICE_NAME), mem.get(JAVA_LONG, 0),
                            deviceString(did, OpenCl.DEVICE_OPENCL_C_VERSION), pid, did));
                }
            }
        } catch (Throwable t) {
            throw t instanceof RuntimeException re ? re : new IllegalStateException("OpenCL: " + t, t);
        }
        return out;
    }

    private static String platformString(MemorySegment id, int param) throws Throwable { return infoString(OpenCl.getPlatformInfo, id, param); }

    private static String deviceString(MemorySegment id, int param) throws Throwable { return infoString(OpenCl.getDeviceInfo, id, param); }

    /** A string property through clGetPlatformInfo or clGetDeviceInfo (the same shape): size first, then the text. */
    private static String infoString(java.lang.invoke.MethodHandle call, MemorySegment id, int param) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(JAVA_LONG);
            OpenCl.check((int) call.invokeExact(id, param, 0L, MemorySegment.NULL, size), "clGet*Info");
            MemorySegment buf = a.allocate(size.get(JAVA_LONG, 0) + 1);
            OpenCl.check((int) call.invokeExact(id, param, size.get(JAVA_LONG, 0), buf, MemorySegment.NULL), "clGet*Info");
            return buf.getString(0).trim();
        }
    }
}
