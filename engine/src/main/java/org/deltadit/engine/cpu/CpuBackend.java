package org.deltadit.engine.cpu;

import static org.deltadit.engine.cpu.VectorConfig.LANES;
import static org.deltadit.engine.cpu.VectorConfig.S;
import static org.deltadit.engine.cpu.VectorConfig.VEC;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.deltadit.engine.AdaLnBlock;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Mat;
import org.deltadit.engine.Strided;
import org.deltadit.engine.Tensor;

/**
 * The fast CPU backend: Vector API kernels (species from {@link VectorConfig}) on a dedicated
 * {@link WorkerPool}. GEMM and attention have their own classes; the row-wise and elementwise
 * ops live here, each with a scalar tail that is the whole loop in scalar mode.
 */
public final class CpuBackend extends Backend {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Below this many elements an elementwise op runs on the calling thread: handing off costs more. */
    private static final long PARALLEL_MIN = 1 << 15;
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);
    /** tanh-GELU as {@link #sigmoidGate}'s α and β: ½·v·(1 + tanh u) = v·σ(2u), u = √(2/π)·(v + 0.044715·v³). */
    static final float GELU_ALPHA = -2 * SQRT_2_OVER_PI, GELU_BETA = -2 * SQRT_2_OVER_PI * 0.044715f;

    private final WorkerPool pool;

    private final FusedBlock block = new FusedBlock(this);
    private final Prepacked weights;

    /** {@code threads} workers; constant F32 and BF16 weights packed once ({@link Prepacked}, {@code -Ddit.cpu.prepack}). */
    public CpuBackend(int threads) { this(threads, Prepacked.fromProperties()); }

    CpuBackend(int threads, Prepacked weights) {
        this.pool = new WorkerPool(threads);
        this.weights = weights;
    }

    /** The packed weights this backend keeps (for the tests). */
    Prepacked prepacked() { return weights; }

    @Override
    public int threads() { return pool.threads(); }

    @Override
    public double packSeconds() { return weights.seconds(); }

    @Override public String name() { return "cpu"; }

    @Override public String describe() { return "cpu (" + VectorConfig.describe() + ", " + pool.threads() + " threads, " + weights.describe() + ")"; }

    /** The block fused, with its intermediates in reused buffers ({@link FusedBlock}); the composed form is the reference. */
    @Override
    public Tensor adaLnBlockKv(Tensor h, Tensor mod, AdaLnBlock w, int heads, float attentionEps, float mlpEps, Tensor kv, Tensor mask) {
        checkBlock(h, mod, w, heads, kv, mask, 2);
        if (!FusedBlock.fits(h, w)) return super.adaLnBlockKv(h, mod, w, heads, attentionEps, mlpEps, kv, mask);
        return block.run(f32(h), mod, w, heads, attentionEps, mlpEps, kv, mask);
    }

    /** A run of fused blocks passing h through two reused buffers, so that only the last block's h is allocated ({@link FusedBlock#runAll}). */
    @Override
    public Tensor adaLnBlocks(Tensor h, java.util.List<AdaLnBlock.Call> calls, int heads, float attentionEps, float mlpEps, Tensor mask) {
        for (AdaLnBlock.Call c : calls) {
            checkBlock(h, c.mod(), c.weights(), heads, c.kv(), mask, 2);
            if (!FusedBlock.fits(h, c.weights())) return super.adaLnBlocks(h, calls, heads, attentionEps, mlpEps, mask);
        }
        return calls.isEmpty() ? h : block.runAll(f32(h), calls, heads, attentionEps, mlpEps, mask);
    }

    /**
     * x·wᵀ + bias, then tanh-GELU, into out: the GELU applied by the GEMM as it writes each tile for the last time
     * (the MLP's hidden layer is not read and written again). Shapes as {@link #linear}; the caller has checked them.
     */
    Tensor linearGelu(Tensor x, Tensor w, Tensor bias, Tensor out) {
        Gemm.multiply(pool, Mat.of(x.reshape(-1, w.dim(1))), weights.of(Mat.of(w).transpose(), pool), bias == null ? null : bias.toFloatArray(),
                Mat.of(out.reshape(-1, w.dim(0))), true);
        return out;
    }

    @Override
    protected void gemm(Mat a, Mat b, float[] bias, Mat c) { Gemm.multiply(pool, a, weights.of(b, pool), bias, c); }

    @Override
    protected void attentionKernel(Tensor q, Tensor k, Tensor v, Tensor mask, long[] ms, float scale, Tensor out) {
        Attention.run(pool, q, k, v, mask, ms, scale, out);
    }

    // ---- row-wise ops: rows are split across the pool --------------------------------------

    /** Calls body(row) for every row, in parallel when the tensor is large. */
    void rows(int rows, long elements, java.util.function.IntConsumer body) {
        if (elements < PARALLEL_MIN || rows == 1) {
            for (int r = 0; r < rows; r++) body.accept(r);
            return;
        }
        int tasks = Math.min(rows, 4 * pool.threads());
        pool.run(tasks, t -> {
            for (int r = (int) ((long) rows * t / tasks), end = (int) ((long) rows * (t + 1) / tasks); r < end; r++) body.accept(r);
        });
    }

    @Override
    protected void layerNormRows(Tensor x, float[] gamma, float[] beta, float eps, Tensor out) {
        int n = x.dim(1);
        rows(x.dim(0), x.numel(), r -> {
            long xo = x.offset() + (long) r * n, oo = out.offset() + (long) r * n;
            float mean = sum(x.segment(), xo, n, Float.NaN) / n;
            float var = sum(x.segment(), xo, n, mean) / n;
            normalize(x.segment(), xo, out.segment(), oo, n, mean, (float) (1 / Math.sqrt(var + eps)), gamma, beta, 0);
        });
    }

    @Override
    protected void rmsNormRows(Tensor x, float[] gamma, float eps, Tensor out) {
        int n = x.dim(1);
        rows(x.dim(0), x.numel(), r -> {
            long xo = x.offset() + (long) r * n, oo = out.offset() + (long) r * n;
            float ms = sum(x.segment(), xo, n, 0f) / n;
            normalize(x.segment(), xo, out.segment(), oo, n, 0f, (float) (1 / Math.sqrt(ms + eps)), gamma, null, 0);
        });
    }

    @Override
    protected void groupNorm3(Tensor x, int groups, float[] gamma, float[] beta, float eps, Tensor out) {
        int c = x.dim(1), s = x.dim(2), per = c / groups;
        long len = (long) per * s;
        rows(x.dim(0) * groups, x.numel(), task -> {
            long xo = x.offset() + task * len, oo = out.offset() + task * len;
            // Sums over a group can reach millions of elements: accumulate each channel, then in double.
            double total = 0, sq = 0;
            for (int ch = 0; ch < per; ch++) total += sum(x.segment(), xo + (long) ch * s, s, Float.NaN);
            float mean = (float) (total / len);
            for (int ch = 0; ch < per; ch++) sq += sum(x.segment(), xo + (long) ch * s, s, mean);
            float inv = (float) (1 / Math.sqrt(sq / len + eps));
            int ch0 = (task % groups) * per;
            for (int ch = 0; ch < per; ch++) {
                float g = gamma == null ? 1f : gamma[ch0 + ch], b = beta == null ? 0f : beta[ch0 + ch];
                normalize(x.segment(), xo + (long) ch * s, out.segment(), oo + (long) ch * s, s, mean, inv * g, null, null, b);
            }
        });
    }

    /**
     * Σ x (center NaN), or Σ (x − center)² otherwise: the two passes of a mean/variance computation.
     * Two-pass variance avoids the cancellation of E[x²] − E[x]² on large activations.
     */
    static float sum(MemorySegment seg, long off, int n, float center) {
        boolean plain = Float.isNaN(center);
        int i = 0;
        float acc = 0;
        if (VEC) {
            FloatVector va = FloatVector.zero(S);
            for (int ub = S.loopBound(n); i < ub; i += LANES) {
                FloatVector v = FloatVector.fromMemorySegment(S, seg, (off + i) * 4, ORDER);
                if (!plain) v = v.sub(center);
                va = plain ? va.add(v) : v.fma(v, va);
            }
            for (int t = 0; t < LANES; t++) acc += va.lane(t); // in lane order, inline: see VectorMath
        }
        for (; i < n; i++) {
            float v = seg.getAtIndex(F, off + i);
            acc += plain ? v : (v - center) * (v - center);
        }
        return acc;
    }

    /** out = (x − mean)·inv·gamma + beta (+ shift); gamma/beta per element or null. */
    static void normalize(MemorySegment xs, long xo, MemorySegment os, long oo, int n, float mean, float inv,
                                  float[] gamma, float[] beta, float shift) {
        int i = 0;
        if (VEC) {
            for (int ub = S.loopBound(n); i < ub; i += LANES) {
                FloatVector v = FloatVector.fromMemorySegment(S, xs, (xo + i) * 4, ORDER).sub(mean).mul(inv);
                if (gamma != null) v = v.mul(FloatVector.fromArray(S, gamma, i));
                v = beta != null ? v.add(FloatVector.fromArray(S, beta, i)) : v.add(shift);
                v.intoMemorySegment(os, (oo + i) * 4, ORDER);
            }
        }
        for (; i < n; i++) {
            float v = (xs.getAtIndex(F, xo + i) - mean) * inv;
            if (gamma != null) v *= gamma[i];
            os.setAtIndex(F, oo + i, v + (beta != null ? beta[i] : shift));
        }
    }

    @Override
    protected void softmaxRows(Tensor x, Tensor out) {
        int n = x.dim(1);
        rows(x.dim(0), x.numel(), r -> {
            MemorySegment xs = x.segment(), os = out.segment();
            long xo = x.offset() + (long) r * n, oo = out.offset() + (long) r * n;
            float max = Float.NEGATIVE_INFINITY;
            int i = 0;
            if (VEC) {
                FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                for (int ub = S.loopBound(n); i < ub; i += LANES) m = m.max(FloatVector.fromMemorySegment(S, xs, (xo + i) * 4, ORDER));
                max = m.reduceLanes(VectorOperators.MAX);
            }
            for (; i < n; i++) max = Math.max(max, xs.getAtIndex(F, xo + i));
            float sum = 0;
            i = 0;
            if (VEC) {
                FloatVector acc = FloatVector.zero(S);
                for (int ub = S.loopBound(n); i < ub; i += LANES) {
                    FloatVector e = VectorMath.exp(FloatVector.fromMemorySegment(S, xs, (xo + i) * 4, ORDER).sub(max));
                    e.intoMemorySegment(os, (oo + i) * 4, ORDER);
                    acc = acc.add(e);
                }
                for (int t = 0; t < LANES; t++) sum += acc.lane(t);
            }
            for (; i < n; i++) {
                float e = (float) Math.exp(xs.getAtIndex(F, xo + i) - max);
                os.setAtIndex(F, oo + i, e);
                sum += e;
            }
            float inv = 1f / sum;
            normalize(os, oo, os, oo, n, 0f, inv, null, null, 0f);
        });
    }

    // ---- elementwise ------------------------------------------------------------------------

    private enum Unary { GELU_TANH, GELU_ERF, SILU, SCALE }

    @Override
    protected void geluKernel(Tensor x, boolean tanh, Tensor out) { unary(tanh ? Unary.GELU_TANH : Unary.GELU_ERF, x, 0f, out); }

    @Override
    protected void siluKernel(Tensor x, Tensor out) { unary(Unary.SILU, x, 0f, out); }

    @Override
    protected void scaleKernel(Tensor x, float s, Tensor out) { unary(Unary.SCALE, x, s, out); }

    /** Splits the flat range into chunks and applies op; x and out contiguous and the same size. */
    private void unary(Unary op, Tensor x, float arg, Tensor out) {
        long n = x.numel();
        int chunk = 1 << 14;
        int chunks = (int) ((n + chunk - 1) / chunk);
        java.util.function.IntConsumer body = c -> {
            long from = (long) c * chunk;
            unaryRange(op, x.segment(), x.offset() + from, out.segment(), out.offset() + from, (int) Math.min(chunk, n - from), arg);
        };
        if (n < PARALLEL_MIN) {
            for (int c = 0; c < chunks; c++) body.accept(c);
        } else {
            pool.run(chunks, body);
        }
    }

    private static void unaryRange(Unary op, MemorySegment xs, long xo, MemorySegment os, long oo, int n, float arg) {
        switch (op) {
            case SILU -> sigmoidGate(xs, xo, os, oo, n, -1f, 0f);
            // ½·v·(1 + tanh u) = v·σ(2u), u = √(2/π)·(v + 0.044715·v³)
            case GELU_TANH -> sigmoidGate(xs, xo, os, oo, n, GELU_ALPHA, GELU_BETA);
            case GELU_ERF -> geluErf(xs, xo, os, oo, n);
            case SCALE -> scale(xs, xo, os, oo, n, arg);
        }
    }

    /**
     * v / (1 + e^z) with z = v·(α + β·v²): SiLU (α = −1, β = 0) and tanh-GELU. One loop with one exp, so
     * C2 inlines the whole of {@link VectorMath#exp} (with more call sites in one method it did not, and
     * boxed the vectors).
     */
    static void sigmoidGate(MemorySegment xs, long xo, MemorySegment os, long oo, int n, float alpha, float beta) {
        int i = 0;
        if (VEC) {
            for (int ub = S.loopBound(n); i < ub; i += LANES) {
                FloatVector v = FloatVector.fromMemorySegment(S, xs, (xo + i) * 4, ORDER);
                FloatVector z = v.mul(v).mul(beta).add(alpha).mul(v);
                v.div(VectorMath.exp(z).add(1f)).intoMemorySegment(os, (oo + i) * 4, ORDER);
            }
        }
        for (; i < n; i++) {
            float v = xs.getAtIndex(F, xo + i);
            os.setAtIndex(F, oo + i, v / (1f + (float) Math.exp((v * v * beta + alpha) * v)));
        }
    }

    private static void geluErf(MemorySegment xs, long xo, MemorySegment os, long oo, int n) {
        int i = 0;
        if (VEC) {
            for (int ub = S.loopBound(n); i < ub; i += LANES) {
                FloatVector v = FloatVector.fromMemorySegment(S, xs, (xo + i) * 4, ORDER);
                erf(v.mul((float) (1 / Math.sqrt(2)))).add(1f).mul(v).mul(0.5f).intoMemorySegment(os, (oo + i) * 4, ORDER);
            }
        }
        for (; i < n; i++) {
            float v = xs.getAtIndex(F, xo + i);
            os.setAtIndex(F, oo + i, 0.5f * v * (1f + erf(v * (float) (1 / Math.sqrt(2)))));
        }
    }

    private static void scale(MemorySegment xs, long xo, MemorySegment os, long oo, int n, float s) {
        int i = 0;
        if (VEC) {
            for (int ub = S.loopBound(n); i < ub; i += LANES) {
                FloatVector.fromMemorySegment(S, xs, (xo + i) * 4, ORDER).mul(s).intoMemorySegment(os, (oo + i) * 4, ORDER);
            }
        }
        for (; i < n; i++) os.setAtIndex(F, oo + i, xs.getAtIndex(F, xo + i) * s);
    }

    // erf by Abramowitz & Stegun 7.1.26: |error| ≤ 1.5e-7, below float resolution of GELU's output.
    private static final float P = 0.3275911f, A1 = 0.254829592f, A2 = -0.284496736f, A3 = 1.421413741f, A4 = -1.453152027f, A5 = 1.061405429f;

    private static FloatVector erf(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector t = FloatVector.broadcast(S, 1f).div(ax.mul(P).add(1f));
        FloatVector poly = t.mul(A5).add(A4).mul(t).add(A3).mul(t).add(A2).mul(t).add(A1).mul(t);
        FloatVector y = poly.mul(VectorMath.exp(ax.mul(ax).neg())).neg().add(1f);
        return y.blend(y.neg(), x.compare(VectorOperators.LT, 0f));
    }

    private static float erf(float x) {
        float ax = Math.abs(x), t = 1f / (1f + P * ax);
        float y = 1f - ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t * (float) Math.exp(-ax * ax);
        return Math.copySign(y, x);
    }

    @Override
    protected void binaryKernel(Binary op, Tensor a, long[] as, Tensor b, long[] bs, Tensor out) {
        int[] shape = out.shape();
        int r = shape.length, n = r == 0 ? 1 : shape[r - 1];
        long ai = r == 0 ? 0 : as[r - 1], bi = r == 0 ? 0 : bs[r - 1];
        MemorySegment ag = a.segment(), bg = b.segment(), og = out.segment();
        Strided.forEachRow(shape, new long[][] {as, bs, out.strides()}, new long[] {a.offset(), b.offset(), out.offset()}, off -> {
            // Vector path when each input is contiguous (stride 1) or broadcast (stride 0) along the last dimension,
            // one loop per layout: a loop that tested "broadcast or not" per iteration had that test hoisted on the
            // profile, and each call of the other kind then deoptimised it (100 recompilations, a 2× slower DiT forward).
            int i = 0;
            if (VEC && ai == 1 && bi == 1) i = vectorRow(op, ag, off[0], bg, off[1], og, off[2], n);
            else if (VEC && ai == 0 && bi == 1) i = vectorRowScalarA(op, ag.getAtIndex(F, off[0]), bg, off[1], og, off[2], n);
            else if (VEC && ai == 1 && bi == 0) i = vectorRowScalarB(op, ag, off[0], bg.getAtIndex(F, off[1]), og, off[2], n);
            for (; i < n; i++) {
                float x = ag.getAtIndex(F, off[0] + i * ai), y = bg.getAtIndex(F, off[1] + i * bi);
                og.setAtIndex(F, off[2] + i, switch (op) {
                    case ADD -> x + y;
                    case SUB -> x - y;
                    case MUL -> x * y;
                });
            }
        });
    }

    private static FloatVector apply(Binary op, FloatVector x, FloatVector y) {
        return switch (op) {
            case ADD -> x.add(y);
            case SUB -> x.sub(y);
            case MUL -> x.mul(y);
        };
    }

    /** Both rows contiguous; returns how many elements it did (the rest is the scalar tail's). */
    static int vectorRow(Binary op, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment o, long oo, int n) {
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += LANES) {
            FloatVector x = FloatVector.fromMemorySegment(S, a, (ao + i) * 4, ORDER), y = FloatVector.fromMemorySegment(S, b, (bo + i) * 4, ORDER);
            apply(op, x, y).intoMemorySegment(o, (oo + i) * 4, ORDER);
        }
        return i;
    }

    private static int vectorRowScalarA(Binary op, float a, MemorySegment b, long bo, MemorySegment o, long oo, int n) {
        FloatVector x = FloatVector.broadcast(S, a);
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += LANES) apply(op, x, FloatVector.fromMemorySegment(S, b, (bo + i) * 4, ORDER)).intoMemorySegment(o, (oo + i) * 4, ORDER);
        return i;
    }

    private static int vectorRowScalarB(Binary op, MemorySegment a, long ao, float b, MemorySegment o, long oo, int n) {
        FloatVector y = FloatVector.broadcast(S, b);
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += LANES) apply(op, FloatVector.fromMemorySegment(S, a, (ao + i) * 4, ORDER), y).intoMemorySegment(o, (oo + i) * 4, ORDER);
        return i;
    }

    // ---- convolution and resampling ---------------------------------------------------------

    /** Implicit im2col: B(k, n) = x[ci, oy·s − p + ky, ox·s − p + kx] with k = (ci, ky, kx), n = (oy, ox). */
    private record Im2col(MemorySegment x, long base, int cin, int h, int w, int kh, int kw, int stride, int pad, int ho, int wo)
            implements Gemm.BSource {
        public int rows() { return cin * kh * kw; }

        public int cols() { return ho * wo; }

        public void pack(int k0, int kc, int j0, int nc, float[] dst, float[] tmp) {
            int nr = Gemm.NR, panels = Gemm.ceilDiv(nc, nr);
            for (int k = 0; k < kc; k++) {
                int kk = k0 + k, ci = kk / (kh * kw), ky = kk / kw % kh, kx = kk % kw;
                long plane = base + (long) ci * h * w;
                for (int jj = 0; jj < panels * nr; jj++) {
                    float v = 0f;
                    if (jj < nc) {
                        int n = j0 + jj, iy = n / wo * stride - pad + ky, ix = n % wo * stride - pad + kx;
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = x.getAtIndex(F, plane + (long) iy * w + ix);
                    }
                    dst[(jj / nr) * nr * kc + k * nr + jj % nr] = v;
                }
            }
        }
    }

    @Override
    protected void conv2dKernel(Tensor x, Tensor w, float[] bias, int stride, int padding, Tensor out) {
        int cin = x.dim(1), h = x.dim(2), wd = x.dim(3), cout = w.dim(0), ho = out.dim(2), wo = out.dim(3);
        Mat weights = Mat.of(w.reshape(cout, -1));
        for (int b = 0; b < x.dim(0); b++) {
            Im2col cols = new Im2col(x.segment(), x.offset() + (long) b * cin * h * wd, cin, h, wd, w.dim(2), w.dim(3), stride, padding, ho, wo);
            Mat o = Mat.of(out.select(0, b).reshape(cout, ho * wo));
            // Bias is per output channel = per row of C here, so it is added after the product.
            Gemm.multiply(pool, weights, cols, null, o);
            if (bias != null) {
                Tensor ob = out.select(0, b).reshape(cout, ho * wo);
                binaryKernel(Binary.ADD, ob, ob.strides(), Tensor.of(bias, cout, 1), new long[] {1, 0}, ob);
            }
        }
    }

    @Override
    protected void upsampleKernel(Tensor x, int f, Tensor out) {
        int c = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), wo = w * f;
        rows(c * h, out.numel(), row -> {
            long src = x.offset() + (long) row * w, dst = out.offset() + (long) row * f * wo;
            for (int i = 0; i < w; i++) {
                float v = x.segment().getAtIndex(F, src + i);
                for (int j = 0; j < f; j++) out.segment().setAtIndex(F, dst + (long) i * f + j, v);
            }
            for (int rep = 1; rep < f; rep++) MemorySegment.copy(out.segment(), dst * 4, out.segment(), (dst + (long) rep * wo) * 4, wo * 4L);
        });
    }
}
