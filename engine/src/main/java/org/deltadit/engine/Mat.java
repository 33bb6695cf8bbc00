package org.deltadit.engine;

import java.lang.foreign.MemorySegment;

/**
 * A 2-D strided view handed to GEMM kernels: element (r, c) is at element offset
 * {@code offset + r * rowStride + c * colStride} of {@code seg}. A PyTorch linear weight
 * {@code [out, in]} used as B[K = in, N = out] is simply its transpose, with no copy. An INT8 weight
 * brings its scales ({@code quant}, else null): read elements through {@link #get} or {@link #read}.
 */
public record Mat(MemorySegment seg, DType dtype, long offset, long rowStride, long colStride, int rows, int cols, Quant quant) {

    /** The 2-D tensor {@code t} as a matrix. */
    public static Mat of(Tensor t) {
        if (t.rank() != 2) throw new IllegalArgumentException("matrix view of " + t.shapeString() + ": rank 2 required");
        return new Mat(t.segment(), t.dtype(), t.offset(), t.stride(0), t.stride(1), t.dim(0), t.dim(1), t.quant());
    }

    /**
     * Identifies a matrix in read-only native memory (a mapped checkpoint's weight, sealed random weights), for
     * caches of what is derived from it (packed panels, device copies). The mapping's scope is part of it: an
     * address can come back in a later mapping once the first is closed ({@link #alive}).
     */
    public record Key(MemorySegment.Scope scope, long address, long offset, long rowStride, long colStride, int rows, int cols, DType dtype) {
        public boolean alive() { return scope.isAlive(); }
    }

    /** This matrix's {@link Key}, or null where its memory may change (the heap, writable native memory). */
    public Key fixedKey() { return seg.isNative() && seg.isReadOnly() ? new Key(seg.scope(), seg.address(), offset, rowStride, colStride, rows, cols, dtype) : null; }

    /** The bytes of {@code seg} from this matrix's first element to its last (non-negative strides, as views have). */
    public MemorySegment storage() {
        long size = dtype.bytes(), last = offset + (rows - 1L) * rowStride + (cols - 1L) * colStride;
        return seg.asSlice(offset * size, (last - offset + 1) * size);
    }

    public Mat transpose() { return new Mat(seg, dtype, offset, colStride, rowStride, cols, rows, quant); }

    public float get(int r, int c) { return at(offset + r * rowStride + c * colStride); }

    /** The element at storage index {@code index}, widened (and dequantized) to float. */
    public float at(long index) { return quant != null ? quant.get(seg, index) : dtype.get(seg, index); }

    /** Reads n elements from storage index {@code start}, spaced {@code stride} apart, into dst[off..]. */
    public void read(long start, long stride, int n, float[] dst, int off) {
        if (stride != 1) {
            for (int i = 0; i < n; i++) dst[off + i] = at(start + i * stride);
        } else if (quant != null) {
            quant.read(seg, start, dst, off, n);
        } else {
            dtype.read(seg, start, dst, off, n);
        }
    }

    public void set(int r, int c, float v) { dtype.set(seg, offset + r * rowStride + c * colStride, v); }
}
