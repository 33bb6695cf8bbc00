package org.deltadit.weights;

import org.deltadit.engine.DType;

/**
 * Element types found in checkpoint files. The float types the engine computes with map to a
 * {@link DType} and are viewed zero-copy; the others (integer, bool, double) are converted to F32
 * copies on request, since state dicts and config tensors carry a few of them.
 */
public enum StoredType {
    F32(4, DType.F32), F16(2, DType.F16), BF16(2, DType.BF16), F64(8, null),
    I64(8, null), I32(4, null), I16(2, null), I8(1, null), U8(1, null), BOOL(1, null);

    private final int bytes;
    private final DType engineType;

    StoredType(int bytes, DType engineType) {
        this.bytes = bytes;
        this.engineType = engineType;
    }

    public int bytes() { return bytes; }

    /** The engine dtype for a zero-copy view, or null when the values must be converted. */
    public DType engineType() { return engineType; }

    /** Safetensors dtype strings: "F32", "BF16", "I64", "BOOL" … or null if unknown. */
    public static StoredType fromSafetensors(String s) {
        for (StoredType t : values()) if (t.name().equals(s)) return t;
        return null;
    }
}
