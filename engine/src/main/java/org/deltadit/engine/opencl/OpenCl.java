package org.deltadit.engine.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The OpenCL 1.2 host API through java.lang.foreign: only the calls the backend makes, bound once from
 * libOpenCL.so.1 (the ICD loader, which finds PoCL, NVIDIA's or another vendor's driver). Where the
 * library is missing, {@link #available()} is false and the reason says why; nothing else is loaded.
 */
final class OpenCl {
    private OpenCl() {}

    static final int SUCCESS = 0;
    static final long DEVICE_TYPE_ALL = 0xFFFFFFFFL;
    static final int PLATFORM_NAME = 0x0902, DEVICE_NAME = 0x102B, DEVICE_GLOBAL_MEM_SIZE = 0x101F, DEVICE_OPENCL_C_VERSION = 0x103D,
            PROGRAM_BUILD_LOG = 0x1183;
    static final long MEM_READ_WRITE = 1, MEM_READ_ONLY = 1 << 2, MEM_COPY_HOST_PTR = 1 << 5;

    private static final String REASON;
    static final MethodHandle getPlatformIDs, getPlatformInfo, getDeviceIDs, getDeviceInfo, createContext, createCommandQueue,
            createProgramWithSource, buildProgram, getProgramBuildInfo, createKernel, setKernelArg, createBuffer, enqueueWriteBuffer,
            enqueueReadBuffer, enqueueNDRangeKernel, finish, releaseMemObject, releaseKernel, releaseProgram, releaseCommandQueue, releaseContext;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lib = null;
        String reason = null;
        try {
            lib = SymbolLookup.libraryLookup("libOpenCL.so.1", Arena.global());
        } catch (IllegalArgumentException e) {
            reason = "libOpenCL.so.1 not found (install an OpenCL driver, e.g. apt-get install pocl-opencl-icd)";
        }
        REASON = reason;
        SymbolLookup l = lib;
        getPlatformIDs = bind(linker, l, "clGetPlatformIDs", JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        getPlatformInfo = bind(linker, l, "clGetPlatformInfo", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        getDeviceIDs = bind(linker, l, "clGetDeviceIDs", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
        getDeviceInfo = bind(linker, l, "clGetDeviceInfo", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        createContext = bind(linker, l, "clCreateContext", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        createCommandQueue = bind(linker, l, "clCreateCommandQueue", ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
        createProgramWithSource = bind(linker, l, "clCreateProgramWithSource", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        buildProgram = bind(linker, l, "clBuildProgram", JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        getProgramBuildInfo = bind(linker, l, "clGetProgramBuildInfo", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        createKernel = bind(linker, l, "clCreateKernel", ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        setKernelArg = bind(linker, l, "clSetKernelArg", JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS);
        createBuffer = bind(linker, l, "clCreateBuffer", ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS);
        enqueueWriteBuffer = bind(linker, l, "clEnqueueWriteBuffer", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        enqueueReadBuffer = bind(linker, l, "clEnqueueReadBuffer", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        enqueueNDRangeKernel = bind(linker, l, "clEnqueueNDRangeKernel", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        finish = bind(linker, l, "clFinish", JAVA_INT, ADDRESS);
        releaseMemObject = bind(linker, l, "clReleaseMemObject", JAVA_INT, ADDRESS);
        releaseKernel = bind(linker, l, "clReleaseKernel", JAVA_INT, ADDRESS);
        releaseProgram = bind(linker, l, "clReleaseProgram", JAVA_INT, ADDRESS);
        releaseCommandQueue = bind(linker, l, "clReleaseCommandQueue", JAVA_INT, ADDRESS);
        releaseContext = bind(linker, l, "clReleaseContext", JAVA_INT, ADDRESS);
    }

    private static MethodHandle bind(Linker linker, SymbolLookup lib, String name, java.lang.foreign.MemoryLayout ret, java.lang.foreign.MemoryLayout... args) {
        if (lib == null) return null;
        MemorySegment fn = lib.find(name).orElseThrow(() -> new IllegalStateException("libOpenCL.so.1 lacks " + name));
        return linker.downcallHandle(fn, FunctionDescriptor.of(ret, args));
    }

    /** Whether libOpenCL could be loaded. */
    static boolean available() { return REASON == null; }

    /** Why not, when it could not. */
    static String reason() { return REASON; }

    /** Throws with the call's name and OpenCL's error code unless {@code code} is CL_SUCCESS. */
    static void check(int code, String call) {
        if (code != SUCCESS) throw new IllegalStateException("OpenCL " + call + " failed with error " + code + " (" + name(code) + ")");
    }

    static String name(int code) {
        return switch (code) {
            case -1 -> "DEVICE_NOT_FOUND";
            case -4 -> "MEM_OBJECT_ALLOCATION_FAILURE";
            case -5 -> "OUT_OF_RESOURCES";
            case -6 -> "OUT_OF_HOST_MEMORY";
            case -11 -> "BUILD_PROGRAM_FAILURE";
            case -30 -> "INVALID_VALUE";
            case -38 -> "INVALID_MEM_OBJECT";
            case -46 -> "INVALID_KERNEL_NAME";
            case -48 -> "INVALID_KERNEL";
            case -49 -> "INVALID_ARG_INDEX";
            case -50 -> "INVALID_ARG_VALUE";
            case -51 -> "INVALID_ARG_SIZE";
            case -52 -> "INVALID_KERNEL_ARGS";
            case -54 -> "INVALID_WORK_GROUP_SIZE";
            case -1001 -> "PLATFORM_NOT_FOUND_KHR: no OpenCL driver registered";
            default -> "see cl.h";
        };
    }
}
