package org.deltadit.engine;

import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The bytes of checkpoint files mapped in each arena, as the loaders record them: a backend that keeps its own
 * copy of constant weights (the cpu backend's packed panels) sizes its copies to what is still to come, instead of
 * guessing and leaving the unused tail of a large buffer resident (up to a quarter of a gigabyte, zeroed by the JVM).
 */
public final class MappedWeights {
    private static final Map<MemorySegment.Scope, Long> BYTES = Collections.synchronizedMap(new WeakHashMap<>());

    private MappedWeights() {}

    /** A file of {@code bytes} was mapped in {@code scope}. */
    public static void add(MemorySegment.Scope scope, long bytes) { BYTES.merge(scope, bytes, Long::sum); }

    /** The bytes mapped in {@code scope}, 0 where none were recorded. */
    public static long of(MemorySegment.Scope scope) { return BYTES.getOrDefault(scope, 0L); }
}
