package org.deltadit.engine.opencl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deltadit.engine.Backend;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Mat;
import org.deltadit.engine.Tensor;

/**
 * The op SPI on an OpenCL device (PoCL on the CPU in CI, a GPU driver elsewhere), through FFM. Kernels
 * come from one C-subset source ({@code ops.cl}), built once per backend. This first stage moves each
 * op's inputs to the device and its output back (weights and activations are not yet resident), so it
 * proves the kernels against the reference backend; it is not fast. Calls are serialised: one command
 * queue, and cl_kernel arguments are per-kernel state.
 */
public final class OpenClBackend extends Backend implements AutoCloseable {
    private final OpenClDevices.Device device;
    private final MemorySegment context, queue, program;
    private final Map<String, MemorySegment> kernels = new HashMap<>();
    /**
     * Weights stay on the device: a matrix or filter that views a read-only mapping (a checkpoint as the
     * loaders map it) cannot change, so it is uploaded once and kept until close. Activations, which the
     * engine writes, still travel with each op.
     */
    private final Map<WeightKey, Buf> weights = new HashMap<>();

    /**
     * Where a read-only matrix lives and how it is viewed. The mapping's scope is part of the key: an
     * address can come back in a later mapping of another file once the first is closed.
     */
    private record WeightKey(MemorySegment.Scope scope, long address, long offset, long rowStride, long colStride, int rows, int cols, String dtype) {}

    /** The device {@code index} of {@link OpenClDevices#list()}; an unavailable one is an InvalidParameter naming the device. */
    public OpenClBackend(int index) {
        if (!OpenCl.available()) throw new InvalidParameter("device", "opencl: " + OpenCl.reason());
        List<OpenClDevices.Device> all = OpenClDevices.list();
        if (all.isEmpty()) throw new InvalidParameter("device", "opencl: no OpenCL device found (install a driver, e.g. pocl-opencl-icd; `dit devices` lists them)");
        if (index < 0 || index >= all.size()) throw new InvalidParameter("device", "opencl:" + index + ": there are " + all.size() + " OpenCL devices (opencl:0.." + (all.size() - 1) + ")");
        this.device = all.get(index);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(JAVA_INT);
            MemorySegment ids = a.allocate(ADDRESS);
            ids.set(ADDRESS, 0, device.deviceId());
            context = (MemorySegment) OpenCl.createContext.invokeExact(MemorySegment.NULL, 1, ids, MemorySegment.NULL, MemorySegment.NULL, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateContext");
            queue = (MemorySegment) OpenCl.createCommandQueue.invokeExact(context, device.deviceId(), 0L, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateCommandQueue");
            MemorySegment src = a.allocateFrom(source());
            MemorySegment srcs = a.allocate(ADDRESS);
            srcs.set(ADDRESS, 0, src);
            program = (MemorySegment) OpenCl.createProgramWithSource.invokeExact(context, 1, srcs, MemorySegment.NULL, err);
            OpenCl.check(err.get(JAVA_INT, 0), "clCreateProgramWithSource");
            int rc = (int) OpenCl.buildProgram.invokeExact(program, 1, ids, a.allocateFrom("-cl-std=CL1.2"), MemorySegment.NULL, MemorySegment.NULL);
            if (rc != OpenCl.SUCCESS) throw new IllegalStateException("OpenCL: the kernels do not build on " + device.name() + ":\n" + buildLog(a));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("OpenCL: " + t, t);
        }
    }

    private static String source() {
        try (InputStream in = OpenClBackend.class.getResourceAsStream("ops.cl")) {
            if (in == null) throw new IllegalStateException("ops.cl is missing from the engine jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("ops.cl: " + e.getMessage(), e);
        }
    }

    private String buildLog(Arena a) throws Throwable {
        MemorySegment size = a.allocate(JAVA_LONG);
        OpenCl.check((int) OpenCl.getProgramBuildInfo.invokeExact(program, device.deviceId(), OpenCl.PROGRAM_BUILD_LOG, 0L, MemorySegment.NULL, size), "clGetProgramBuildInfo");
        MemorySegment log = a.allocate(size.get(JAVA_LONG, 0) + 1);
        OpenCl.check((int) OpenCl.getProgramBuildInfo.invokeExact(program, device.deviceId(), OpenCl.PROGRAM_BUILD_LOG, size.get(JAVA_LONG, 0), log, MemorySegment.NULL), "clGetProgramBuildInfo");
        return log.getString(0);
    }

    @Override public String name() { return "opencl"; }

    @Override public String describe() { return "opencl:" + device.index() + " (" + device.platform() + " / " + device.name() + ", " + device.openClC() + "; weights resident, activations per op)"; }

    public OpenClDevices.Device device() { return device; }

    // ---- running kernels -------------------------------------------------------------------

    /** An input or output buffer of one call. */
    private record Buf(MemorySegment mem, long floats) {}

    private MemorySegment kernel(String name) throws Throwable {
        MemorySegment k = kernels.get(name);
        if (k == null) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment err = a.allocate(JAVA_INT);
                k = (MemorySegment) OpenCl.createKernel.invokeExact(program, a.allocateFrom(name), err);
                OpenCl.check(err.get(JAVA_INT, 0), "clCreateKernel(" + name + ")");
            }
            kernels.put(name, k);
        }
        return k;
    }

