package org.deltadit.engine.device;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deltadit.engine.AdaLnBlock;
import org.deltadit.engine.Backend;
import org.deltadit.engine.DType;
import org.deltadit.engine.Mat;
import org.deltadit.engine.Tensor;

/**
 * The op SPI on a device with its own memory (OpenCL, CUDA): every kernel of {@code ops.cl} launched the
 * same way, so a device backend only says how to allocate, copy and launch. Weights that cannot change
 * (read-only native memory: a checkpoint as the loaders map it, or random weights sealed after filling)
 * are uploaded once and kept. An op's result stays in device memory, attached to the output tensor
 * ({@link Tensor#attach}): the next op on this backend that takes the whole tensor as an input reads it in place,
 * and host code that reads it brings it down then. So the hidden state stays on the device through a run of
 * transformer blocks ({@link #adaLnBlocks}), from one run to the next and into the Δ arithmetic of a cache;
 * what host code reads (the model's output for the sampler) crosses, and so do inputs that are only part of a
 * storage (a slice, permuted heads) and matmul's results (the SPI's GEMM writes a host matrix; linear's stay).
 * Kernels are queued without waiting; an op waits once, at its end or before a download. Calls are serialised: one queue or stream, and kernel arguments are per-kernel state.
 */
public abstract class DeviceBackend extends Backend implements AutoCloseable {

    /** Device memory: a handle (a cl_mem's address, a CUdeviceptr) and its size in bytes. */
    public record Buf(long handle, long bytes) {}

    /** How a resident weight is kept: F32 row-major, or BF16 row-major for tensor-core GEMMs. */
    protected enum Form { F32, BF16 }

    /** A read-only matrix ({@link Mat.Key}: where it lives and how it is viewed) and how its device copy is kept. */
    private record WeightKey(Mat.Key mat, Form form) {}

    private final Map<WeightKey, Buf> weights = new HashMap<>();
    /**
     * Buffers of finished ops, by size, for the next op of the same shapes (a model repeats its shapes every
     * block): allocating and freeing device memory per op costs more than many kernels. Every op has
     * finished on the device when it returns, so a pooled buffer is never still in use.
     */
    private final Map<Long, java.util.ArrayDeque<Buf>> pool = new HashMap<>();
    private long pooledBytes;
    /** At most this much device memory is held idle in the pool. */
    private static final long POOL_LIMIT = 1L << 31;
    private boolean closed;
    private int reclaims;
    /** Buffers attached to tensors ({@link Held}), by identity, so that closing frees them. */
    private final java.util.Set<Held> held = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    /** Buffers whose tensors are gone (queued by the cleaner thread), back to the pool at the next op. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Held> dead = new java.util.concurrent.ConcurrentLinkedQueue<>();
    /** Whether ops leave their results on the device ({@code -Ddit.device.resident=false}: every result comes down, as before). */
    private volatile boolean keepResults = !"false".equals(System.getProperty("dit.device.resident"));

    /** Where an op's time goes (nanoseconds, bytes), for {@link #stats()}: the host's share is what residency would save. */
    private long ops, opNanos, upNanos, upBytes, downNanos, downBytes, launchNanos, launches, allocNanos, allocs, weightNanos, weightBytes, waits;
    /** Kernels or library calls queued since the last wait. */
    private boolean pending;

    // ---- what a device provides -------------------------------------------------------------

    /** {@code bytes} (at least 1) of uninitialised device memory. */
    protected abstract Buf allocate(long bytes) throws Throwable;

    protected abstract void write(Buf dst, MemorySegment src, long bytes) throws Throwable;

    protected abstract void read(Buf src, MemorySegment dst, long bytes) throws Throwable;

    protected abstract void free(Buf b) throws Throwable;

    /**
     * Queues {@code kernel} over {@code global} work-items (1 or 2 dimensions) in work-groups of {@code local}
     * (null: the backend chooses) with the arguments (Buf, Integer, Float), without waiting for it: the queue
     * (stream) is in order, so later kernels, copies and library calls see its results, and the op waits once,
     * before its download ({@link #synchronize}). Arguments are copied when the kernel is queued.
     */
    protected abstract void launch(String kernel, long[] global, long[] local, Object... args) throws Throwable;

    /** Called at the start of every op, on the calling thread (CUDA makes its context current there). */
    protected void enter() throws Throwable {}

    /** What the backend's device calls failed with, as one message. */
    protected abstract String prefix();

