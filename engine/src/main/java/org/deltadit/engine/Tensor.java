package org.deltadit.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.Arrays;

/**
 * An n-dimensional array over a {@link MemorySegment}: shape, strides (in elements), an element
 * offset and a {@link DType}. Views (permute, slice, select, reshape of contiguous data) share the
 * segment and copy nothing; {@link #contiguous()} and {@link #copy()} copy.
 *
 * <p>The storage is either a heap array (tensors this engine allocates, so the GC frees them) or
 * any segment handed to {@link #wrap} (memory-mapped weights, viewed zero-copy).
 *
 * <p>An {@link DType#I8} tensor is weight-only INT8 and carries its scales ({@link #quant()}); its views
 * share them, every read dequantizes, and copies of it are F32.
 *
 * <p>A device backend may leave the result of an op in its own memory ({@link #attach}): the tensor's host
 * storage is then filled from the device on the first host access, and any host write drops the device copy,
 * so host code never sees the difference; the backend's next op finds the copy and uses it without an upload.
 */
public final class Tensor {
    private final MemorySegment data;
    /** The storage's device copy, shared by every view of it; null for storage no device has seen. */
    private final Home home;
    private final DType dtype;
    private final int[] shape;
    private final long[] strides;
    private final long offset;
    private final Quant quant;

    private Tensor(MemorySegment data, DType dtype, int[] shape, long[] strides, long offset) {
        this(data, dtype, shape, strides, offset, null);
    }

    private Tensor(MemorySegment data, DType dtype, int[] shape, long[] strides, long offset, Quant quant) {
        this(data, dtype, shape, strides, offset, quant, new Home());
    }

    private Tensor(MemorySegment data, DType dtype, int[] shape, long[] strides, long offset, Quant quant, Home home) {
        this.data = data;
        this.home = home;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.quant = quant;
    }

    /** A view of this tensor's storage (and scales, when INT8) with another shape, strides and offset. */
    private Tensor view(int[] shape, long[] strides, long offset) { return new Tensor(data, dtype, shape, strides, offset, quant, home); }

    // ---- a device copy ----------------------------------------------------------------------

    /** A copy of a tensor's whole storage in a device's memory, made by the backend that owns it. */
    public interface DeviceCopy {
        /** The backend whose memory holds it: only that backend reads it in place. */
        Object owner();

        /** Writes the copy's bytes (the whole storage) into {@code host}. */
        void download(MemorySegment host);

        /** Gives the device memory back; called once, possibly on a cleaner thread, so it may only queue the freeing. */
        void release();
    }

    /** Frees the device copies of storage nobody references any more. */
    private static final Cleaner CLEANER = Cleaner.create();

    /** The device side of one storage, shared by its views: a {@link Slot} from the first {@link #attach} on. */
    private static final class Home {
        /** Volatile: storage no device has seen (nearly all) is checked without a lock on every access. */
        private volatile Slot slot;
    }

    /** The device copy and whether it is newer than the host bytes; the cleaner's action, so it must not reach the {@link Home} it watches. */
    private static final class Slot implements Runnable {
        private DeviceCopy copy;
        private boolean hostStale;

        @Override
        public synchronized void run() { drop(); }

        private void drop() {
            DeviceCopy c = copy;
            copy = null;
            hostStale = false;
            if (c != null) c.release();
        }
    }

    /**
     * Makes {@code copy} this storage's value: the host bytes are stale until read, the previous device copy is
     * released. The tensor must view its whole storage, contiguously from element 0 (an op's output).
     */
    public void attach(DeviceCopy copy) {
        if (copy == null) throw new IllegalArgumentException("attach: no device copy");
        if (!viewsWholeStorage()) {
            throw new IllegalArgumentException("attach: " + str(shape) + " " + dtype + " does not view its whole storage contiguously");
        }
        Slot s;
        synchronized (home) {
            if (home.slot == null) {
                home.slot = new Slot();
                CLEANER.register(home, home.slot);
            }
            s = home.slot;
        }
        synchronized (s) {
            if (s.copy != copy) s.drop();
            s.copy = copy;
            s.hostStale = true;
        }
    }

