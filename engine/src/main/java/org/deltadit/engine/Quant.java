package org.deltadit.engine;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Weight-only INT8 (Δ-DiT paper, App. E): the element of an {@link DType#I8} tensor at storage index
 * {@code e} is {@code q[e] × scales[(e − base) / group]}. Quantization is symmetric (no zero point),
 * one F32 scale per output channel ({@code group} = the row length) or per {@code group} consecutive
 * inputs of a row, so a row's scales are contiguous and a view of the tensor (a transpose for a linear)
 * needs no bookkeeping beyond the storage index it reads.
 *
 * @param scales F32 scales, [rows × groups per row], row-major
 * @param base   storage index of the quantized tensor's first element
 * @param group  elements per scale; divides the row length
 */
public record Quant(MemorySegment scales, long base, int group) {
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    public Quant {
        if (group <= 0) throw new IllegalArgumentException("quant: group " + group + " (must be positive)");
        if (base < 0) throw new IllegalArgumentException("quant: base " + base);
    }

    /** The scale of storage element {@code index}. */
    public float scale(long index) { return scales.getAtIndex(FLOAT, (index - base) / group); }

    /** The dequantized value of storage element {@code index} of {@code q}. */
    public float get(MemorySegment q, long index) { return q.get(ValueLayout.JAVA_BYTE, index) * scale(index); }

    /** Dequantizes {@code n} contiguous elements from storage index {@code index} into {@code dst[off..]}. */
    public void read(MemorySegment q, long index, float[] dst, int off, int n) {
        for (int i = 0; i < n; ) {
            long e = index + i;
            // one scale per run up to the next group boundary
            int run = (int) Math.min(n - i, group - (e - base) % group);
            float s = scale(e);
            for (int j = 0; j < run; j++) dst[off + i + j] = q.get(ValueLayout.JAVA_BYTE, e + j) * s;
            i += run;
        }
    }

    /**
     * Symmetric INT8 of {@code w} (rank ≥ 2; a row is everything after dimension 0): per output channel
     * when {@code groupSize} is 0, else per {@code groupSize} consecutive elements of a row, which must
     * divide the row length. Each scale is max|w| / 127 over its elements, values round to nearest and
     * lie in [−127, 127]; an all-zero group gets scale 0. Non-finite weights are an error.
     */
    public static Tensor quantize(Tensor w, int groupSize) {
        if (w.quant() != null) throw new IllegalArgumentException("quantize: " + w.shapeString() + " is already INT8");
        if (w.rank() < 2) throw new IllegalArgumentException("quantize: " + w.shapeString() + " (a weight of rank 2 or more: [out, in, …])");
        int rows = w.dim(0);
        long rowLen = rows == 0 ? 0 : w.numel() / rows;
        if (groupSize < 0) throw new IllegalArgumentException("quantize: group size " + groupSize + " (0 = per output channel, or a positive divisor of the row length)");
        long group = groupSize == 0 ? Math.max(1, rowLen) : groupSize;
        if (rowLen % group != 0) throw new IllegalArgumentException("quantize: group size " + groupSize + " does not divide the row length " + rowLen + " of " + w.shapeString());
        if (w.numel() > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("quantize: " + w.shapeString() + " is too large");
        float[] v = w.toFloatArray();
        byte[] q = new byte[v.length];
        float[] scales = new float[(int) (v.length / group)];
        int bad = quantizeGroups(v, v.length, (int) group, q, scales, 0);
        if (bad >= 0) throw new IllegalArgumentException("quantize: non-finite weight " + v[bad] + " at element " + bad + " of " + w.shapeString());
        return Tensor.quantized(MemorySegment.ofArray(q), w.shape(), MemorySegment.ofArray(scales), (int) group);
    }

    /**
     * The rule of {@link #quantize} on {@code v[0, n)}, whole groups of {@code group}: values into {@code q[0, n)}, one
     * scale a group into {@code scales} from {@code at}. Returns the index of the first non-finite value (the outputs
     * are then incomplete), else −1. A writer streams a weight through it a few rows at a time.
     */
    public static int quantizeGroups(float[] v, int n, int group, byte[] q, float[] scales, int at) {
        for (int from = 0; from < n; from += group) {
            int to = from + group;
            float max = 0;
            for (int i = from; i < to; i++) {
                if (!Float.isFinite(v[i])) return i;
                max = Math.max(max, Math.abs(v[i]));
            }
            float s = max / 127f;
            scales[at++] = s;
            if (s == 0) {
                java.util.Arrays.fill(q, from, to, (byte) 0);
                continue;
            }
            for (int i = from; i < to; i++) q[i] = (byte) Math.max(-127, Math.min(127, Math.round(v[i] / s)));
        }
        return -1;
    }

    /**
     * Concatenation along dimension 0 of INT8 parts with one group size (diffusers' separate q, k and v
     * projections into the canonical fused qkv): values and scales are joined, still INT8. Null when the
     * parts are not all such tensors, and {@link Tensor#concat} then dequantizes to F32.
     */
    static Tensor concatRows(int dim, Tensor[] parts, int[] shape) {
        int group = parts[0].quant() == null ? 0 : parts[0].quant().group();
        for (Tensor p : parts) {
            Quant q = p.quant();
            if (dim != 0 || q == null || q.group != group || !p.isContiguous() || (p.offset() - q.base) % group != 0) return null;
        }
        long n = Tensor.count(shape);
        byte[] values = new byte[Math.toIntExact(n)];
        float[] scales = new float[Math.toIntExact(n / group)];
        int at = 0;
        for (Tensor p : parts) {
            int len = Math.toIntExact(p.numel());
            MemorySegment.copy(p.readSegment(), ValueLayout.JAVA_BYTE, p.offset(), values, at, len);
            MemorySegment.copy(p.quant().scales, FLOAT, 4 * ((p.offset() - p.quant().base) / group), scales, at / group, len / group);
            at += len;
        }
        return Tensor.quantized(MemorySegment.ofArray(values), shape, MemorySegment.ofArray(scales), group);
    }

    /**
     * The scales of a contiguous INT8 tensor as [rows, groups per row] (what a file stores beside its values);
     * a view that starts inside a group has no such table and is an error.
     */
    public static Tensor scalesOf(Tensor t) {
        Quant q = t.quant();
        if (q == null) throw new IllegalArgumentException("scales: " + t + " is not INT8");
        long rowLen = t.rank() < 2 || t.dim(0) == 0 ? 0 : t.numel() / t.dim(0);
        if (!t.isContiguous() || (t.offset() - q.base) % q.group != 0 || t.rank() < 2 || rowLen % q.group != 0) {
            throw new IllegalArgumentException("scales: " + t + " is a view that does not start at a group (copy it to F32 instead)");
        }
        long n = t.numel(), groups = n / q.group;
        float[] out = new float[Math.toIntExact(groups)];
        MemorySegment.copy(q.scales, FLOAT, 4 * ((t.offset() - q.base) / q.group), out, 0, out.length);
        int rows = t.dim(0);
        return Tensor.of(out, rows, rows == 0 ? 0 : (int) (groups / rows));
    }
}
