package org.deltadit.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;

/**
 * One tensor of a checkpoint: where its elements lie (a segment of the mapped file, an element
 * offset and strides, as PyTorch storages allow views) and how they are stored. Nothing is read
 * until {@link #tensor()} or {@link #toFloatArray()} is called. An I8 weight written by {@code dit quantize}
 * has its scales as a companion entry ({@code scale}, the file's {@code <name>_scale}); see {@link StateDict}.
 */
public record TensorEntry(String name, StoredType type, int[] shape, long[] strides, long offset, MemorySegment storage, String source, TensorEntry scale) {

    public TensorEntry(String name, StoredType type, int[] shape, long[] strides, long offset, MemorySegment storage, String source) {
        this(name, type, shape, strides, offset, storage, source, null);
    }

    /** Suffix of the entry holding an INT8 weight's scales: {@code blocks.0.attn.qkv.weight_scale}. */
    public static final String SCALE_SUFFIX = "_scale";

    /**
     * This I8 entry with its scales ([rows] or [rows, groups], any float type): rows are the weight's
     * dimension 0, and the groups split each row evenly. Errors name the file and the tensor.
     */
    TensorEntry withScale(TensorEntry s) {
        String what = source + ": INT8 tensor '" + name + "' " + shapeString();
        if (type != StoredType.I8) throw new CheckpointException(what + " is " + type + ", so '" + s.name + "' scales nothing");
        if (s.type.engineType() == null) throw new CheckpointException(what + ": its scales '" + s.name + "' are " + s.type + " (F32, F16 or BF16)");
        if (shape.length < 2 || !java.util.Arrays.equals(strides, org.deltadit.engine.Tensor.contiguousStrides(shape))) {
            throw new CheckpointException(what + ": an INT8 weight must be stored contiguous with rank 2 or more");
        }
        long rows = shape[0], rowLen = rows == 0 ? 0 : numel() / rows, groups = rows == 0 ? 0 : s.numel() / rows;
        boolean ok = s.shape.length >= 1 && s.shape.length <= 2 && s.shape[0] == rows && groups > 0 && rowLen % groups == 0;
        if (!ok) throw new CheckpointException(what + ": scales '" + s.name + "' " + s.shapeString() + " are not [" + rows + "] or [" + rows + ", groups dividing " + rowLen + "]");
        return new TensorEntry(name, type, shape, strides, offset, storage, source, s);
    }

    public long numel() {
        long n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    /** Bytes this tensor's elements (and an INT8 weight's scales) occupy in the file. */
    public long byteSize() { return numel() * type.bytes() + (scale == null ? 0 : scale.byteSize()); }

    public String shapeString() { return Arrays.toString(shape); }

    /**
     * The tensor: a zero-copy view for F32/F16/BF16, an F32 copy for other types. Views keep the
     * file's strides, so a transposed PyTorch tensor stays transposed without a copy.
     */
    public Tensor tensor() {
        if (scale != null) {
            int groups = Math.toIntExact(scale.numel() / shape[0]);
            float[] sc = scale.toFloatArray();
            return org.deltadit.engine.Tensor.quantized(storage.asSlice(offset, numel()), shape, MemorySegment.ofArray(sc), Math.toIntExact(numel() / shape[0] / groups));
        }
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
        if (type.engineType() != null || scale != null) return tensor().toFloatArray();
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
