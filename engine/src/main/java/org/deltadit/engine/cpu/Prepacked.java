package org.deltadit.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.deltadit.engine.DType;
import org.deltadit.engine.Log;
import org.deltadit.engine.MappedWeights;
import org.deltadit.engine.Mat;

/**
 * The GEMM's B operand for a matrix: constant weights (read-only native memory, {@link Mat.Key}) packed once and
 * kept, everything else packed per call ({@link Gemm.DenseB}). {@code -Ddit.cpu.prepack}: {@code auto} (default)
 * keeps F32 weights as F32 ({@link Gemm.PackedB}) and BF16 weights as BF16 ({@link Gemm.PackedB16}), each copy the
 * size of its weight, while F16 and INT8 weights keep their memory saving and are widened per call; {@code f32}
 * keeps F32 weights only; {@code all} keeps every weight as F32 (2× or 4× a half-precision or INT8 weight's bytes);
 * {@code off} packs nothing. F32 copies live on the heap, BF16 pairs in native memory (see {@link Gemm.PackedB16}),
 * at most half of {@code -Xmx} in all; past that, weights are packed per call. A checkpoint's mapped pages are released once its weight is packed. Copies are
 * carved out of large slabs (see {@link #pack}). With {@code -Ddit.cpu.packcache=DIR} BF16 copies are also written
 * to disk and a later run maps them from there ({@link PackCache}).
 */
final class Prepacked {
    enum Mode { OFF, F32, AUTO, ALL }

    private final Mode mode;
    private final long budget;
    private final ConcurrentHashMap<Mat.Key, Gemm.BSource> packed = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();
    /** Wall time spent packing (calls are serialised by {@link #pack}'s lock, so the times do not overlap). */
    private final AtomicLong nanos = new AtomicLong();
    private volatile boolean full;

    /** BF16 packed copies kept on disk between runs, or null ({@link PackCache}). */
    private final PackCache cache;

    Prepacked(Mode mode, long budget) { this(mode, budget, null); }

    Prepacked(Mode mode, long budget, PackCache cache) {
        this.mode = mode;
        this.budget = budget;
        this.cache = cache;
    }

    /** From {@code -Ddit.cpu.prepack} (auto, f32, all, off), the budget half the heap. */
    static Prepacked fromProperties() {
        String v = System.getProperty("dit.cpu.prepack", "auto").toLowerCase(Locale.ROOT);
        Mode m = switch (v) {
            case "auto" -> Mode.AUTO;
            case "f32" -> Mode.F32;
            case "all" -> Mode.ALL;
            case "off" -> Mode.OFF;
            default -> throw new IllegalArgumentException("-Ddit.cpu.prepack=" + v + ": expected auto, f32, all or off");
        };
        return new Prepacked(m, Runtime.getRuntime().maxMemory() / 2, PackCache.fromProperties());
    }

    /** B for a GEMM: the packed copy of a constant weight (made on its first use), else the matrix itself. */
    Gemm.BSource of(Mat b, WorkerPool pool) {
        boolean half = mode == Mode.AUTO && b.dtype() == DType.BF16 && b.quant() == null;
        boolean keep = switch (mode) {
            case OFF -> false;
            case F32 -> b.dtype() == DType.F32;
            case AUTO -> b.dtype() == DType.F32 || half;
            case ALL -> true;
        };
        Mat.Key key = keep ? b.fixedKey() : null;
        long size = half ? Gemm.PackedB16.size(b) : Gemm.PackedB.size(b);
        if (key == null || size < 0) return new Gemm.DenseB(b);
        Gemm.BSource p = packed.get(key);
        return p != null ? p : pack(key, b, half, (int) size, pool);
    }

    /**
     * Packs b into a slab of its kind (floats, or ints of two BF16 values). Slabs grow to {@value #SLAB}
     * elements (or one weight's size where larger), far larger than the young generation, so the collector
     * allocates them in the old one: with an array per weight, the serial collector copied every new packed array
     * out of the young generation (6 s of pauses for DiT-XL/2's 2.7 GB). One lock: weights are packed once, on a
     * model's first step.
     */
    private synchronized Gemm.BSource pack(Mat.Key key, Mat b, boolean half, int size, WorkerPool pool) {
        Gemm.BSource p = packed.get(key);
        if (p != null) return p;
        long start = System.nanoTime();
        try {
            return packNew(key, b, half, size, pool);
        } finally {
            nanos.addAndGet(System.nanoTime() - start);
        }
    }

    private Gemm.BSource packNew(Mat.Key key, Mat b, boolean half, int size, WorkerPool pool) {
        Gemm.BSource p;
        dropUnmapped();
        String cacheKey = half && cache != null ? PackCache.key(b) : null;
        MemorySegment kept = cacheKey != null ? cache.find(cacheKey, 4L * size) : null;
        if (kept != null) {
            // mapped from the page cache, not allocated: outside the budget, and the checkpoint's pages never read
            return keep(key, b, new Gemm.PackedB16(kept, 0, b.rows(), b.cols()));
        }
        Slab slab = half ? ints : floats;
        Spot spot = slab.take(size, remaining(b));
        if (spot == null) {
            if (!full) {
                full = true;
                Log.info(String.format(Locale.ROOT, "cpu: packed weights reached %.2f GB, half the heap; further weights are packed per call (-Xmx raises it)", bytes.get() / 1e9));
            }
            return new Gemm.DenseB(b);
        }
        p = half ? Gemm.PackedB16.of(b, (MemorySegment) spot.array(), spot.at(), pool) : Gemm.PackedB.of(b, (float[]) spot.array(), spot.at(), pool);
        if (cacheKey != null) cache.store(cacheKey, ((MemorySegment) spot.array()).asSlice(4L * spot.at(), 4L * size));
        keep(key, b, p);
        if (b.seg().isMapped()) release(b);
        return p;
    }

