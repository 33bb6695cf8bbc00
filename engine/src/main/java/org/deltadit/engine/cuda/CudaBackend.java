package org.deltadit.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.engine.Log;
import org.deltadit.engine.Mat;
import org.deltadit.engine.device.DeviceBackend;

/**
 * {@link DeviceBackend} on an NVIDIA GPU through the CUDA driver API: the shared kernels compiled by NVRTC
 * for the GPU's architecture (PTX cached on disk), GEMMs and attention's two products by cuBLAS. Everything
 * runs on the legacy default stream, so cuBLAS and our kernels are ordered without events.
 *
 * <p>GEMM precision ({@code -Ddit.cuda.gemm}): {@code fp32} (default; exact F32, what the parity tests
 * hold to 1e-4 × max), {@code tf32} (F32 through TF32 tensor cores), {@code bf16} (weights kept as BF16 on
 * the device, activations rounded to BF16 per GEMM, F32 accumulate; attention then uses TF32).
 */
public final class CudaBackend extends DeviceBackend {

    /** The GEMM's precision. */
    public enum Gemm {
        FP32, TF32, BF16;

        /** From {@code -Ddit.cuda.gemm} (default fp32). */
        public static Gemm fromProperty() {
            String v = System.getProperty("dit.cuda.gemm", "fp32").trim().toUpperCase(Locale.ROOT);
            try {
                return valueOf(v);
            } catch (IllegalArgumentException e) {
                throw new InvalidParameter("dit.cuda.gemm", "'" + v.toLowerCase(Locale.ROOT) + "' (fp32, tf32 or bf16)");
            }
        }
    }

    private final CudaDevices.Device device;
    private final int ordinal;
    private final Gemm gemmMode;
    private final MemorySegment context, module, cublas;
    private final Map<String, MemorySegment> functions = new HashMap<>();

