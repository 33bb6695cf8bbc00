package org.deltadit.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.invoke.MethodHandle;

/**
 * cuBLAS (libcublas) through java.lang.foreign: the GEMMs of the CUDA backend. cuBLAS is column-major; a
 * row-major C[m,n] = A[m,k]·B[k,n] is asked as Cᵀ = Bᵀ·Aᵀ, which is the same memory read column-major.
 */
final class Cublas {
    private Cublas() {}

    static final Native LIB = new Native("dit.cuda.cublas", "DIT_CUDA_CUBLAS", "libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11");

    static final int OP_N = 0, OP_T = 1;
    /** cudaDataType_t */
    static final int R_32F = 0, R_16BF = 14;
    /** cublasComputeType_t: exact F32, F32 through TF32 tensor cores. */
    static final int COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77;
    static final int GEMM_DEFAULT = -1;

    static final MethodHandle create = LIB.find("cublasCreate_v2", JAVA_INT, ADDRESS),
            destroy = LIB.find("cublasDestroy_v2", JAVA_INT, ADDRESS),
            // handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, computeType, algo
            gemmEx = LIB.find("cublasGemmEx", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT,
                    JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            // as above with a stride after each of A, B, C and the batch count before computeType
            gemmStridedBatchedEx = LIB.find("cublasGemmStridedBatchedEx", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT,
                    JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT);
    static final String BIND_ERROR = LIB.bindError();

    static boolean usable() { return LIB.present() && BIND_ERROR == null; }

    static String reason() { return !LIB.present() ? "cuBLAS: " + LIB.reason() : BIND_ERROR; }

    static void check(int status, String call) {
        if (status != 0) throw new IllegalStateException("cuBLAS " + call + " failed with status " + status);
    }
}