    /** Releases the device's own handles (context, queue, module…); resident weights are already freed. */
    protected abstract void release() throws Throwable;

    /** Frees the resident weights and the device's handles; later ops fail with a clear message, not a crash. */
    @Override
    public final synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            enter();
            synchronize();
        } catch (Throwable ignored) {
            // freeing still goes ahead
        }
        List<Buf> resident = new ArrayList<>(weights.values());
        if (none != null) resident.add(none);
        drainDead();
        // results still referenced come down into their tensors, which stay readable after the backend is gone
        try (Arena a = Arena.ofConfined()) {
            for (Held h : held) {
                h.bringDown(a, h.host);
                h.saved = true;
            }
        } catch (Throwable ignored) {
            // a device that fails here leaves those tensors unreadable: their reads say the backend was closed
        }
        for (Held h : held) resident.add(h.buf);
        held.clear();
        dead.clear();
        resident.addAll(emptyPool());
        for (Buf b : resident) {
            try {
                free(b);
            } catch (Throwable ignored) {
                // closing: nothing left to report to
            }
        }
        weights.clear();
        try {
            release();
        } catch (Throwable ignored) {
            // closing: nothing left to report to
        }
    }

    // ---- ops --------------------------------------------------------------------------------

    /** One op's body: buffers it makes through {@link #in}/{@link #out} are freed when it ends. */
    @FunctionalInterface
    protected interface Body {
        void run(Arena a, List<Buf> made) throws Throwable;
    }

    protected final synchronized void op(Body body) {
        if (closed) throw new IllegalStateException(prefix() + ": this backend was closed");
        List<Buf> made = new ArrayList<>();
        long t0 = System.nanoTime();
        ops++;
        try (Arena a = Arena.ofConfined()) {
            enter();
            drainDead();
            body.run(a, made);
            waitForQueue(); // an op that downloads nothing still reports its kernels' failures as its own
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(prefix() + ": " + t, t);
        } finally {
            for (Buf b : made) recycle(b);
            opNanos += System.nanoTime() - t0;
        }
    }

    /**
     * A buffer of this op holding {@code data} (at least one float, so no argument is ever null); for absent data
     * (null) the shared {@link #none()}, so an op's optional arguments cost no upload.
     */
    protected final Buf in(Arena a, List<Buf> made, float[] data) throws Throwable {
        if (data == null) return none();
        float[] d = data.length == 0 ? new float[1] : data;
        Buf b = out(made, d.length);
        MemorySegment host = a.allocateFrom(JAVA_FLOAT, d);
        waitForQueue(); // a copy waits for the queue anyway (a blocking write, a synchronous memcpy): count the wait as the kernels'
        long t0 = System.nanoTime();
        write(b, host, 4L * d.length);
        upNanos += System.nanoTime() - t0;
        upBytes += 4L * d.length;
        return b;
    }

    /** A result left on the device: a buffer of this backend attached to the tensor it is the value of. */
    private final class Held implements Tensor.DeviceCopy {
        final Buf buf;
        /** The tensor's host storage (not the tensor: the cleaner watches that), filled when the backend closes. */
        final MemorySegment host;
        /** Set when closing brought the values down into {@link #host}: nothing is left to read on the device. */
        volatile boolean saved;
        private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();

        Held(Buf buf, MemorySegment host) {
            this.buf = buf;
            this.host = host;
        }

        @Override
        public Object owner() { return DeviceBackend.this; }

        @Override
        public void download(MemorySegment host) {
            if (saved) return;
            op((a, made) -> bringDown(a, host));
        }

        /** The buffer's bytes into {@code into} (host memory of any kind), through native memory of {@code a}. */
        void bringDown(Arena a, MemorySegment into) throws Throwable {
            MemorySegment tmp = a.allocate(buf.bytes(), 64);
            timedRead(buf, tmp, buf.bytes());
            MemorySegment.copy(tmp, 0, into, 0, buf.bytes());
        }

        @Override
        public void release() { if (released.compareAndSet(false, true)) dead.add(this); }
    }

    /** Whether ops leave their results on the device (default: yes; {@code -Ddit.device.resident=false}: no). */
    public void keepResults(boolean keep) { keepResults = keep; }

    /** Results now held on the device for tensors (for the tests and logs). */
    public synchronized int heldResults() {
        drainDead();
        return held.size();
    }

    /** Buffers of tensors the cleaner found gone go back to the pool. */
    private void drainDead() {
        for (Held h; (h = dead.poll()) != null; ) if (held.remove(h)) recycle(h.buf);
    }

    /** x's device copy on this backend, where x is the whole of it as F32 (then an op reads it in place), else null. */
    private Buf residentBuf(Tensor x) {
        if (!(x.deviceCopy() instanceof Held h) || h.owner() != this || x.dtype() != DType.F32 || !x.viewsWholeStorage()) return null;
        return h.buf;
    }

    /** x on the device for this op: its resident copy read in place (an op must not write it), else uploaded. */
    protected final Buf in(Arena a, List<Buf> made, Tensor x) throws Throwable {
        Buf r = residentBuf(x);
        return r != null ? r : in(a, made, x.toFloatArray());
    }

    /** {@code t} read through {@code strides} at every index of {@code shape}: in place where that is t itself, whole and resident, else expanded and uploaded. */
    private Buf in(Arena a, List<Buf> made, Tensor t, long[] strides, int[] shape) throws Throwable {
        if (Arrays.equals(t.shape(), shape) && Arrays.equals(strides, Tensor.contiguousStrides(shape))) { // t as it is: residentBuf checks the rest
            Buf r = residentBuf(t);
            if (r != null) return r;
        }
        return in(a, made, expand(t, strides, shape));
    }

    /**
     * Makes {@code o} (a buffer of this op holding out's values) out's value: left on the device and attached to
     * out where out is a whole F32 storage, else brought down into it.
     */
    protected final void result(Arena a, List<Buf> made, Buf o, Tensor out) throws Throwable {
        if (keepResults && out.dtype() == DType.F32 && out.viewsWholeStorage() && o.bytes() == 4L * out.numel() && made.remove(o)) {
            Held h = new Held(o, out.readSegment());
            held.add(h);
            out.attach(h);
            return;
        }
        store(download(a, o, out.numel()), out);
    }

    /** An uninitialised F32 buffer of this op. */
    protected final Buf out(List<Buf> made, long floats) throws Throwable {
        Buf b = obtain(4L * Math.max(1, floats));
        made.add(b);
        return b;
    }

    /** A buffer of exactly {@code bytes} bytes: a pooled one, else a new allocation. */
    protected final Buf obtain(long bytes) throws Throwable {
        var q = pool.get(bytes);
        if (q != null && !q.isEmpty()) {
            pooledBytes -= bytes;
            return q.pop();
        }
        long t0 = System.nanoTime();
        Buf b;
        try {
            b = allocate(bytes);
        } catch (Throwable t) {
            if (held.isEmpty() && pooledBytes == 0) throw t;
            reclaim();
            b = allocate(bytes); // still failing: the device is full of what is in use
        }
        allocNanos += System.nanoTime() - t0;
        allocs++;
        return b;
    }

    /**
     * Device memory ran out: held results whose tensors are gone wait for the garbage collector, which knows
     * nothing of device memory, so collect now, give their buffers back, and free the idle pool.
     */
    private void reclaim() throws Throwable {
        reclaims++;
        System.gc();
        for (int i = 0; i < 50 && dead.isEmpty(); i++) Thread.sleep(10); // the cleaner runs on its own thread
        drainDead();
        for (Buf p : emptyPool()) free(p);
    }

    /** Takes every idle buffer out of the pool (to be freed). */
    private List<Buf> emptyPool() {
        List<Buf> all = new ArrayList<>();
        for (var q : pool.values()) all.addAll(q);
        pool.clear();
        pooledBytes = 0;
        return all;
    }

    /** Times device memory ran out and was reclaimed from results nobody references (for the tests and logs). */
    public synchronized int reclaims() { return reclaims; }

    /** Back to the pool, or freed where the pool is full. */
    private void recycle(Buf b) {
        if (!closed && pooledBytes + b.bytes() <= POOL_LIMIT) {
            pool.computeIfAbsent(b.bytes(), k -> new java.util.ArrayDeque<>()).push(b);
            pooledBytes += b.bytes();
            return;
        }
        try {
            free(b);
        } catch (Throwable ignored) {
            // the op's own failure, if any, is the one to report
        }
    }

    protected final float[] download(Arena a, Buf b, long floats) throws Throwable {
        MemorySegment host = a.allocate(JAVA_FLOAT, Math.max(1, floats));
        timedRead(b, host, 4L * floats);
        return Arrays.copyOf(host.toArray(JAVA_FLOAT), (int) floats);
    }

    private void timedRead(Buf b, MemorySegment host, long bytes) throws Throwable {
        waitForQueue();
        long t0 = System.nanoTime();
        read(b, host, bytes);
        downNanos += System.nanoTime() - t0;
        downBytes += bytes;
    }

    /**
     * {@code -Ddit.device.sync=launch}: wait after every kernel and library call, so that a failing kernel is
     * reported by name rather than at the op's next wait (slower; for finding faults).
     */
    private static final boolean SYNC_EACH = "launch".equals(System.getProperty("dit.device.sync"));

    /** {@link #launch} timed (queueing it; its run is timed by the wait that follows) for {@link #stats()}. */
    protected final void run(String kernel, long[] global, long[] local, Object... args) throws Throwable {
        long t0 = System.nanoTime();
        launch(kernel, global, local, args);
        pending = true;
        launchNanos += System.nanoTime() - t0;
        launches++;
        if (SYNC_EACH) waitForQueue();
    }

    /** A library call (a cuBLAS GEMM) on the same queue, timed with the kernels for {@link #stats()}. */
    protected final void library(Body call, Arena a, List<Buf> made) throws Throwable {
        long t0 = System.nanoTime();
        call.run(a, made);
        pending = true;
        launchNanos += System.nanoTime() - t0;
        launches++;
        if (SYNC_EACH) waitForQueue();
    }

    /** Waits for the queued kernels and library calls; the time counts as theirs. */
    private void waitForQueue() throws Throwable {
        if (!pending) return;
        pending = false;
        long t0 = System.nanoTime();
        waits++;
        synchronize();
        launchNanos += System.nanoTime() - t0;
    }

    /** Waits for everything queued on the device. */
    protected abstract void synchronize() throws Throwable;

    /** What has crossed between host and device since the backend was made (resident weights not counted). */
    public record Traffic(long ops, long upBytes, long downBytes, long launches, long waits) {}

    public synchronized Traffic traffic() { return new Traffic(ops, upBytes, downBytes, launches, waits); }

    /** A line on where the ops' time went since the backend was made. */
    public synchronized String stats() {
        long other = opNanos - upNanos - downNanos - launchNanos - allocNanos - weightNanos;
        drainDead();
        long heldBytes = 0;
        for (Held h : held) heldBytes += h.buf.bytes();
        return String.format(java.util.Locale.ROOT,
                "%s: %d ops in %.2f s: uploads %.2f s (%.1f MB), downloads %.2f s (%.1f MB), kernels and library calls %.2f s (%d launches, %d waits), "
                        + "allocations %.2f s (%d), resident weights %.2f s (%.1f MB), host work %.2f s; %d results held on the device (%.1f MB)",
                prefix(), ops, opNanos / 1e9, upNanos / 1e9, upBytes / 1e6, downNanos / 1e9, downBytes / 1e6, launchNanos / 1e9, launches, waits,
                allocNanos / 1e9, allocs, weightNanos / 1e9, weightBytes / 1e6, other / 1e9, held.size(), heldBytes / 1e6);
    }

    private static void store(float[] values, Tensor out) { out.copyFrom(Tensor.of(values, out.shape())); }

    private static long[] g(long n) { return new long[] {Math.max(1, n)}; }

    /** The GEMM's work-group edge (TILE in ops.cl). */
    private static final int TILE = 16;

    private static long roundUp(long v, int t) { return Math.max(t, (v + t - 1) / t * t); }

    // ---- resident weights -------------------------------------------------------------------

    /** Device copies of read-only weights now held (for the tests and logs). */
    public synchronized int residentWeights() { return weights.size(); }

    /** Their bytes. */
    public synchronized long residentWeightBytes() {
        long b = 0;
        for (Buf w : weights.values()) b += w.bytes();
        return b;
    }

    /** {@code m} as a row-major F32 device buffer: a resident one for read-only weights, else a buffer of this op. */
    protected final Buf matrix(Arena a, List<Buf> made, Mat m) throws Throwable { return matrix(a, made, m, Form.F32); }

    /** As {@link #matrix(Arena, List, Mat)} in {@code form}. */
    protected final Buf matrix(Arena a, List<Buf> made, Mat m, Form form) throws Throwable {
        Mat.Key fixedKey = m.fixedKey();
        boolean fixed = fixedKey != null;
        WeightKey key = fixed ? new WeightKey(fixedKey, form) : null;
        if (fixed) dropUnmapped();
        Buf b = fixed ? weights.get(key) : null;
        if (b != null) return b;
        waitForQueue(); // the copy would wait for the queue anyway: count the wait as the kernels'
        long n = (long) m.rows() * m.cols(), t0 = System.nanoTime();
        MemorySegment host = form == Form.F32 ? a.allocate(JAVA_FLOAT, Math.max(1, n)) : a.allocate(JAVA_SHORT, Math.max(1, n));
        if (m.rowStride() == 1 && m.colStride() != 1) {
            // a PyTorch [out, in] weight seen as [in, out]: its columns are the stored rows
            float[] col = new float[m.rows()];
            for (int j = 0; j < m.cols(); j++) {
                m.read(m.offset() + j * m.colStride(), 1, col.length, col, 0);
                for (int i = 0; i < col.length; i++) put(host, form, (long) i * m.cols() + j, col[i]);
            }
        } else {
            float[] row = new float[m.cols()];
            for (int i = 0; i < m.rows(); i++) {
                if (m.colStride() == 1) m.read(m.offset() + i * m.rowStride(), 1, row.length, row, 0);
                else for (int j = 0; j < row.length; j++) row[j] = m.get(i, j);
                if (form == Form.F32) MemorySegment.copy(row, 0, host, JAVA_FLOAT, 4L * i * row.length, row.length);
                else for (int j = 0; j < row.length; j++) put(host, form, (long) i * row.length + j, row[j]);
            }
        }
        long bytes = (form == Form.F32 ? 4 : 2) * Math.max(1, n);
        b = allocate(bytes);
        try {
            write(b, host, bytes);
        } catch (Throwable t) {
            free(b);
            throw t;
        }
        if (fixed) {
            weights.put(key, b);
            weightNanos += System.nanoTime() - t0;
            weightBytes += bytes;
        } else {
            made.add(b);
        }
        return b;
    }

    private static void put(MemorySegment host, Form form, long index, float v) {
        if (form == Form.F32) host.setAtIndex(JAVA_FLOAT, index, v);
        else host.setAtIndex(JAVA_SHORT, index, DType.floatToBf16(v));
    }

    /** Frees the device copies of weights whose mapping has been closed. */
    private void dropUnmapped() throws Throwable {
        var it = weights.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getKey().mat().alive()) {
                free(e.getValue());
                it.remove();
            }
        }
    }

    // ---- the SPI kernels ----------------------------------------------------------------------

    @Override
    protected final void gemm(Mat a, Mat b, float[] bias, Mat c) {
        int m = a.rows(), k = a.cols(), n = b.cols();
        op((ar, made) -> {
            Buf o = out(made, (long) m * n);
            gemmOnDevice(ar, made, matrix(ar, made, a), b, bias == null ? null : in(ar, made, bias), o, m, k, n);
            MemorySegment host = ar.allocate(JAVA_FLOAT, Math.max(1, (long) m * n));
            timedRead(o, host, 4L * m * n);
            // C is F32 with column stride 1 (the SPI's promise): a row at a time
            for (int i = 0; i < m; i++) MemorySegment.copy(host, 4L * i * n, c.seg(), 4L * (c.offset() + i * c.rowStride()), 4L * n);
        });
    }

    /** As the SPI's linear, with x read in place where it is held here and the result left on the device. */
    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias, Tensor out) {
        checkOut("linear", out, linearShape(x, w, bias), x, w);
        int k = w.dim(1), n = w.dim(0), rows = Math.toIntExact(x.numel() / Math.max(1, k));
        op((a, made) -> {
            Buf o = out(made, (long) rows * n);
            gemmOnDevice(a, made, in(a, made, x), Mat.of(w).transpose(), bias(a, made, bias), o, rows, k, n);
            result(a, made, o, out);
        });
        return out;
    }

    /** c [m, n] = a [m, k] (on the device, row-major F32)·b (+ bias [n] on the device, or null); the shared tiled kernel unless a backend has a library GEMM. */
    protected void gemmOnDevice(Arena ar, List<Buf> made, Buf a, Mat b, Buf bias, Buf c, int m, int k, int n) throws Throwable {
        boolean bf16 = b.dtype() == DType.BF16 && b.quant() == null; // kept as stored: half the memory, the same products
        run(bf16 ? "gemm_bf16b" : "gemm", new long[] {roundUp(n, TILE), roundUp(m, TILE)}, new long[] {TILE, TILE},
                a, matrix(ar, made, b, bf16 ? Form.BF16 : Form.F32), bias == null ? none() : bias, c, m, k, n, bias == null ? 0 : 1);
    }

    private Buf none;

    /** One float of device memory, passed where a kernel's optional argument is absent (a kernel argument is never null). */
    protected final Buf none() throws Throwable {
        if (none == null) none = allocate(4);
        return none;
    }

    /** A bias [n] on the device: resident when read-only (a checkpoint's), else uploaded for this op; null for none. */
    private Buf bias(Arena a, List<Buf> made, Tensor b) throws Throwable { return b == null ? null : matrix(a, made, Mat.of(b.reshape(1, -1))); }

    /** The adaLN block as one device program: {@link #adaLnBlocks} of one block. */
    @Override
    public Tensor adaLnBlockKv(Tensor h, Tensor mod, AdaLnBlock w, int heads, float attentionEps, float mlpEps, Tensor captionKv, Tensor mask) {
        return adaLnBlocks(h, List.of(new AdaLnBlock.Call(w, mod, captionKv)), heads, attentionEps, mlpEps, mask);
    }

    /**
     * A run of adaLN blocks as one device program: h (and the caption mask) go up once, each block's modulation
     * and caption kv go up as it starts, and only the last block's h comes down; everything between (norms,
     * modulation, the q/k/v, attention and MLP GEMMs, residuals, the hidden state between blocks) stays in
     * device buffers, each block's intermediates back in the pool for the next.
     */
    @Override
    public Tensor adaLnBlocks(Tensor h, List<AdaLnBlock.Call> calls, int heads, float attentionEps, float mlpEps, Tensor mask) {
        for (AdaLnBlock.Call c : calls) checkBlock(h, c.mod(), c.weights(), heads, c.kv(), mask, 2);
        if (calls.isEmpty()) return h;
        Tensor out = Tensor.zeros(h.shape());
        op((a, made) -> {
            // everything the run needs goes up before its first kernel, so no copy waits for a kernel in between
            Buf x = residentBuf(h), maskBuf = mask == null ? null : in(a, made, mask);
            if (x == null) {
                x = in(a, made, h);
            } else { // the blocks update x in place: h's own copy must stay as it is (scaled by 1, exactly)
                Buf copy = out(made, h.numel());
                run("unary", g(h.numel()), null, x, copy, (int) h.numel(), 3, 1f);
                x = copy;
            }
            Buf[] mods = new Buf[calls.size()], kvs = new Buf[calls.size()];
            for (int i = 0; i < calls.size(); i++) {
                mods[i] = in(a, made, calls.get(i).mod());
                if (calls.get(i).kv() != null) kvs[i] = in(a, made, calls.get(i).kv());
            }
            for (int i = 0; i < calls.size(); i++) {
                List<Buf> block = new ArrayList<>();
                try {
                    blockOnDevice(a, block, x, calls.get(i).weights(), mods[i], kvs[i], calls.get(i).kv() == null ? 0 : calls.get(i).kv().dim(1),
                            h.dim(0), h.dim(1), heads, attentionEps, mlpEps, maskBuf);
                } finally {
                    for (Buf b : block) recycle(b); // the queue is in order: the next block's kernels run after this one's
                }
            }
            result(a, made, x, out);
        });
        return out;
    }

    /** x [B·N, D] on the device ← block w applied to it, with its modulation md and caption kv (l tokens) on the device; its buffers are made in {@code made}. */
    private void blockOnDevice(Arena a, List<Buf> made, Buf x, AdaLnBlock w, Buf md, Buf kv, int l, int b, int n, int heads, float attentionEps, float mlpEps, Buf mask)
            throws Throwable {
        int d = w.hidden(), f = w.mlpHidden(), rows = b * n, dh = d / heads;
        long size = (long) rows * d;
        Buf none = none();
        Buf t = out(made, size), y = out(made, size), x2 = out(made, size);
        // attention half
        run("layer_norm", g(rows), null, x, none, none, t, rows, d, attentionEps, 0, 0);
        run("modulate", g(size), null, t, md, t, b, n, d, 0, 1);
        Buf qkv = out(made, 3 * size);
        gemmOnDevice(a, made, t, Mat.of(w.qkvWeight()).transpose(), bias(a, made, w.qkvBias()), qkv, rows, d, 3 * d);
        Buf q = out(made, size), k = out(made, size), v = out(made, size);
        run("split_heads", g(size), null, qkv, q, b, n, 3, 0, heads, dh);
        run("split_heads", g(size), null, qkv, k, b, n, 3, 1, heads, dh);
        run("split_heads", g(size), null, qkv, v, b, n, 3, 2, heads, dh);
        float scale = (float) (1 / Math.sqrt(dh));
        attentionOnDevice(a, made, q, k, v, null, 1, t, b * heads, n, n, dh, dh, scale);
        run("merge_heads", g(size), null, t, q, b, n, heads, dh);
        gemmOnDevice(a, made, q, Mat.of(w.projWeight()).transpose(), bias(a, made, w.projBias()), y, rows, d, d);
        run("gate_residual", g(size), null, x, md, y, x2, b, n, d, 2);
        if (w.cross() != null) {
            // x2 += CrossAttn(x2, caption): q from the tokens, k and v projected from the caption once per run ([B, L, 2D]), the key mask [B, L] per batch
            AdaLnBlock.Cross cr = w.cross();
            long kvSize = (long) b * l * d;
            gemmOnDevice(a, made, x2, Mat.of(cr.qWeight()).transpose(), bias(a, made, cr.qBias()), y, rows, d, d);
            run("split_heads", g(size), null, y, q, b, n, 1, 0, heads, dh);
            Buf ck = out(made, kvSize), cv = out(made, kvSize);
            run("split_heads", g(kvSize), null, kv, ck, b, l, 2, 0, heads, dh);
            run("split_heads", g(kvSize), null, kv, cv, b, l, 2, 1, heads, dh);
            attentionOnDevice(a, made, q, ck, cv, mask, heads * n, t, b * heads, n, l, dh, dh, scale);
            run("merge_heads", g(size), null, t, q, b, n, heads, dh);
            gemmOnDevice(a, made, q, Mat.of(cr.projWeight()).transpose(), bias(a, made, cr.projBias()), y, rows, d, d);
            run("binary", g(size), null, x2, y, x2, (int) size, 0);
        }
        // MLP half
        run("layer_norm", g(rows), null, x2, none, none, t, rows, d, mlpEps, 0, 0);
        run("modulate", g(size), null, t, md, t, b, n, d, 3, 4);
        Buf hidden = out(made, (long) rows * f);
        gemmOnDevice(a, made, t, Mat.of(w.fc1Weight()).transpose(), bias(a, made, w.fc1Bias()), hidden, rows, d, f);
        run("unary", g((long) rows * f), null, hidden, hidden, rows * f, 0, 0f);
        gemmOnDevice(a, made, hidden, Mat.of(w.fc2Weight()).transpose(), bias(a, made, w.fc2Bias()), y, rows, f, d);
        run("gate_residual", g(size), null, x2, md, y, x, b, n, d, 5);
    }

    @Override
    protected void layerNormRows(Tensor x, float[] gamma, float[] beta, float eps, Tensor out) {
        int rows = x.dim(0), n = x.dim(1);
        op((a, made) -> {
            Buf o = out(made, (long) rows * n);
            run("layer_norm", g(rows), null, in(a, made, x), in(a, made, gamma), in(a, made, beta), o, rows, n, eps, gamma == null ? 0 : 1, beta == null ? 0 : 1);
            result(a, made, o, out);
        });
    }

    @Override
    protected void rmsNormRows(Tensor x, float[] gamma, float eps, Tensor out) {
        int rows = x.dim(0), n = x.dim(1);
        float[] gm = gamma;
        if (gm == null) {
            gm = new float[n];
            Arrays.fill(gm, 1f);
        }
        float[] weight = gm;
        op((a, made) -> {
            Buf o = out(made, (long) rows * n);
            run("rms_norm", g(rows), null, in(a, made, x), in(a, made, weight), o, rows, n, eps);
            result(a, made, o, out);
        });
    }

    @Override
    protected void groupNorm3(Tensor x, int groups, float[] gamma, float[] beta, float eps, Tensor out) {
        int batch = x.dim(0), c = x.dim(1), s = x.dim(2);
        op((a, made) -> {
            Buf o = out(made, x.numel());
            run("group_norm", g((long) batch * groups), null, in(a, made, x), in(a, made, gamma), in(a, made, beta), o,
                    batch, c, s, groups, eps, gamma == null ? 0 : 1, beta == null ? 0 : 1);
            result(a, made, o, out);
        });
    }

    private void unary(Tensor x, int code, float arg, Tensor out) {
        long n = x.numel();
        op((a, made) -> {
            Buf o = out(made, n);
            run("unary", g(n), null, in(a, made, x), o, (int) n, code, arg);
            result(a, made, o, out);
        });
    }

    @Override
    protected void geluKernel(Tensor x, boolean tanh, Tensor out) { unary(x, tanh ? 0 : 1, 0f, out); }

    @Override
    protected void siluKernel(Tensor x, Tensor out) { unary(x, 2, 0f, out); }

    @Override
    protected void scaleKernel(Tensor x, float s, Tensor out) { unary(x, 3, s, out); }

    @Override
    protected void binaryKernel(Binary op, Tensor a, long[] aStrides, Tensor b, long[] bStrides, Tensor out) {
        int[] shape = out.shape();
        long n = out.numel();
        int code = switch (op) {
            case ADD -> 0;
            case SUB -> 1;
            case MUL -> 2;
        };
        op((ar, made) -> {
            Buf o = out(made, n);
            run("binary", g(n), null, in(ar, made, a, aStrides, shape), in(ar, made, b, bStrides, shape), o, (int) n, code);
            result(ar, made, o, out);
        });
    }

    /** {@code t} read through {@code strides} (elements; 0 where broadcast) at every index of {@code shape}, row-major. */
    protected static float[] expand(Tensor t, long[] strides, int[] shape) {
        return Tensor.wrapStrided(t.readSegment(), t.dtype(), shape, strides, t.offset()).toFloatArray();
    }

    @Override
    protected void softmaxRows(Tensor x, Tensor out) {
        int rows = x.dim(0), n = x.dim(1);
        op((a, made) -> {
            Buf o = out(made, (long) rows * n);
            run("softmax_rows", g(rows), null, in(a, made, x), o, rows, n);
            result(a, made, o, out);
        });
    }

    @Override
    protected final void attentionKernel(Tensor q, Tensor k, Tensor v, Tensor mask, long[] maskStrides, float scale, Tensor out) {
        int b = q.dim(0), h = q.dim(1), lq = q.dim(2), d = q.dim(3), lk = k.dim(2), dv = v.dim(3), bh = b * h;
        float[] mv = mask == null ? null : expand(mask, maskStrides, new int[] {b, h, lq, lk});
        op((a, made) -> {
            Buf o = out(made, (long) bh * lq * dv);
            attentionOnDevice(a, made, in(a, made, q), in(a, made, k), in(a, made, v),
                    mv == null ? null : in(a, made, mv), 1, o, bh, lq, lk, d, dv, scale);
            result(a, made, o, out);
        });
    }

    /**
     * o [bh, lq, dv] = softmax(q·kᵀ·scale + mask)·v on the device; mask null, or rows of lk values where score row r
     * (= h·lq + i) takes mask row r / maskDiv (1: a full [bh, lq, lk] mask; H·lq: a key mask [B, lk]). One work-item per query row here.
     */
    protected void attentionOnDevice(Arena a, List<Buf> made, Buf q, Buf k, Buf v, Buf mask, int maskDiv, Buf o, int bh, int lq, int lk, int d, int dv, float scale) throws Throwable {
        run("attention", new long[] {Math.max(1, lq), Math.max(1, bh)}, null, q, k, v, mask == null ? none() : mask, o, bh, lq, lk, d, dv, scale,
                mask == null ? 0 : 1, maskDiv);
    }

    @Override
    protected void conv2dKernel(Tensor x, Tensor w, float[] bias, int stride, int padding, Tensor out) {
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3), cout = w.dim(0), kh = w.dim(2), kw = w.dim(3), ho = out.dim(2), wo = out.dim(3);
        op((a, made) -> {
            Buf o = out(made, out.numel());
            Buf wb = matrix(a, made, Mat.of(w.reshape(w.dim(0), -1)));
            run("conv2d", g(out.numel()), null, in(a, made, x), wb, in(a, made, bias), o,
                    n, cin, h, wd, cout, kh, kw, stride, padding, ho, wo, bias == null ? 0 : 1);
            result(a, made, o, out);
        });
    }

    @Override
    protected void upsampleKernel(Tensor x, int factor, Tensor out) {
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
        op((a, made) -> {
            Buf o = out(made, out.numel());
            run("upsample_nearest", g(out.numel()), null, in(a, made, x), o, planes, h, w, factor);
            result(a, made, o, out);
        });
    }
}
