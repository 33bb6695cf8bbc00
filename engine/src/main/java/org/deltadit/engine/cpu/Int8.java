package org.deltadit.engine.cpu;

import static org.deltadit.engine.cpu.VectorConfig.LANES;
import static org.deltadit.engine.cpu.VectorConfig.S;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.deltadit.engine.Quant;

/**
 * Dequantizes INT8 weights while the GEMM packs them: a quarter of F32's bytes cross the memory bus,
 * and the widening (sign-extend, convert, scale) costs the packing loop a few instructions per vector.
 * {@link Quant#read} is the scalar reference of the same contract.
 */
final class Int8 {
    private Int8() {}

    /** Bytes of one float vector's lanes; null in scalar mode or where that is under 64 bits. */
    private static final VectorSpecies<Byte> B = LANES * 8 >= 64 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8)) : null;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** As {@link Quant#read}: {@code n} contiguous elements from storage index {@code index}. */
    static void read(Quant q, MemorySegment seg, long index, float[] dst, int off, int n) {
        if (B == null) {
            q.read(seg, index, dst, off, n);
            return;
        }
        for (int i = 0; i < n; ) {
            long e = index + i;
            int run = (int) Math.min(n - i, q.group() - (e - q.base()) % q.group());
            float s = q.scale(e);
            FloatVector sv = FloatVector.broadcast(S, s);
            int j = 0, to = off + i;
            for (; j + LANES <= run; j += LANES) {
                ByteVector b = ByteVector.fromMemorySegment(B, seg, e + j, ORDER);
                ((FloatVector) b.convertShape(VectorOperators.B2F, S, 0)).mul(sv).intoArray(dst, to + j);
            }
            for (; j < run; j++) dst[to + j] = seg.get(ValueLayout.JAVA_BYTE, e + j) * s;
            i += run;
        }
    }
}
