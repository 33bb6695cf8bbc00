package org.deltadit.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;

/**
 * One tensor of a checkpoint: where its elements lie (a segment of the mapped file, an element
 * offset and strides, as PyTorch storages allow views) and how they are stored. Nothing is read
 * until {@link #tensor()} or {@link #toFloatArray()} is called.
 */
public record TensorEntry(String name, StoredType type, int[] shape, long[] strides, long offset, MemorySegment storage, String source) {

    public long numel() {
        long n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    /** Bytes this tensor's elements occupy in the file. */
    public long byteSize() { return numel() * type.bytes(); }

    public String shapeString() { return Arrays.toString(shape); }

    /**
     * The tensor: a zero-copy view for F32/F16/BF16, an F32 copy for other types. Views keep the
     * file's strides, so a transposed PyTorch tensor stays transposed without a copy.
     */
    public Tensor tensor() {
        DType dt = type.engineType();
        if (dt == null) return Tensor.of(toFloatArray(), shape);
        try {
            return Tensor.wrapStrided(storage, dt, shape, strides, offset);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(source + ": tensor '" + name + "' " + e.getMessage());
        }
    }

    /** All elements in row-major order as floats (any stored type). */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 16) throw new CheckpointException(source + ": tensor '" + name + "' is too large to copy into an array");
        if (type.engineType() != null) return tensor().toFloatArray();
        float[] out = new float[(int) n];
        int[] idx = new int[shape.length];
        for (int i = 0; i < n; i++) {
            long at = offset;
            for (int d = 0; d < shape.length; d++) at += idx[d] * strides[d];
            out[i] = read(at);
            for (int d = shape.length - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
        }
        return out;
    }

    private float read(long i) {
        return switch (type) {
            case F64 -> (float) storage.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
            case I64 -> storage.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
            case I32 -> storage.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            case I16 -> storage.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
            case I8 -> storage.get(ValueLayout.JAVA_BYTE, i);
            case U8, BOOL -> storage.get(ValueLayout.JAVA_BYTE, i) & 0xff;
            default -> type.engineType().get(storage, i);
        };
    }

    @Override
    public String toString() { return name + " " + type + " " + shapeString(); }
}