    /** A device buffer holding {@code data} (at least one float, so no argument is ever null). */
    private Buf upload(Arena a, float[] data) throws Throwable {
        float[] d = data == null || data.length == 0 ? new float[1] : data;
        MemorySegment host = a.allocateFrom(JAVA_FLOAT, d);
        MemorySegment err = a.allocate(JAVA_INT);
        MemorySegment mem = (MemorySegment) OpenCl.createBuffer.invokeExact(context, OpenCl.MEM_READ_ONLY | OpenCl.MEM_COPY_HOST_PTR, 4L * d.length, host, err);
        OpenCl.check(err.get(JAVA_INT, 0), "clCreateBuffer");
        return new Buf(mem, d.length);
    }

    private Buf output(Arena a, long floats) throws Throwable {
        MemorySegment err = a.allocate(JAVA_INT);
        MemorySegment mem = (MemorySegment) OpenCl.createBuffer.invokeExact(context, OpenCl.MEM_READ_WRITE, 4L * Math.max(1, floats), MemorySegment.NULL, err);
        OpenCl.check(err.get(JAVA_INT, 0), "clCreateBuffer");
        return new Buf(mem, floats);
    }

    private float[] download(Arena a, Buf b) throws Throwable {
        MemorySegment host = a.allocate(JAVA_FLOAT, Math.max(1, b.floats()));
        OpenCl.check((int) OpenCl.enqueueReadBuffer.invokeExact(queue, b.mem(), 1, 0L, 4L * b.floats(), host, 0, MemorySegment.NULL, MemorySegment.NULL), "clEnqueueReadBuffer");
        return host.toArray(JAVA_FLOAT);
    }

    /** The GEMM's work-group edge (TILE in ops.cl). */
    private static final int TILE = 16;

    private static long roundUp(long v, int t) { return Math.max(t, (v + t - 1) / t * t); }

    /** Sets the arguments (Buf, Integer, Float), runs over {@code global} work-items and waits. */
    private void run(Arena a, String name, long[] global, Object... args) throws Throwable { runTiled(a, name, global, null, args); }

    /** As {@link #run} with work-groups of {@code local} (null: the driver chooses). */
    private void runTiled(Arena a, String name, long[] global, long[] local, Object... args) throws Throwable {
        MemorySegment k = kernel(name);
        for (int i = 0; i < args.length; i++) {
            MemorySegment value;
            long size;
            switch (args[i]) {
                case Buf b -> {
                    value = a.allocate(ADDRESS);
                    value.set(ADDRESS, 0, b.mem());
                    size = ADDRESS.byteSize();
                }
                case Integer v -> {
                    value = a.allocateFrom(JAVA_INT, v);
                    size = 4;
                }
                case Float v -> {
                    value = a.allocateFrom(JAVA_FLOAT, v);
                    size = 4;
                }
                default -> throw new IllegalArgumentException("kernel argument " + args[i]);
            }
            OpenCl.check((int) OpenCl.setKernelArg.invokeExact(k, i, size, value), "clSetKernelArg(" + name + ", " + i + ")");
        }
        MemorySegment g = a.allocateFrom(JAVA_LONG, global), l = local == null ? MemorySegment.NULL : a.allocateFrom(JAVA_LONG, local);
        OpenCl.check((int) OpenCl.enqueueNDRangeKernel.invokeExact(queue, k, global.length, MemorySegment.NULL, g, l, 0, MemorySegment.NULL, MemorySegment.NULL),
                "clEnqueueNDRangeKernel(" + name + ")");
        OpenCl.check((int) OpenCl.finish.invokeExact(queue), "clFinish");
    }

