package org.deltadit.engine.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native memory that is not zeroed: {@code Arena.allocate} writes every byte, so a large block is resident at once,
 * while the C library's {@code malloc} maps fresh pages that become resident only where written. A slab of packed
 * weights is sized from what is left of a checkpoint, which overestimates (tensors that are never packed, tails that
 * no weight fits); untouched, the excess costs address space only. Freed when the segment is unreachable. Without
 * native access for this module (a library user's JVM without {@code --enable-native-access}), a zeroed
 * {@code Arena.ofAuto} block instead.
 */
final class Untouched {
    private Untouched() {}

    private static final MethodHandle MALLOC, FREE;

    static {
        MethodHandle malloc = null, free = null;
        if (Untouched.class.getModule().isNativeAccessEnabled()) {
            Linker linker = Linker.nativeLinker();
            malloc = linker.downcallHandle(linker.defaultLookup().find("malloc").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            free = linker.downcallHandle(linker.defaultLookup().find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        }
        MALLOC = malloc;
        FREE = free;
    }

    /** Whether slabs come from malloc (this module has native access) rather than a zeroed Arena block. */
    static boolean fromMalloc() { return MALLOC != null; }

    /** A cache line: packed panel rows are whole lines, so an aligned slab keeps every vector load within one. */
    static final int ALIGN = 64;

    /**
     * {@code bytes} of native memory starting on a cache line ({@link #ALIGN}), contents unspecified, freed once
     * unreachable. (malloc aligns to 16 only, so a slab could start inside a line and every 64-byte load of a panel
     * row straddle two. No effect on speed was measured beyond this machine's noise: bench/README.md.)
     */
    static MemorySegment allocate(long bytes) {
        if (MALLOC == null) return Arena.ofAuto().allocate(bytes, ALIGN);
        MemorySegment raw;
        try {
            raw = (MemorySegment) MALLOC.invokeExact(bytes + ALIGN - 1);
        } catch (Throwable t) {
            throw new IllegalStateException("malloc", t);
        }
        if (raw.equals(MemorySegment.NULL)) throw new OutOfMemoryError("cpu: no native memory for a " + bytes + "-byte slab of packed weights");
        long skip = -raw.address() & (ALIGN - 1);
        return raw.reinterpret(bytes + ALIGN - 1, Arena.ofAuto(), Untouched::free).asSlice(skip, bytes); // the slice keeps the arena alive
    }

    private static void free(MemorySegment s) {
        try {
            FREE.invokeExact(s);
        } catch (Throwable t) {
            throw new IllegalStateException("free", t);
        }
    }
}
