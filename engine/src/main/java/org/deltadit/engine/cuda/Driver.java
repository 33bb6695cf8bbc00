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

    static final MethodHandle cuInit = LIB.find("cuInit", JAVA_INT, JAVA_INT),
            cuDriverGetVersion = LIB.find("cuDriverGetVersion", JAVA_INT, ADDRESS),
            cuDeviceGetCount = LIB.find("cuDeviceGetCount", JAVA_INT, ADDRESS),
            cuDeviceGet = LIB.find("cuDeviceGet", JAVA_INT, ADDRESS, JAVA_INT),
            cuDeviceGetName = LIB.find("cuDeviceGetName", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            cuDeviceTotalMem = LIB.find("cuDeviceTotalMem_v2", JAVA_INT, ADDRESS, JAVA_INT),
            cuDeviceGetAttribute = LIB.find("cuDeviceGetAttribute", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            cuDevicePrimaryCtxRetain = LIB.find("cuDevicePrimaryCtxRetain", JAVA_INT, ADDRESS, JAVA_INT),
            cuDevicePrimaryCtxRelease = LIB.find("cuDevicePrimaryCtxRelease_v2", JAVA_INT, JAVA_INT),
            cuCtxSetCurrent = LIB.find("cuCtxSetCurrent", JAVA_INT, ADDRESS),
            cuCtxSynchronize = LIB.find("cuCtxSynchronize", JAVA_INT),
            cuMemAlloc = LIB.find("cuMemAlloc_v2", JAVA_INT, ADDRESS, JAVA_LONG),
            cuMemFree = LIB.find("cuMemFree_v2", JAVA_INT, JAVA_LONG),
            cuMemcpyHtoD = LIB.find("cuMemcpyHtoD_v2", JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG),
            cuMemcpyDtoH = LIB.find("cuMemcpyDtoH_v2", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG),
            cuModuleLoadData = LIB.find("cuModuleLoadData", JAVA_INT, ADDRESS, ADDRESS),
            cuModuleUnload = LIB.find("cuModuleUnload", JAVA_INT, ADDRESS),
            cuModuleGetFunction = LIB.find("cuModuleGetFunction", JAVA_INT, ADDRESS, ADDRESS, ADDRESS),
            cuLaunchKernel = LIB.find("cuLaunchKernel", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS),
            cuGetErrorName = LIB.find("cuGetErrorName", JAVA_INT, JAVA_INT, ADDRESS);

    /** The first call that did not resolve (null when all did, or when the library is missing). */
    static final String BIND_ERROR = LIB.bindError();

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