    /** The storage's device copy (current: a host write drops it), or null. */
    public DeviceCopy deviceCopy() {
        Slot s = slot();
        if (s == null) return null;
        synchronized (s) {
            return s.copy;
        }
    }

    /** Whether this tensor is its whole storage, contiguous from element 0 (not INT8): what a device copy covers. */
    public boolean viewsWholeStorage() { return quant == null && offset == 0 && isContiguous() && numel() * dtype.bytes() == data.byteSize(); }

    private Slot slot() { return home.slot; }

    /** The host storage, filled from the device copy first if that is newer; {@code write}: the device copy is dropped. */
    private MemorySegment host(boolean write) {
        Slot s = slot();
        if (s == null) return data;
        DeviceCopy newer;
        synchronized (s) {
            newer = s.hostStale ? s.copy : null;
        }
        if (newer != null) {
            newer.download(data); // outside the slot's lock: the device takes its own, and its ops read slots
            synchronized (s) {
                if (s.copy == newer) s.hostStale = false;
            }
        }
        if (write) {
            synchronized (s) {
                s.drop();
            }
        }
        return data;
    }

    // ---- creation ---------------------------------------------------------------------------

    /** A new zero-filled tensor in {@code arena}'s memory: freed when the arena closes, not by the GC. */
    public static Tensor zeros(Arena arena, DType dtype, int... shape) {
        int[] s = checkShape("zeros", shape);
        noI8("zeros", dtype);
        return new Tensor(arena.allocate(count(s) * dtype.bytes(), 64), dtype, s, contiguousStrides(s), 0);
    }

    /** A new zero-filled tensor. */
    public static Tensor zeros(DType dtype, int... shape) {
        int[] s = checkShape("zeros", shape);
        noI8("zeros", dtype);
        long n = count(s);
        MemorySegment seg;
        if (n <= Integer.MAX_VALUE - 16) {
            seg = dtype == DType.F32 ? MemorySegment.ofArray(new float[(int) n]) : MemorySegment.ofArray(new short[(int) n]);
        } else {
            seg = Arena.ofAuto().allocate(n * dtype.bytes(), 64);
        }
        return new Tensor(seg, dtype, s, contiguousStrides(s), 0);
    }

    /** A new zero-filled F32 tensor. */
    public static Tensor zeros(int... shape) { return zeros(DType.F32, shape); }

    /** Wraps {@code data} (row-major, no copy) as an F32 tensor of {@code shape}. */
    public static Tensor of(float[] data, int... shape) {
        int[] s = checkShape("of", shape);
        if (count(s) != data.length) {
            throw new IllegalArgumentException("of: shape " + str(s) + " holds " + count(s) + " elements, array has " + data.length);
        }
        return new Tensor(MemorySegment.ofArray(data), DType.F32, s, contiguousStrides(s), 0);
    }

    /** Views {@code seg} (row-major, starting at byte 0) as a tensor; the segment must be large enough. */
    public static Tensor wrap(MemorySegment seg, DType dtype, int... shape) {
        int[] s = checkShape("wrap", shape);
        noI8("wrap", dtype);
        long need = count(s) * dtype.bytes();
        if (seg.byteSize() < need) {
            throw new IllegalArgumentException("wrap: shape " + str(s) + " " + dtype + " needs " + need
                    + " bytes, segment has " + seg.byteSize());
        }
        return new Tensor(seg, dtype, s, contiguousStrides(s), 0);
    }

    /**
     * Views {@code seg} with explicit strides and element offset (a PyTorch storage view). Every
     * addressed element must lie inside the segment; strides must not be negative.
     */
    public static Tensor wrapStrided(MemorySegment seg, DType dtype, int[] shape, long[] strides, long offset) {
        int[] s = checkShape("wrapStrided", shape);
        noI8("wrapStrided", dtype);
        if (strides.length != s.length) {
            throw new IllegalArgumentException("wrapStrided: " + strides.length + " strides for shape " + str(s));
        }
        long last = offset;
        boolean empty = false;
        for (int d = 0; d < s.length; d++) {
            if (strides[d] < 0) throw new IllegalArgumentException("wrapStrided: negative stride " + Arrays.toString(strides));
            if (s[d] == 0) empty = true;
            else last = Math.addExact(last, Math.multiplyExact((long) s[d] - 1, strides[d]));
        }
        long capacity = seg.byteSize() / dtype.bytes();
        if (offset < 0 || (!empty && last >= capacity)) {
            throw new IllegalArgumentException("wrapStrided: shape " + str(s) + " strides " + Arrays.toString(strides) + " offset " + offset
                    + " reaches element " + last + " of a segment holding " + capacity);
        }
        return new Tensor(seg, dtype, s, strides.clone(), offset);
    }