    /** Records {@code p} as b's packed copy, and b's bytes as packed from its mapping; returns p. */
    private Gemm.BSource keep(Mat.Key key, Mat b, Gemm.BSource p) {
        packed.put(key, p);
        packedFrom.merge(key.scope(), (long) b.rows() * b.cols() * b.dtype().bytes(), Long::sum);
        return p;
    }

    /** Source bytes packed so far from each mapping (for {@link #remaining}). */
    private final java.util.Map<java.lang.foreign.MemorySegment.Scope, Long> packedFrom = new java.util.WeakHashMap<>();

    /**
     * About how many 4-byte elements the weights not yet packed from b's checkpoint will take (a packed F32 value
     * or BF16 pair is 4 bytes; tensors that are never packed make it an overestimate), or 0 where b is not mapped
     * from a file the loaders recorded ({@link MappedWeights}).
     */
    private long remaining(Mat b) {
        java.lang.foreign.MemorySegment.Scope scope = b.seg().scope();
        long left = MappedWeights.of(scope) - packedFrom.getOrDefault(scope, 0L);
        return Math.max(0, left / 4);
    }

    /** Elements (4 bytes each) per slab: 256 MB. */
    static final int SLAB = 1 << 26;
    private final Slab floats = new Slab(n -> new float[n]), ints = new Slab(n -> Untouched.allocate(4L * n));

    /** Where a packed copy goes: a slab and the element it starts at. */
    private record Spot(Object array, int at) {}

    /**
     * The slabs that packed copies of one element type are carved from: float arrays, or native segments of ints
     * (BF16 pairs; {@link Untouched}: their unused tails are never resident), freed with the last copy that refers to them.
     */
    private final class Slab {
        /** A slab of {@code length} elements (4 bytes each), {@code used} of them taken. */
        private static final class Piece {
            final Object array;
            final int length;
            int used;

            Piece(Object array, int length, int used) {
                this.array = array;
                this.length = length;
                this.used = used;
            }
        }

        final java.util.function.IntFunction<Object> allocate;
        /** A copy goes to the first piece with room, so no tail is left behind. */
        final java.util.List<Piece> pieces = new java.util.ArrayList<>();

        Slab(java.util.function.IntFunction<Object> allocate) { this.allocate = allocate; }

        /**
         * Room for {@code size} elements (a fresh slab where none has it), or null past the budget. A fresh slab holds
         * what is left of the checkpoint ({@code coming} elements, when known), else twice the last (from 4 MB): a
         * small model takes little and a large one soon gets slabs too big to copy; at most SLAB.
         */
        Spot take(int size, long coming) {
            for (Piece p : pieces) {
                if (p.length - p.used >= size) {
                    p.used += size;
                    return new Spot(p.array, p.used - size);
                }
            }
            long last = pieces.isEmpty() ? 1 << 19 : pieces.getLast().length;
            int next = (int) Math.max(size, Math.min(SLAB, coming > 0 ? coming : 2 * last));
            if (bytes.get() + 4L * next > budget) return null;
            Piece p = new Piece(allocate.apply(next), next, size);
            pieces.add(p);
            bytes.addAndGet(4L * next);
            return new Spot(p.array, 0);
        }

        /** Lets go of the slabs that hold no kept copy; returns the bytes of those kept. */
        long dropUnless(java.util.Set<Object> live) {
            pieces.removeIf(p -> !live.contains(p.array));
            return pieces.stream().mapToLong(p -> 4L * p.length).sum();
        }
    }

    /** Drops the resident pages of a mapped matrix (they stay in the file, read again only if something reads them). */
    private static void release(Mat b) { b.storage().unload(); }

    /** How weights reach the GEMM, for the backend's description (benchmarks record it). */
    String describe() {
        return switch (mode) {
            case OFF -> "weights packed per call";
            case F32 -> "F32 weights packed once";
            case AUTO -> "F32 and BF16 weights packed once" + (cache == null ? "" : ", BF16 kept in " + cache.dir());
            case ALL -> "all weights packed once, as F32";
        };
    }

    /** Packed copies held, and the bytes of their slabs (for the tests and logs). */
    int count() { return packed.size(); }

    long bytes() { return bytes.get(); }

    /** Seconds spent packing so far: a model's first step, where each weight is packed on its first use. */
    double seconds() { return nanos.get() / 1e9; }

    /**
     * Forgets the packed copies of weights whose mapping has been closed; a slab's memory goes when none of its
     * weights is left (a closed model's), and stops counting against the budget then.
     */
    private void dropUnmapped() {
        if (!packed.keySet().removeIf(k -> !k.alive())) return;
        java.util.Set<Object> live = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Gemm.BSource p : packed.values()) live.add(p instanceof Gemm.PackedB16 h ? h.data() : ((Gemm.PackedB) p).data());
        bytes.set(floats.dropUnless(live) + ints.dropUnless(live));
    }
}
