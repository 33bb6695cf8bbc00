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

    /** {@code bytes} of native memory, contents unspecified, freed once unreachable. */
    static MemorySegment allocate(long bytes) {
        if (MALLOC == null) return Arena.ofAuto().allocate(bytes, 64);
        MemorySegment raw;
        try {
            raw = (MemorySegment) MALLOC.invokeExact(bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("malloc", t);
        }
        if (raw.equals(MemorySegment.NULL)) throw new OutOfMemoryError("cpu: no native memory for a " + bytes + "-byte slab of packed weights");
        return raw.reinterpret(bytes, Arena.ofAuto(), Untouched::free);
    }

    private static void free(MemorySegment s) {
        try {
            FREE.invokeExact(s);
        } catch (Throwable t) {
            throw new IllegalStateException("free", t);
        }
    }
}