    /**
     * Views {@code q} (contiguous INT8 values from byte {@code 0}, row-major) with {@code scales} (F32, one
     * per {@code group} consecutive elements, rows never sharing a group): see {@link Quant}.
     */
    public static Tensor quantized(MemorySegment q, int[] shape, MemorySegment scales, int group) {
        int[] s = checkShape("quantized", shape);
        long n = count(s);
        long rowLen = s.length == 0 || s[0] == 0 ? n : n / s[0];
        if (s.length < 2 || group <= 0 || rowLen % group != 0) {
            throw new IllegalArgumentException("quantized: shape " + str(s) + " with group " + group + " (rank 2 or more; the group divides the row length " + rowLen + ")");
        }
        if (q.byteSize() < n) throw new IllegalArgumentException("quantized: shape " + str(s) + " needs " + n + " bytes, segment has " + q.byteSize());
        if (scales.byteSize() < 4 * (n / group)) {
            throw new IllegalArgumentException("quantized: shape " + str(s) + " with group " + group + " needs " + n / group + " scales, segment holds " + scales.byteSize() / 4);
        }
        return new Tensor(q, DType.I8, s, contiguousStrides(s), 0, new Quant(scales, 0, group));
    }

    private static void noI8(String op, DType dtype) {
        if (dtype == DType.I8) throw new IllegalArgumentException(op + ": an I8 tensor needs its scales (Tensor.quantized, Quant.quantize)");
    }

    // ---- properties -------------------------------------------------------------------------

    public DType dtype() { return dtype; }
    public int rank() { return shape.length; }
    public int[] shape() { return shape.clone(); }
    public long[] strides() { return strides.clone(); }
    /** Offset of the first element, in elements of {@link #dtype()}, into {@link #segment()}. */
    public long offset() { return offset; }
    /**
     * The whole underlying storage (not just this view), for reading or writing: a device copy is read back
     * first and then dropped, since the caller may write. Code that only reads uses {@link #readSegment()}.
     */
    public MemorySegment segment() { return host(true); }

    /** As {@link #segment()} for code that only reads it: a device copy stays valid. */
    public MemorySegment readSegment() { return host(false); }
    /** The scales of an INT8 tensor, null for the float types. */
    public Quant quant() { return quant; }
    public long numel() { return count(shape); }

    /** Size of dimension {@code d}; negative counts from the end. */
    public int dim(int d) { return shape[axis("dim", d)]; }
    public long stride(int d) { return strides[axis("stride", d)]; }