    /** The GPU {@code index} of {@link CudaDevices#list()}; an unavailable one is an InvalidParameter naming why. */
    public CudaBackend(int index, Gemm gemm) {
        String why = CudaDevices.unavailableReason();
        if (!why.isEmpty()) throw new InvalidParameter("device", "cuda: " + why);
        if (!Nvrtc.available()) throw new InvalidParameter("device", "cuda: " + Nvrtc.reason());
        if (!Cublas.usable()) throw new InvalidParameter("device", "cuda: " + Cublas.reason());
        List<CudaDevices.Device> all = CudaDevices.list();
        if (index < 0 || index >= all.size()) throw new InvalidParameter("device", "cuda:" + index + ": there are " + all.size() + " CUDA devices (cuda:0.." + (all.size() - 1) + ")");
        this.device = all.get(index);
        this.ordinal = index;
        this.gemmMode = gemm;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            Driver.check((int) Driver.cuDevicePrimaryCtxRetain.invokeExact(p, index), "cuDevicePrimaryCtxRetain");
            context = p.get(ADDRESS, 0);
            Driver.check((int) Driver.cuCtxSetCurrent.invokeExact(context), "cuCtxSetCurrent");
            long t0 = System.nanoTime();
            String ptx = Nvrtc.kernelsPtx("compute_" + device.computeCapability());
            Driver.check((int) Driver.cuModuleLoadData.invokeExact(p, a.allocateFrom(ptx)), "cuModuleLoadData");
            module = p.get(ADDRESS, 0);
            Driver.check((int) Cublas.create.invokeExact(p), "cublasCreate");
            cublas = p.get(ADDRESS, 0);
            Log.info(String.format(Locale.ROOT, "cuda: %s, kernels ready in %.2f s (NVRTC %s), GEMMs %s — experimental", device.describe(),
                    (System.nanoTime() - t0) / 1e9, Nvrtc.version(), gemm.name().toLowerCase(Locale.ROOT)));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("CUDA: " + t, t);
        }
    }

    @Override public String name() { return "cuda"; }

    @Override
    public String describe() {
        return "cuda:" + ordinal + " (" + device.name() + ", sm_" + device.computeCapability() + "; cuBLAS GEMMs " + gemmMode.name().toLowerCase(Locale.ROOT)
                + "; weights and results resident; experimental)";
    }

    public CudaDevices.Device device() { return device; }

    public Gemm gemmMode() { return gemmMode; }

    @Override protected String prefix() { return "CUDA"; }

    @Override
    protected void enter() throws Throwable { Driver.check((int) Driver.cuCtxSetCurrent.invokeExact(context), "cuCtxSetCurrent"); }

    // ---- memory -------------------------------------------------------------------------------

    @Override
    protected Buf allocate(long bytes) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_LONG);
            Driver.check((int) Driver.cuMemAlloc.invokeExact(p, Math.max(1L, bytes)), "cuMemAlloc(" + bytes + " bytes)");
            return new Buf(p.get(JAVA_LONG, 0), bytes);
        }
    }

    @Override
    protected void write(Buf dst, MemorySegment src, long bytes) throws Throwable {
        Driver.check((int) Driver.cuMemcpyHtoD.invokeExact(dst.handle(), src, bytes), "cuMemcpyHtoD");
    }

    @Override
    protected void read(Buf src, MemorySegment dst, long bytes) throws Throwable {
        Driver.check((int) Driver.cuMemcpyDtoH.invokeExact(dst, src.handle(), bytes), "cuMemcpyDtoH");
    }

    @Override
    protected void free(Buf b) throws Throwable {
        int ignored = (int) Driver.cuMemFree.invokeExact(b.handle());
    }

    // ---- kernels --------------------------------------------------------------------------------

    private MemorySegment function(String name) throws Throwable {
        MemorySegment f = functions.get(name);
        if (f == null) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment p = a.allocate(ADDRESS);
                Driver.check((int) Driver.cuModuleGetFunction.invokeExact(p, module, a.allocateFrom(name)), "cuModuleGetFunction(" + name + ")");
                f = p.get(ADDRESS, 0);
            }
            functions.put(name, f);
        }
        return f;
    }

    @Override
    protected void launch(String name, long[] global, long[] local, Object... args) throws Throwable {
        MemorySegment f = function(name);
        int bx = local != null ? (int) local[0] : global.length == 1 ? 256 : 64;
        int by = local != null && local.length > 1 ? (int) local[1] : 1;
        long gx = (global[0] + bx - 1) / bx, gy = global.length > 1 ? (global[1] + by - 1) / by : 1;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(ADDRESS, args.length);
            for (int i = 0; i < args.length; i++) {
                MemorySegment value = switch (args[i]) {
                    case Buf b -> a.allocateFrom(JAVA_LONG, b.handle());
                    case Integer v -> a.allocateFrom(JAVA_INT, v);
                    case Float v -> a.allocateFrom(JAVA_FLOAT, v);
                    default -> throw new IllegalArgumentException("kernel argument " + args[i]);
                };
                params.setAtIndex(ADDRESS, i, value);
            }
            Driver.check((int) Driver.cuLaunchKernel.invokeExact(f, (int) gx, (int) gy, 1, bx, by, 1, 0, MemorySegment.NULL, params, MemorySegment.NULL),
                    "cuLaunchKernel(" + name + ")");
        }
    }

    // ---- cuBLAS -------------------------------------------------------------------------------

    @Override
    protected void gemmOnDevice(Arena ar, List<Buf> made, Buf a32, Mat b, Buf bias, Buf c, int m, int k, int n) throws Throwable {
        MemorySegment alpha = ar.allocateFrom(JAVA_FLOAT, 1f), beta = ar.allocateFrom(JAVA_FLOAT, 0f);
        if (gemmMode == Gemm.BF16) {
            Buf w = matrix(ar, made, b, Form.BF16);
            Buf a16 = obtain(2L * Math.max(1, (long) m * k));
            made.add(a16);
            run("to_bf16", new long[] {Math.max(1, (long) m * k)}, null, a32, a16, m * k);
            library((x, y) -> Cublas.check((int) Cublas.gemmEx.invokeExact(cublas, Cublas.OP_N, Cublas.OP_N, n, m, k, alpha, w.handle(), Cublas.R_16BF, n,
                    a16.handle(), Cublas.R_16BF, k, beta, c.handle(), Cublas.R_32F, n, Cublas.COMPUTE_32F, Cublas.GEMM_DEFAULT), "cublasGemmEx(" + m + "×" + k + "×" + n + ", bf16)"), ar, made);
        } else {
            Buf w = matrix(ar, made, b);
            library((x, y) -> Cublas.check((int) Cublas.gemmEx.invokeExact(cublas, Cublas.OP_N, Cublas.OP_N, n, m, k, alpha, w.handle(), Cublas.R_32F, n,
                    a32.handle(), Cublas.R_32F, k, beta, c.handle(), Cublas.R_32F, n, compute(), Cublas.GEMM_DEFAULT), "cublasGemmEx(" + m + "×" + k + "×" + n + ")"), ar, made);
        }
        if (bias != null) run("bias_rows", new long[] {Math.max(1, (long) m * n)}, null, c, bias, m, n);
    }

    private int compute() { return gemmMode == Gemm.FP32 ? Cublas.COMPUTE_32F : Cublas.COMPUTE_32F_FAST_TF32; }

    /** Scores by one batched GEMM (q·kᵀ), the scale, mask and softmax by a kernel, the output by another batched GEMM. */
    @Override
    protected void attentionOnDevice(Arena a, List<Buf> made, Buf q, Buf k, Buf v, Buf mask, int maskDiv, Buf o, int bh, int lq, int lk, int d, int dv, float scale) throws Throwable {
        MemorySegment alpha = a.allocateFrom(JAVA_FLOAT, 1f), beta = a.allocateFrom(JAVA_FLOAT, 0f);
        Buf s = out(made, (long) bh * lq * lk);
        // Sᵀ (column-major lk×lq) = K (lk×d) · Qᵀ: K's rows read column-major are Kᵀ, so transpose it back
        library((x, y) -> Cublas.check((int) Cublas.gemmStridedBatchedEx.invokeExact(cublas, Cublas.OP_T, Cublas.OP_N, lk, lq, d, alpha, k.handle(), Cublas.R_32F, d,
                (long) lk * d, q.handle(), Cublas.R_32F, d, (long) lq * d, beta, s.handle(), Cublas.R_32F, lk, (long) lq * lk, bh, compute(), Cublas.GEMM_DEFAULT), "scores"), a, made);
        run("scale_mask_softmax", new long[] {Math.max(1, (long) bh * lq)}, null, s, mask == null ? none() : mask, bh * lq, lk, scale, mask == null ? 0 : 1, maskDiv);
        // Oᵀ (dv×lq) = Vᵀ (dv×lk) · Pᵀ (lk×lq): both are the row-major arrays read column-major
        library((x, y) -> Cublas.check((int) Cublas.gemmStridedBatchedEx.invokeExact(cublas, Cublas.OP_N, Cublas.OP_N, dv, lq, lk, alpha, v.handle(), Cublas.R_32F, dv,
                (long) lk * dv, s.handle(), Cublas.R_32F, lk, (long) lq * lk, beta, o.handle(), Cublas.R_32F, dv, (long) lq * dv, bh, compute(), Cublas.GEMM_DEFAULT), "values"), a, made);
    }

    @Override
    protected void synchronize() throws Throwable { Driver.check((int) Driver.cuCtxSynchronize.invokeExact(), "cuCtxSynchronize"); }

    @Override
    protected void release() throws Throwable {
        functions.clear();
        int r1 = (int) Cublas.destroy.invokeExact(cublas);
        int r2 = (int) Driver.cuModuleUnload.invokeExact(module);
        int r3 = (int) Driver.cuDevicePrimaryCtxRelease.invokeExact(ordinal);
    }
}
