package org.deltadit.engine;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Element types a tensor can hold. Compute is always F32; F16 and BF16 are storage types that are
 * widened on the fly, so half-precision checkpoints need not be held in F32. I8 holds weight-only INT8
 * values, which mean nothing without their scales: it is read only through the tensor's {@link Quant},
 * and the element methods here refuse it rather than return raw integers.
 */
public enum DType {
    F32(4), F16(2), BF16(2), I8(1);

    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    /** Bytes per element. */
    public int bytes() { return bytes; }

    /** Reads the element at {@code index} (in elements) of {@code seg}, widened to float. */
    public float get(MemorySegment seg, long index) {
        return switch (this) {
            case F32 -> seg.getAtIndex(FLOAT, index);
            case F16 -> Float.float16ToFloat(seg.getAtIndex(SHORT, index));
            case BF16 -> bf16ToFloat(seg.getAtIndex(SHORT, index));
            case I8 -> throw unscaled();
        };
    }

    /** Writes {@code v} at {@code index}, rounded to nearest even for the half types. */
    public void set(MemorySegment seg, long index, float v) {
        switch (this) {
            case F32 -> seg.setAtIndex(FLOAT, index, v);
            case F16 -> seg.setAtIndex(SHORT, index, Float.floatToFloat16(v));
            case BF16 -> seg.setAtIndex(SHORT, index, floatToBf16(v));
            case I8 -> throw unscaled();
        }
    }

    /** Widens {@code n} contiguous elements starting at element {@code index} into {@code dst}. */
    public void read(MemorySegment seg, long index, float[] dst, int dstOff, int n) {
        switch (this) {
            case F32 -> MemorySegment.copy(seg, FLOAT, index * 4, dst, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = Float.float16ToFloat(seg.getAtIndex(SHORT, index + i));
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) dst[dstOff + i] = bf16ToFloat(seg.getAtIndex(SHORT, index + i));
            }
            case I8 -> throw unscaled();
        }
    }

    /** Narrows {@code n} floats from {@code src} into contiguous elements starting at {@code index}. */
    public void write(MemorySegment seg, long index, float[] src, int srcOff, int n) {
        switch (this) {
            case F32 -> MemorySegment.copy(src, srcOff, seg, FLOAT, index * 4, n);
            case F16, BF16 -> {
                for (int i = 0; i < n; i++) set(seg, index + i, src[srcOff + i]);
            }
            case I8 -> throw unscaled();
        }
    }

    private static IllegalStateException unscaled() {
        return new IllegalStateException("I8 elements are read through their tensor's scales (Quant), and written only by Quant.quantize");
    }

    /** BF16 is the upper half of an IEEE float: widening is exact. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Round to nearest, ties to even; NaN stays NaN (quiet). */
    public static short floatToBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
