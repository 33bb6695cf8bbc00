package org.deltadit.engine.device;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The device kernels' one source, {@code ops.cl}: a C subset that OpenCL C 1.2 builds as it stands and
 * that NVRTC builds as CUDA C once {@link #CUDA_PRELUDE} defines the macros it is written with.
 */
public final class Kernels {
    private Kernels() {}

    /** Every kernel ops.cl defines (a build must export each; the CUDA compile test checks the PTX). */
    public static final List<String> NAMES = List.of("gemm", "gemm_bf16b", "bias_rows", "layer_norm", "rms_norm", "group_norm", "unary", "binary", "softmax_rows",
            "scale_mask_softmax", "attention", "conv2d", "upsample_nearest", "to_bf16", "modulate", "gate_residual", "split_heads", "merge_heads");

    /**
     * The macros of ops.cl for CUDA C: unmangled global functions, shared memory, thread indices. NVRTC has no
     * libc headers, so INFINITY is spelled from its bits; CUDA's float overloads of exp, sqrt, erf… are built in.
     */
    public static final String CUDA_PRELUDE = """
            #define KERNEL extern "C" __global__
            #define GLOBAL
            #define LOCAL __shared__
            #define GID(d) ((int) ((d) == 0 ? blockIdx.x * blockDim.x + threadIdx.x : blockIdx.y * blockDim.y + threadIdx.y))
            #define LID(d) ((int) ((d) == 0 ? threadIdx.x : threadIdx.y))
            #define GROUP(d) ((int) ((d) == 0 ? blockIdx.x : blockIdx.y))
            #define BARRIER() __syncthreads()
            #define FLOAT_BITS(v) __float_as_uint(v)
            #define BITS_FLOAT(u) __uint_as_float(u)
            #define INFINITY __int_as_float(0x7f800000)
            typedef unsigned short ushort;
            typedef unsigned int uint;
            """;

    /** ops.cl as OpenCL C. */
    public static String openCl() {
        try (InputStream in = Kernels.class.getResourceAsStream("ops.cl")) {
            if (in == null) throw new IllegalStateException("ops.cl is missing from the engine jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("ops.cl: " + e.getMessage(), e);
        }
    }

    /** ops.cl as CUDA C (the prelude, then the same text). */
    public static String cuda() { return CUDA_PRELUDE + openCl(); }
}
