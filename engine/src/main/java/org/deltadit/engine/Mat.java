package org.deltadit.engine;

import java.lang.foreign.MemorySegment;

/**
 * A 2-D strided view handed to GEMM kernels: element (r, c) is at element offset
 * {@code offset + r * rowStride + c * colStride} of {@code seg}. A PyTorch linear weight
 * {@code [out, in]} used as B[K = in, N = out] is simply its transpose, with no copy.
 */
public record Mat(MemorySegment seg, DType dtype, long offset, long rowStride, long colStride, int rows, int cols) {

    /** The 2-D tensor {@code t} as a matrix. */
    public static Mat of(Tensor t) {
        if (t.rank() != 2) throw new IllegalArgumentException("matrix view of " + t.shapeString() + ": rank 2 required");
        return new Mat(t.segment(), t.dtype(), t.offset(), t.stride(0), t.stride(1), t.dim(0), t.dim(1));
    }

    public Mat transpose() { return new Mat(seg, dtype, offset, colStride, rowStride, cols, rows); }

    public float get(int r, int c) { return dtype.get(seg, offset + r * rowStride + c * colStride); }

    public void set(int r, int c, float v) { dtype.set(seg, offset + r * rowStride + c * colStride, v); }
}
