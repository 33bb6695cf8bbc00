package org.deltadit.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float vector species, chosen once per JVM by {@code -Ddit.vector.bits=0|128|256|512}
 * (default: the widest the CPU supports; 0 = scalar loops). It is a static final so the JIT
 * folds it: a species held in an instance field would defeat the Vector API's intrinsics.
 */
public final class VectorConfig {
    private VectorConfig() {}

    /** Null in scalar mode. */
    public static final VectorSpecies<Float> S = choose();
    public static final boolean VEC = S != null;
    /** Ints of the same shape (the GEMM widens BF16 pairs held in ints); null in scalar mode. */
    public static final VectorSpecies<Integer> IS = VEC ? S.withLanes(int.class) : null;
    /** Floats per vector, 0 in scalar mode. */
    public static final int LANES = VEC ? S.length() : 0;

    private static VectorSpecies<Float> choose() {
        String prop = System.getProperty("dit.vector.bits");
        int max = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (prop == null || prop.isBlank()) return FloatVector.SPECIES_PREFERRED;
        int bits;
        try {
            bits = Integer.parseInt(prop.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("dit.vector.bits: '" + prop + "' is not a number (0, 128, 256 or 512)");
        }
        if (bits == 0) return null;
        if (bits != 128 && bits != 256 && bits != 512) {
            throw new IllegalArgumentException("dit.vector.bits: " + bits + " (use 0, 128, 256 or 512)");
        }
        if (bits > max) throw new IllegalArgumentException("dit.vector.bits: " + bits + " exceeds this CPU's " + max + "-bit vectors");
        return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }

    /** For logs: "FloatVector 512-bit (16 lanes)" or "scalar". */
    public static String describe() { return VEC ? "FloatVector " + S.vectorBitSize() + "-bit (" + LANES + " lanes)" : "scalar (dit.vector.bits=0)"; }
}