    /** One op: buffers made inside {@code body} are released when it ends. */
    @FunctionalInterface
    private interface Op {
        void run(Arena a, List<Buf> made) throws Throwable;
    }

    private synchronized void op(Op body) {
        List<Buf> made = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            body.run(a, made);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("OpenCL: " + t, t);
        } finally {
            for (Buf b : made) {
                try {
                    int ignored = (int) OpenCl.releaseMemObject.invokeExact(b.mem());
                } catch (Throwable ignored) {
                    // the op's own failure is the one to report
                }
            }
        }
    }

    private Buf in(Arena a, List<Buf> made, float[] data) throws Throwable {
        Buf b = upload(a, data);
        made.add(b);
        return b;
    }

    private Buf out(Arena a, List<Buf> made, long floats) throws Throwable {
        Buf b = output(a, floats);
        made.add(b);
        return b;
    }

    private static long[] g(long n) { return new long[] {Math.max(1, n)}; }

    private static void store(float[] values, Tensor out) { out.copyFrom(Tensor.of(java.util.Arrays.copyOf(values, (int) out.numel()), out.shape())); }

    // ---- the SPI kernels -----------------------------------------------------------------------

    /** Device copies of read-only weights now held (for the tests and logs). */
    public synchronized int residentWeights() { return weights.size(); }

    /** {@code m} as a row-major F32 device buffer: a resident one for read-only weights, else a buffer of this op. */
    private Buf matrix(Arena a, List<Buf> made, Mat m) throws Throwable {
        boolean fixed = m.seg().isNative() && m.seg().isReadOnly();
        WeightKey key = fixed ? new WeightKey(m.seg().scope(), m.seg().address(), m.offset(), m.rowStride(), m.colStride(), m.rows(), m.cols(), m.dtype().name()) : null;
        if (fixed) dropUnmapped();
        Buf b = fixed ? weights.get(key) : null;
        if (b != null) return b;
        float[] v = new float[m.rows() * m.cols()];
        for (int i = 0; i < m.rows(); i++) for (int j = 0; j < m.cols(); j++) v[i * m.cols() + j] = m.get(i, j);
        b = upload(a, v);
        if (fixed) weights.put(key, b);
        else made.add(b);
        return b;
    }

    /** Frees the device copies of weights whose mapping has been closed. */
    private void dropUnmapped() throws Throwable {
        var it = weights.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getKey().scope().isAlive()) {
                int ignored = (int) OpenCl.releaseMemObject.invokeExact(e.getValue().mem());
                it.remove();
            }
        }
    }

    @Override
    protected void gemm(Mat a, Mat b, float[] bias, Mat c) {
        int m = a.rows(), k = a.cols(), n = b.cols();
        op((ar, made) -> {
            Buf o = out(ar, made, (long) m * n);
            runTiled(ar, "gemm", new long[] {roundUp(n, TILE), roundUp(m, TILE)}, new long[] {TILE, TILE},
                    matrix(ar, made, a), matrix(ar, made, b), in(ar, made, bias), o, m, k, n, bias == null ? 0 : 1);
            float[] r = download(ar, o);
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c.set(i, j, r[i * n + j]);
        });
    }

    @Override
    protected void layerNormRows(Tensor x, float[] gamma, float[] beta, float eps, Tensor out) {
        int rows = x.dim(0), n = x.dim(1);
        op((a, made) -> {
            Buf o = out(a, made, (long) rows * n);
            run(a, "layer_norm", g(rows), in(a, made, x.toFloatArray()), in(a, made, gamma), in(a, made, beta), o, rows, n, eps, gamma == null ? 0 : 1, beta == null ? 0 : 1);
            store(download(a, o), out);
        });
    }

    @Override
    protected void rmsNormRows(Tensor x, float[] gamma, float eps, Tensor out) {
        int rows = x.dim(0), n = x.dim(1);
        float[] gm = gamma != null ? gamma : ones(n);
        op((a, made) -> {
            Buf o = out(a, made, (long) rows * n);
            run(a, "rms_norm", g(rows), in(a, made, x.toFloatArray()), in(a, made, gm), o, rows, n, eps);
            store(download(a, o), out);
        });
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    @Override
    protected void groupNorm3(Tensor x, int groups, float[] gamma, float[] beta, float eps, Tensor out) {
        int batch = x.dim(0), c = x.dim(1), s = x.dim(2);
        op((a, made) -> {
            Buf o = out(a, made, x.numel());
            run(a, "group_norm", g((long) batch * groups), in(a, made, x.toFloatArray()), in(a, made, gamma), in(a, made, beta), o, batch, c, s, groups, eps, gamma == null ? 0 : 1, beta == null ? 0 : 1);
            store(download(a, o), out);
        });
    }

    private void unary(Tensor x, int op, float arg, Tensor out) {
        long n = x.numel();
        op((a, made) -> {
            Buf o = out(a, made, n);
            run(a, "unary", g(n), in(a, made, x.toFloatArray()), o, (int) n, op, arg);
            store(download(a, o), out);
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
        float[] av = expand(a, aStrides, shape), bv = expand(b, bStrides, shape);
        long n = out.numel();
        int code = switch (op) {
            case ADD -> 0;
            case SUB -> 1;
            case MUL -> 2;
        };
        op((ar, made) -> {
            Buf o = out(ar, made, n);
            run(ar, "binary", g(n), in(ar, made, av), in(ar, made, bv), o, (int) n, code);
            store(download(ar, o), out);
        });
    }

    /** {@code t} read through {@code strides} (elements; 0 where broadcast) at every index of {@code shape}, row-major. */
    private static float[] expand(Tensor t, long[] strides, int[] shape) {
        long n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[(int) n];
        int[] idx = new int[shape.length];
        for (int i = 0; i < n; i++) {
            long at = t.offset();
            for (int d = 0; d < shape.length; d++) at += idx[d] * strides[d];
            v[i] = t.dtype().get(t.segment(), at);
            for (int d = shape.length - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
        }
        return v;
    }

    @Override
    protected void softmaxRows(Tensor x, Tensor out) {
        int rows = x.dim(0), n = x.dim(1);
        op((a, made) -> {
            Buf o = out(a, made, (long) rows * n);
            run(a, "softmax_rows", g(rows), in(a, made, x.toFloatArray()), o, rows, n);
            store(download(a, o), out);
        });
    }

    @Override
    protected void attentionKernel(Tensor q, Tensor k, Tensor v, Tensor mask, long[] maskStrides, float scale, Tensor out) {
        int b = q.dim(0), h = q.dim(1), lq = q.dim(2), d = q.dim(3), lk = k.dim(2), dv = v.dim(3), bh = b * h;
        float[] mv = mask == null ? null : expand(mask, maskStrides, new int[] {b, h, lq, lk});
        op((a, made) -> {
            Buf o = out(a, made, (long) bh * lq * dv);
            run(a, "attention", new long[] {Math.max(1, lq), Math.max(1, bh)}, in(a, made, q.toFloatArray()), in(a, made, k.toFloatArray()),
                    in(a, made, v.toFloatArray()), in(a, made, mv), o, bh, lq, lk, d, dv, scale, mask == null ? 0 : 1);
            store(download(a, o), out);
        });
    }

    @Override
    protected void conv2dKernel(Tensor x, Tensor w, float[] bias, int stride, int padding, Tensor out) {
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3), cout = w.dim(0), kh = w.dim(2), kw = w.dim(3), ho = out.dim(2), wo = out.dim(3);
        op((a, made) -> {
            Buf o = out(a, made, out.numel());
            Buf wb = matrix(a, made, Mat.of(w.reshape(w.dim(0), -1)));
            run(a, "conv2d", g(out.numel()), in(a, made, x.toFloatArray()), wb, in(a, made, bias), o,
                    n, cin, h, wd, cout, kh, kw, stride, padding, ho, wo, bias == null ? 0 : 1);
            store(download(a, o), out);
        });
    }

    @Override
    protected void upsampleKernel(Tensor x, int factor, Tensor out) {
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
        op((a, made) -> {
            Buf o = out(a, made, out.numel());
            run(a, "upsample_nearest", g(out.numel()), in(a, made, x.toFloatArray()), o, planes, h, w, factor);
            store(download(a, o), out);
        });
    }

    @Override
    public synchronized void close() {
        try {
            for (MemorySegment k : kernels.values()) {
                int ignored = (int) OpenCl.releaseKernel.invokeExact(k);
            }
            for (Buf b : weights.values()) {
                int ignored = (int) OpenCl.releaseMemObject.invokeExact(b.mem());
            }
            int r1 = (int) OpenCl.releaseProgram.invokeExact(program);
            int r2 = (int) OpenCl.releaseCommandQueue.invokeExact(queue);
            int r3 = (int) OpenCl.releaseContext.invokeExact(context);
        } catch (Throwable ignored) {
            // closing: nothing left to report to
        }
        kernels.clear();
        weights.clear();
    }
}