    /** True when the elements are laid out row-major with no gaps. */
    public boolean isContiguous() {
        long expect = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && strides[d] != expect) return false;
            expect *= shape[d];
        }
        return true;
    }

    /** True when every dimension has the same size as in {@code other}. */
    public boolean sameShape(Tensor other) { return Arrays.equals(shape, other.shape); }

    // ---- element access (slow path: tests, small tensors) -----------------------------------

    public float get(int... idx) {
        long at = index("get", idx);
        MemorySegment d = host(false);
        return quant != null ? quant.get(d, at) : dtype.get(d, at);
    }

    public void set(float v, int... idx) { dtype.set(host(true), index("set", idx), v); }

    private long index(String op, int[] idx) {
        if (idx.length != shape.length) {
            throw new IllegalArgumentException(op + ": " + idx.length + " indices for tensor " + str(shape));
        }
        long o = offset;
        for (int d = 0; d < idx.length; d++) {
            if (idx[d] < 0 || idx[d] >= shape[d]) {
                throw new IndexOutOfBoundsException(op + ": index " + Arrays.toString(idx) + " outside " + str(shape));
            }
            o += idx[d] * strides[d];
        }
        return o;
    }

    /** All elements in row-major order, widened to float. */
    public float[] toFloatArray() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 16) throw new IllegalStateException("toFloatArray: " + str(shape) + " is too large for an array");
        float[] out = new float[(int) n];
        Tensor dst = of(out, shape);
        dst.copyFrom(this);
        return out;
    }

    // ---- views ------------------------------------------------------------------------------

    /** Same data, new shape (one dimension may be -1); a view when contiguous, else a copy. */
    public Tensor reshape(int... newShape) {
        int[] s = inferShape(newShape);
        Tensor src = isContiguous() ? this : contiguous();
        return src.view(s, contiguousStrides(s), src.offset);
    }

    /** Reorders dimensions: result dimension i is this tensor's dimension {@code order[i]}. */
    public Tensor permute(int... order) {
        if (order.length != shape.length) {
            throw new IllegalArgumentException("permute: order " + Arrays.toString(order) + " for tensor " + str(shape));
        }
        int[] s = new int[order.length];
        long[] st = new long[order.length];
        boolean[] seen = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            int d = axis("permute", order[i]);
            if (seen[d]) throw new IllegalArgumentException("permute: dimension " + d + " repeated in " + Arrays.toString(order));
            seen[d] = true;
            s[i] = shape[d];
            st[i] = strides[d];
        }
        return view(s, st, offset);
    }

    public Tensor transpose(int a, int b) {
        int[] order = new int[shape.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        a = axis("transpose", a);
        b = axis("transpose", b);
        order[a] = b;
        order[b] = a;
        return permute(order);
    }

    /** Elements {@code from} (inclusive) to {@code to} (exclusive) along {@code dim}. */
    public Tensor slice(int dim, int from, int to) {
        int d = axis("slice", dim);
        if (from < 0 || to > shape[d] || from > to) {
            throw new IndexOutOfBoundsException("slice: [" + from + ", " + to + ") of dimension " + d + " in " + str(shape));
        }
        int[] s = shape.clone();
        s[d] = to - from;
        return view(s, strides.clone(), offset + from * strides[d]);
    }

    /** Index {@code i} of dimension {@code dim}; the result has one dimension fewer. */
    public Tensor select(int dim, int i) {
        int d = axis("select", dim);
        if (i < 0 || i >= shape[d]) throw new IndexOutOfBoundsException("select: index " + i + " of dimension " + d + " in " + str(shape));
        int[] s = new int[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int k = 0, j = 0; k < shape.length; k++) {
            if (k == d) continue;
            s[j] = shape[k];
            st[j++] = strides[k];
        }
        return view(s, st, offset + i * strides[d]);
    }

    /** Inserts a dimension of size 1 at {@code dim} (0..rank). */
    public Tensor unsqueeze(int dim) {
        if (dim < 0) dim += shape.length + 1;
        if (dim < 0 || dim > shape.length) throw new IllegalArgumentException("unsqueeze: dimension " + dim + " for tensor " + str(shape));
        int[] s = new int[shape.length + 1];
        long[] st = new long[shape.length + 1];
        for (int k = 0, j = 0; k < s.length; k++) {
            if (k == dim) {
                s[k] = 1;
                st[k] = 0;
            } else {
                s[k] = shape[j];
                st[k] = strides[j++];
            }
        }
        return view(s, st, offset);
    }

    /** Splits {@code dim} into views of the given sizes, which must add up to its length. */
    public Tensor[] split(int dim, int... sizes) {
        int d = axis("split", dim);
        int total = 0;
        for (int z : sizes) {
            if (z < 0) throw new IllegalArgumentException("split: negative size in " + Arrays.toString(sizes));
            total += z;
        }
        if (total != shape[d]) {
            throw new IllegalArgumentException("split: sizes " + Arrays.toString(sizes) + " do not add up to dimension " + d + " of " + str(shape));
        }
        Tensor[] out = new Tensor[sizes.length];
        for (int i = 0, at = 0; i < sizes.length; at += sizes[i++]) out[i] = slice(d, at, at + sizes[i]);
        return out;
    }

    /** Splits {@code dim} into {@code n} equal views (as PyTorch's chunk when the size divides). */
    public Tensor[] chunk(int dim, int n) {
        int d = axis("chunk", dim);
        if (n <= 0 || shape[d] % n != 0) throw new IllegalArgumentException("chunk: " + n + " chunks of dimension " + d + " in " + str(shape));
        int[] sizes = new int[n];
        Arrays.fill(sizes, shape[d] / n);
        return split(d, sizes);
    }

    // ---- copies -----------------------------------------------------------------------------

    /** This tensor when already contiguous, else a contiguous copy. */
    public Tensor contiguous() { return isContiguous() ? this : copy(); }

    /** A contiguous copy with the same dtype (an INT8 tensor's copy is dequantized to F32). */
    public Tensor copy() { return to(quant != null ? DType.F32 : dtype); }

    /** A contiguous copy converted to {@code target}. */
    public Tensor to(DType target) {
        Tensor out = zeros(target, shape);
        out.copyFrom(this);
        return out;
    }

    /** Copies (and converts) every element of {@code src}, which must have this tensor's shape. */
    public Tensor copyFrom(Tensor src) {
        if (!Arrays.equals(shape, src.shape)) {
            throw new IllegalArgumentException("copy: destination " + str(shape) + " and source " + str(src.shape) + " differ");
        }
        Strided.copy(src, this);
        return this;
    }

    /** Joins tensors along {@code dim}; all other dimensions must agree. */
    public static Tensor concat(int dim, Tensor... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("concat: no tensors");
        int rank = parts[0].rank();
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) throw new IllegalArgumentException("concat: dimension " + dim + " for tensor " + str(parts[0].shape));
        int[] s = parts[0].shape();
        s[d] = 0;
        for (Tensor p : parts) {
            boolean ok = p.rank() == rank;
            for (int k = 0; ok && k < rank; k++) ok = k == d || p.shape[k] == parts[0].shape[k];
            if (!ok) throw new IllegalArgumentException("concat: " + str(parts[0].shape) + " and " + str(p.shape) + " differ outside dimension " + d);
            s[d] += p.shape[d];
        }
        Tensor q = Quant.concatRows(d, parts, s);
        if (q != null) return q;
        Tensor out = zeros(parts[0].quant != null ? DType.F32 : parts[0].dtype, s);
        int at = 0;
        for (Tensor p : parts) {
            out.slice(d, at, at + p.shape[d]).copyFrom(p);
            at += p.shape[d];
        }
        return out;
    }

    // ---- helpers ----------------------------------------------------------------------------

    /** Formats a shape as {@code [2, 3]}, for error messages. */
    public static String str(int[] shape) { return Arrays.toString(shape); }

    /** This tensor's shape as {@code [2, 3]}. */
    public String shapeString() { return str(shape); }

    @Override
    public String toString() { return "Tensor" + str(shape) + " " + dtype; }

    int axis(String op, int d) {
        int a = d < 0 ? d + shape.length : d;
        if (a < 0 || a >= shape.length) throw new IllegalArgumentException(op + ": dimension " + d + " out of range for tensor " + str(shape));
        return a;
    }

    private int[] inferShape(int[] newShape) {
        int infer = -1;
        long known = 1;
        for (int i = 0; i < newShape.length; i++) {
            if (newShape[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: two -1 in " + str(newShape));
                infer = i;
            } else if (newShape[i] < 0) {
                throw new IllegalArgumentException("reshape: negative size in " + str(newShape));
            } else {
                known *= newShape[i];
            }
        }
        int[] s = newShape.clone();
        long n = numel();
        if (infer >= 0) {
            if (known == 0 || n % known != 0) throw new IllegalArgumentException("reshape: " + str(shape) + " to " + str(newShape));
            s[infer] = (int) (n / known);
        }
        if (count(s) != n) throw new IllegalArgumentException("reshape: " + str(shape) + " (" + n + " elements) to " + str(newShape));
        return s;
    }

    static int[] checkShape(String op, int[] shape) {
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException(op + ": negative size in shape " + str(shape));
        }
        return shape.clone();
    }

    static long count(int[] shape) {
        long n = 1;
        for (int s : shape) n = Math.multiplyExact(n, s);
        return n;
    }

    /** Row-major strides (in elements) of {@code shape}. */
    public static long[] contiguousStrides(int[] shape) {
        long[] st = new long[shape.length];
        long acc = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            st[d] = acc;
            acc *= shape[d];
        }
        return st;
    }
}
