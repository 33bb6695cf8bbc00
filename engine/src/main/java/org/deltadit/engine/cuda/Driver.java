package org.deltadit.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The CUDA driver API (libcuda.so.1, installed with NVIDIA's driver) through java.lang.foreign: only the
 * calls the backend makes. A CUdeviceptr is a {@code long}; handles (contexts, modules, functions) are
 * pointers. {@link #init()} is cuInit's result: 0 with a GPU, 100 (no device) where the library exists
 * without one.
 */
final class Driver {
    private Driver() {}

    static final Native LIB = new Native("dit.cuda.driver", "DIT_CUDA_DRIVER", "libcuda.so.1", "libcuda.so");

    static final int SUCCESS = 0, NO_DEVICE = 100;
    static final int ATTR_CC_MAJOR = 75, ATTR_CC_MINOR = 76;

    static final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName, cuDeviceTotalMem, cuDeviceGetAttribute,
            cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease, cuCtxSetCurrent, cuCtxSynchronize, cuMemAlloc, cuMemFree, cuMemcpyHtoD, cuMemcpyDtoH,
            cuModuleLoadData, cuModuleUnload, cuModuleGetFunction, cuLaunchKernel, cuGetErrorName;

    /** Whether every symbol bound ({@code null} when the library is missing; the error otherwise). */
    static final String BIND_ERROR;

    static {
        MethodHandle[] h = new MethodHandle[20];
        String error = null;
        if (LIB.present()) {
            try {
                h[0] = LIB.bind("cuInit", JAVA_INT, JAVA_INT);
                h[1] = LIB.bind("cuDriverGetVersion", JAVA_INT, ADDRESS);
                h[2] = LIB.bind("cuDeviceGetCount", JAVA_INT, ADDRESS);
                h[3] = LIB.bind("cuDeviceGet", JAVA_INT, ADDRESS, JAVA_INT);
                h[4] = LIB.bind("cuDeviceGetName", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
                h[5] = LIB.bind("cuDeviceTotalMem_v2", JAVA_INT, ADDRESS, JAVA_INT);
                h[6] = LIB.bind("cuDeviceGetAttribute", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
                h[7] = LIB.bind("cuDevicePrimaryCtxRetain", JAVA_INT, ADDRESS, JAVA_INT);
                h[8] = LIB.bind("cuDevicePrimaryCtxRelease_v2", JAVA_INT, JAVA_INT);
                h[9] = LIB.bind("cuCtxSetCurrent", JAVA_INT, ADDRESS);
                h[10] = LIB.bind("cuCtxSynchronize", JAVA_INT);
                h[11] = LIB.bind("cuMemAlloc_v2", JAVA_INT, ADDRESS, JAVA_LONG);
                h[12] = LIB.bind("cuMemFree_v2", JAVA_INT, JAVA_LONG);
                h[13] = LIB.bind("cuMemcpyHtoD_v2", JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG);
                h[14] = LIB.bind("cuMemcpyDtoH_v2", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
                h[15] = LIB.bind("cuModuleLoadData", JAVA_INT, ADDRESS, ADDRESS);
                h[16] = LIB.bind("cuModuleUnload", JAVA_INT, ADDRESS);
                h[17] = LIB.bind("cuModuleGetFunction", JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
                h[18] = LIB.bind("cuLaunchKernel", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
                h[19] = LIB.bind("cuGetErrorName", JAVA_INT, JAVA_INT, ADDRESS);
            } catch (IllegalStateException e) {
                error = e.getMessage();
            }
        }
        BIND_ERROR = error;
        cuInit = h[0];
        cuDriverGetVersion = h[1];
        cuDeviceGetCount = h[2];
        cuDeviceGet = h[3];
        cuDeviceGetName = h[4];
        cuDeviceTotalMem = h[5];
        cuDeviceGetAttribute = h[6];
        cuDevicePrimaryCtxRetain = h[7];
        cuDevicePrimaryCtxRelease = h[8];
        cuCtxSetCurrent = h[9];
        cuCtxSynchronize = h[10];
        cuMemAlloc = h[11];
        cuMemFree = h[12];
        cuMemcpyHtoD = h[13];
        cuMemcpyDtoH = h[14];
        cuModuleLoadData = h[15];
        cuModuleUnload = h[16];
        cuModuleGetFunction = h[17];
        cuLaunchKernel = h[18];
        cuGetErrorName = h[19];
    }

    /** Whether the driver library loaded and every call the backend makes resolved. */
    static boolean usable() { return LIB.present() && BIND_ERROR == null; }

    /** Why not. */
    static String reason() { return !LIB.present() ? "libcuda.so.1: " + LIB.reason() : BIND_ERROR; }

    private static volatile Integer initResult;

    /** cuInit(0), once per JVM. */
    static int init() {
        if (initResult == null) {
            synchronized (Driver.class) {
                if (initResult == null) {
                    try {
                        initResult = (int) cuInit.invokeExact(0);
                    } catch (Throwable t) {
                        throw new IllegalStateException("cuInit: " + t, t);
                    }
                }
            }
        }
        return initResult;
    }

    /** Throws with the call's name and the driver's error name unless {@code code} is CUDA_SUCCESS. */
    static void check(int code, String call) {
        if (code != SUCCESS) throw new IllegalStateException("CUDA " + call + " failed with error " + code + " (" + name(code) + ")");
    }

    static String name(int code) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            if ((int) cuGetErrorName.invokeExact(code, p) == SUCCESS && !p.get(ADDRESS, 0).equals(MemorySegment.NULL)) {
                return p.get(ADDRESS, 0).reinterpret(256).getString(0);
            }
        } catch (Throwable ignored) {
            // fall through to the number alone
        }
        return "see cuda.h";
    }
}
