package org.deltadit.engine;

import java.lang.foreign.MemorySegment;

/**
 * Walks tensors of one logical shape row by row (every index of all but the last dimension), so
 * copies and broadcasting elementwise ops need no per-element index arithmetic.
 */
public final class Strided {
    private Strided() {}

    /** Called once per row with each operand's element offset of the row's first element. */
    @FunctionalInterface
    public interface RowVisitor {
        void row(long[] offsets);
    }

    /**
     * Visits every row of {@code shape}. {@code strides[t]} are operand t's strides for that shape
     * (0 where it is broadcast), {@code base[t]} its starting offset. A rank-0 shape has one row.
     */
    public static void forEachRow(int[] shape, long[][] strides, long[] base, RowVisitor visitor) {
        int outer = shape.length - 1;
        for (int s : shape) if (s == 0) return;
        long[] offsets = base.clone();
        int[] idx = new int[Math.max(outer, 0)];
        while (true) {
            visitor.row(offsets);
            int d = outer - 1;
            while (d >= 0) {
                idx[d]++;
                for (int t = 0; t < offsets.length; t++) offsets[t] += strides[t][d];
                if (idx[d] < shape[d]) break;
                for (int t = 0; t < offsets.length; t++) offsets[t] -= strides[t][d] * shape[d];
                idx[d] = 0;
                d--;
            }
            if (d < 0) return;
        }
    }

    /** Copies {@code src} into {@code dst} (same shape, any strides, any dtypes). */
    static void copy(Tensor src, Tensor dst) {
        int[] shape = dst.shape();
        int r = shape.length;
        int inner = r == 0 ? 1 : shape[r - 1];
        long ss = r == 0 ? 1 : src.stride(-1), ds = r == 0 ? 1 : dst.stride(-1);
        MemorySegment sseg = src.readSegment(), dseg = dst.segment();
        DType st = src.dtype(), dt = dst.dtype();
        Quant q = src.quant();
        float[] buf = new float[inner];
        forEachRow(shape, new long[][] {src.strides(), dst.strides()}, new long[] {src.offset(), dst.offset()}, off -> {
            if (q != null) {
                if (ss == 1) q.read(sseg, off[0], buf, 0, inner);
                else for (int i = 0; i < inner; i++) buf[i] = q.get(sseg, off[0] + i * ss);
            } else if (ss == 1) {
                st.read(sseg, off[0], buf, 0, inner);
            } else {
                for (int i = 0; i < inner; i++) buf[i] = st.get(sseg, off[0] + i * ss);
            }
            if (ds == 1) {
                dt.write(dseg, off[1], buf, 0, inner);
            } else {
                for (int i = 0; i < inner; i++) dt.set(dseg, off[1] + i * ds, buf[i]);
            }
        });
    }

    /** Strides of {@code t} when broadcast to {@code shape} (right-aligned; 0 where t has size 1 or no dimension). */
    public static long[] broadcastStrides(Tensor t, int[] shape) {
        long[] out = new long[shape.length];
        int[] ts = t.shape();
        long[] st = t.strides();
        int shift = shape.length - ts.length;
        for (int d = 0; d < ts.length; d++) out[d + shift] = ts[d] == 1 ? 0 : st[d];
        return out;
    }

    /** The right-aligned broadcast of two shapes, or null when they do not broadcast. */
    public static int[] broadcastShape(int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            int y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (x != y && x != 1 && y != 1) return null;
            out[i] = x == 1 ? y : x;
        }
        return out;
    }
}
