package org.deltadit.engine.cpu;

import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.deltadit.engine.DType;
import org.deltadit.engine.Log;
import org.deltadit.engine.Mat;

/**
 * The GEMM's B operand for a matrix: constant weights (read-only native memory, {@link Mat.Key}) packed once into
 * {@link Gemm.PackedB} and kept, everything else packed per call ({@link Gemm.DenseB}). {@code -Ddit.cpu.prepack}:
 * {@code f32} (default) keeps packed copies of F32 weights only — a copy the size of the weights, so half-precision
 * and INT8 weights keep their memory saving and are widened per call; {@code all} packs those too (as F32: 2× or
 * 4× their bytes); {@code off} packs nothing. Packed copies live on the heap, at most half of {@code -Xmx} in all;
 * past that, weights are packed per call. A checkpoint's mapped pages are released once its weight is packed.
 * Copies are carved out of large slabs (see {@link #pack}).
 */
final class Prepacked {
    enum Mode { OFF, F32, ALL }

    private final Mode mode;
    private final long budget;
    private final ConcurrentHashMap<Mat.Key, Gemm.PackedB> packed = new ConcurrentHashMap<>();
    private final AtomicLong bytes = new AtomicLong();
    private volatile boolean full;

    Prepacked(Mode mode, long budget) {
        this.mode = mode;
        this.budget = budget;
    }

    /** From {@code -Ddit.cpu.prepack} (f32, all, off), the budget half the heap. */
    static Prepacked fromProperties() {
        String v = System.getProperty("dit.cpu.prepack", "f32").toLowerCase(Locale.ROOT);
        Mode m = switch (v) {
            case "f32" -> Mode.F32;
            case "all" -> Mode.ALL;
            case "off" -> Mode.OFF;
            default -> throw new IllegalArgumentException("-Ddit.cpu.prepack=" + v + ": expected f32, all or off");
        };
        return new Prepacked(m, Runtime.getRuntime().maxMemory() / 2);
    }

    /** B for a GEMM: the packed copy of a constant weight (made on its first use), else the matrix itself. */
    Gemm.BSource of(Mat b, WorkerPool pool) {
        Mat.Key key = mode == Mode.OFF || (mode == Mode.F32 && b.dtype() != DType.F32) ? null : b.fixedKey();
        long size = Gemm.PackedB.size(b);
        if (key == null || size < 0) return new Gemm.DenseB(b);
        Gemm.PackedB p = packed.get(key);
        return p != null ? p : pack(key, b, (int) size, pool);
    }

    /**
     * Packs b into the current slab. Slabs grow to {@value #SLAB} floats (or one weight's size where larger), far
     * larger than the young generation, so the collector allocates them in the old one: with an array per weight,
     * the serial collector copied every new packed array out of the young generation (6 s of pauses for
     * DiT-XL/2's 2.7 GB). One lock: weights are packed once, on a model's first step.
     */
    private synchronized Gemm.BSource pack(Mat.Key key, Mat b, int size, WorkerPool pool) {
        Gemm.PackedB p = packed.get(key);
        if (p != null) return p;
        dropUnmapped();
        boolean fresh = slab == null || slab.length - slabUsed < size;
        // each slab twice the last (from 4 MB, at most SLAB), so a small model takes little and a large one soon gets slabs too big to copy
        int next = Math.max(size, Math.min(SLAB, slab == null ? 1 << 20 : 2 * slab.length));
        long grow = fresh ? 4L * next : 0;
        if (bytes.get() + grow > budget) {
            if (!full) {
                full = true;
                Log.info(String.format(Locale.ROOT, "cpu: packed weights reached %.2f GB, half the heap; further weights are packed per call (-Xmx raises it)", bytes.get() / 1e9));
            }
            return new Gemm.DenseB(b);
        }
        if (fresh) {
            slab = new float[next];
            slabUsed = 0;
            bytes.addAndGet(grow);
        }
        p = Gemm.PackedB.of(b, slab, slabUsed, pool);
        slabUsed += size;
        packed.put(key, p);
        if (b.seg().isMapped()) release(b);
        return p;
    }

    /** Floats per slab (256 MB). */
    static final int SLAB = 1 << 26;
    private float[] slab;
    private int slabUsed;

    /** Drops the resident pages of a mapped matrix (they stay in the file, read again only if something reads them). */
    private static void release(Mat b) {
        long first = b.offset(), last = first + (b.rows() - 1L) * b.rowStride() + (b.cols() - 1L) * b.colStride();
        int size = b.dtype().bytes();
        b.seg().asSlice(first * size, (last - first + 1) * size).unload();
    }

    /** How weights reach the GEMM, for the backend's description (benchmarks record it). */
    String describe() {
        return switch (mode) {
            case OFF -> "weights packed per call";
            case F32 -> "F32 weights packed once";
            case ALL -> "all weights packed once, as F32";
        };
    }

    /** Packed copies held, and the bytes of their slabs (for the tests and logs). */
    int count() { return packed.size(); }

    long bytes() { return bytes.get(); }

    /**
     * Forgets the packed copies of weights whose mapping has been closed; a slab's memory goes when none of its
     * weights is left (a closed model's), and stops counting against the budget then.
     */
    private void dropUnmapped() {
        if (!packed.keySet().removeIf(k -> !k.alive())) return;
        java.util.Set<float[]> live = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Gemm.PackedB p : packed.values()) live.add(p.data());
        if (slab != null && !live.contains(slab)) slab = null; // nothing left in it: let it go
        long held = 0;
        for (float[] s : live) held += 4L * s.length;
        bytes.set(held);
    }
}
