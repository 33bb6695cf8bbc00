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

    private static final MethodHandle MALLOC, FREE, MADVISE;
    /**
     * {@code -Ddit.cpu.hugepages} (default true): ask Linux for 2 MB pages for slabs of 2 MB and more
     * ({@code madvise(MADV_HUGEPAGE)}; transparent huge pages in "madvise" mode use them only when asked). Packing
     * DiT-XL/2's BF16 weights on its first step took 2.2–2.3 s instead of 3.4–3.5 s with them (a 512th of the page
     * faults, which cost microseconds each in a VM); the GEMM's speed did not measurably change (bench/README.md).
     */
    static final boolean HUGE = Boolean.parseBoolean(System.getProperty("dit.cpu.hugepages", "true"));
    static final long HUGE_PAGE = 2 << 20;
    private static final int MADV_HUGEPAGE = 14;

    static {
        MethodHandle malloc = null, free = null, madvise = null;
        if (Untouched.class.getModule().isNativeAccessEnabled()) {
            Linker linker = Linker.nativeLinker();
            malloc = linker.downcallHandle(linker.defaultLookup().find("malloc").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            free = linker.downcallHandle(linker.defaultLookup().find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
            madvise = linker.defaultLookup().find("madvise")
                    .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT))).orElse(null);
        }
        MALLOC = malloc;
        FREE = free;
        MADVISE = madvise;
    }

    /** Whether slabs come from malloc (this module has native access) rather than a zeroed Arena block. */
    static boolean fromMalloc() { return MALLOC != null; }

    /** A cache line: packed panel rows are whole lines, so an aligned slab keeps every vector load within one. */
    static final int ALIGN = 64;

    /**
     * {@code bytes} of native memory starting on a cache line ({@link #ALIGN}; on a 2 MB page where {@link #HUGE}
     * applies), contents unspecified, freed once
     * unreachable. (malloc aligns to 16 only, so a slab could start inside a line and every 64-byte load of a panel
     * row straddle two. No effect on speed was measured beyond this machine's noise: bench/README.md.)
     */
    static MemorySegment allocate(long bytes) {
        if (MALLOC == null) return Arena.ofAuto().allocate(bytes, ALIGN);
        boolean huge = hugePagesApply(bytes);
        long align = huge ? HUGE_PAGE : ALIGN;
        MemorySegment raw;
        try {
            raw = (MemorySegment) MALLOC.invokeExact(bytes + align - 1);
        } catch (Throwable t) {
            throw new IllegalStateException("malloc", t);
        }
        if (raw.equals(MemorySegment.NULL)) throw new OutOfMemoryError("cpu: no native memory for a " + bytes + "-byte slab of packed weights");
        long skip = -raw.address() & (align - 1);
        MemorySegment s = raw.reinterpret(bytes + align - 1, Arena.ofAuto(), Untouched::free).asSlice(skip, bytes); // the slice keeps the arena alive
        if (huge) hugePages(s); // a refusal (no THP) only costs the speed-up
        return s;
    }

    /** Whether 2 MB pages are asked for over {@code bytes}: on (-Ddit.cpu.hugepages), madvise reachable, at least one page. */
    private static boolean hugePagesApply(long bytes) { return HUGE && MADVISE != null && bytes >= HUGE_PAGE; }

    /**
     * Asks Linux for 2 MB pages over {@code s}'s whole 2 MB units ({@code madvise(MADV_HUGEPAGE)}); for a mapped file
     * this also makes a fault read the file ahead in 2 MB folios. Advice: false where refused or unavailable.
     */
    static boolean hugePages(MemorySegment s) {
        if (!hugePagesApply(s.byteSize())) return false;
        try {
            return (int) MADVISE.invokeExact(s, s.byteSize() / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE) == 0;
        } catch (Throwable t) {
            throw new IllegalStateException("madvise", t);
        }
    }

    private static void free(MemorySegment s) {
        try {
            FREE.invokeExact(s);
        } catch (Throwable t) {
            throw new IllegalStateException("free", t);
        }
    }
}
