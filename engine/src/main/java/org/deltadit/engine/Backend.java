package org.deltadit.engine;

import java.util.Arrays;

/**
 * The op SPI. Public methods check shapes and dtypes once, for every backend, and allocate outputs
 * when none is given; the protected kernels behind them may then assume valid, F32 inputs laid out
 * as each kernel's comment says. Outputs are F32. Elementwise ops may write in place (out == x).
 *
 * <p>A shape error is an {@link IllegalArgumentException} whose message names the op and the shapes.
 */
public abstract class Backend {

    /** Binary elementwise operations with right-aligned broadcasting. */
    public enum Binary { ADD, SUB, MUL }

    /** Short name: {@code reference}, {@code cpu}. */
    public abstract String name();

    /** One line for logs: the backend and its settings. */
    public abstract String describe();

    /** Threads its kernels run on. */
    public int threads() { return 1; }

    /**
     * Seconds this backend has spent so far packing constant weights into its kernels' layout, once per weight on its
     * first use, so inside a model's first step (the cpu backend's GEMM panels); 0 for a backend that packs nothing.
     */
    public double packSeconds() { return 0; }

    // ---- kernels ----------------------------------------------------------------------------

    /** C = A·B (+ bias[col]); A, B any dtype and strides; C F32 with colStride 1. bias may be null. */
    protected abstract void gemm(Mat a, Mat b, float[] bias, Mat c);

    /** Normalises each row of {@code x} ([rows, n], contiguous F32); gamma/beta null = no affine. */
    protected abstract void layerNormRows(Tensor x, float[] gamma, float[] beta, float eps, Tensor out);

    /** x · rsqrt(mean(x²) + eps) · gamma per row ([rows, n], contiguous F32). */
    protected abstract void rmsNormRows(Tensor x, float[] gamma, float eps, Tensor out);

    /** x [N, C, S] contiguous F32: normalise each group of C/groups channels over channels × S. */
    protected abstract void groupNorm3(Tensor x, int groups, float[] gamma, float[] beta, float eps, Tensor out);

    /** Elementwise on contiguous F32 tensors of one shape. */
    protected abstract void geluKernel(Tensor x, boolean tanh, Tensor out);

    protected abstract void siluKernel(Tensor x, Tensor out);

    protected abstract void scaleKernel(Tensor x, float s, Tensor out);

    /** out = a ∘ b, where a and b are viewed through the given broadcast strides of out's shape. */
    protected abstract void binaryKernel(Binary op, Tensor a, long[] aStrides, Tensor b, long[] bStrides, Tensor out);

    /** Softmax of each row ([rows, n], contiguous F32). */
    protected abstract void softmaxRows(Tensor x, Tensor out);

    /**
     * q [B,H,Lq,D], k [B,H,Lk,D], v [B,H,Lk,Dv], out [B,H,Lq,Dv]: F32, last stride 1, other strides
     * free. mask: null or F32 with maskStrides for [B,H,Lq,Lk] (0 where broadcast).
     */
    protected abstract void attentionKernel(Tensor q, Tensor k, Tensor v, Tensor mask, long[] maskStrides, float scale, Tensor out);

    /** x [N,Cin,H,W] contiguous F32, w [Cout,Cin,kh,kw] any dtype, out [N,Cout,Ho,Wo] contiguous. */
    protected abstract void conv2dKernel(Tensor x, Tensor w, float[] bias, int stride, int padding, Tensor out);

    /** x [N,C,H,W] contiguous F32 to out [N,C,H·f,W·f]. */
    protected abstract void upsampleKernel(Tensor x, int factor, Tensor out);

    // ---- public ops -------------------------------------------------------------------------

    /** a [..., M, K] · b [K, N] or b [..., K, N] with the same leading dimensions. */
    public Tensor matmul(Tensor a, Tensor b) { return matmul(a, b, Tensor.zeros(matmulShape(a, b))); }

    public Tensor matmul(Tensor a, Tensor b, Tensor out) {
        checkOut("matmul", out, matmulShape(a, b), a, b);
        int m = a.dim(-2), n = b.dim(-1);
        Tensor a3 = a.reshape(-1, m, a.dim(-1)), o3 = out.reshape(-1, m, n);
        Tensor b3 = b.rank() == 2 ? null : b.reshape(-1, b.dim(-2), n);
        for (int i = 0; i < a3.dim(0); i++) {
            gemm(Mat.of(a3.select(0, i)), Mat.of(b3 == null ? b : b3.select(0, i)), null, Mat.of(o3.select(0, i)));
        }
        return out;
    }

    private static int[] matmulShape(Tensor a, Tensor b) {
        boolean ok = a.rank() >= 2 && b.rank() >= 2 && a.dim(-1) == b.dim(-2)
                && (b.rank() == 2 || Arrays.equals(Arrays.copyOf(a.shape(), a.rank() - 2), Arrays.copyOf(b.shape(), b.rank() - 2)));
        if (!ok) throw new IllegalArgumentException("matmul: " + a.shapeString() + " and " + b.shapeString() + " do not multiply");
        int[] s = a.shape();
        s[s.length - 1] = b.dim(-1);
        return s;
    }

    /** x [..., in] · wᵀ + bias, with w [out, in] as PyTorch stores it; bias [out] or null. */
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        return linear(x, w, bias, Tensor.zeros(linearShape(x, w, bias)));
    }

    public Tensor linear(Tensor x, Tensor w, Tensor bias, Tensor out) {
        int[] shape = linearShape(x, w, bias);
        checkOut("linear", out, shape, x, w);
        int in = w.dim(1);
        Tensor x2 = x.reshape(-1, in);
        gemm(Mat.of(x2), Mat.of(w).transpose(), bias == null ? null : bias.toFloatArray(), Mat.of(out.reshape(-1, w.dim(0))));
        return out;
    }

    protected static int[] linearShape(Tensor x, Tensor w, Tensor bias) {
        if (w.rank() != 2 || x.rank() < 1 || x.dim(-1) != w.dim(1)) {
            throw new IllegalArgumentException("linear: input " + x.shapeString() + " and weight " + w.shapeString()
                    + " do not match (weight is [out, in])");
        }
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != w.dim(0))) {
            throw new IllegalArgumentException("linear: bias " + bias.shapeString() + " for weight " + w.shapeString());
        }
        int[] s = x.shape();
        s[s.length - 1] = w.dim(0);
        return s;
    }

    /** LayerNorm over the last dimension; weight and bias [n] or both null (no affine). */
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) {
        int n = x.rank() == 0 ? 0 : x.dim(-1);
        checkParam("layerNorm", x, weight, n);
        checkParam("layerNorm", x, bias, n);
        Tensor xc = f32(x), out = Tensor.zeros(x.shape());
        layerNormRows(xc.reshape(-1, n), floats(weight), floats(bias), eps, out.reshape(-1, n));
        return out;
    }

    /** RMSNorm over the last dimension (T5): no mean subtraction, no bias. */
    public Tensor rmsNorm(Tensor x, Tensor weight, float eps) {
        int n = x.rank() == 0 ? 0 : x.dim(-1);
        checkParam("rmsNorm", x, weight, n);
        Tensor out = Tensor.zeros(x.shape());
        rmsNormRows(f32(x).reshape(-1, n), floats(weight), eps, out.reshape(-1, n));
        return out;
    }

    /** GroupNorm of x [N, C, ...] with weight and bias [C] (or null). */
    public Tensor groupNorm(Tensor x, int groups, Tensor weight, Tensor bias, float eps) {
        if (x.rank() < 2 || groups <= 0 || x.dim(1) % groups != 0) {
            throw new IllegalArgumentException("groupNorm: " + groups + " groups for input " + x.shapeString());
        }
        int c = x.dim(1);
        checkParam("groupNorm", x, weight, c);
        checkParam("groupNorm", x, bias, c);
        Tensor out = Tensor.zeros(x.shape());
        groupNorm3(f32(x).reshape(x.dim(0), c, -1), groups, floats(weight), floats(bias), eps, out.reshape(x.dim(0), c, -1));
        return out;
    }

    /** GELU: exact (erf) or the tanh approximation DiT's MLP uses. */
    public Tensor gelu(Tensor x, boolean tanhApproximation) {
        Tensor out = Tensor.zeros(x.shape());
        geluKernel(f32(x), tanhApproximation, out);
        return out;
    }

    public Tensor silu(Tensor x) {
        Tensor out = Tensor.zeros(x.shape());
        siluKernel(f32(x), out);
        return out;
    }

    public Tensor scale(Tensor x, float s) {
        Tensor out = Tensor.zeros(x.shape());
        scaleKernel(f32(x), s, out);
        return out;
    }

    public Tensor add(Tensor a, Tensor b) { return binary(Binary.ADD, a, b, null); }

    public Tensor sub(Tensor a, Tensor b) { return binary(Binary.SUB, a, b, null); }

    public Tensor mul(Tensor a, Tensor b) { return binary(Binary.MUL, a, b, null); }

    /** a ∘ b with right-aligned broadcasting; out may be null (allocated) or a or b's storage when shapes match. */
    public Tensor binary(Binary op, Tensor a, Tensor b, Tensor out) {
        int[] shape = Strided.broadcastShape(a.shape(), b.shape());
        String name = op.name().toLowerCase();
        if (shape == null) throw new IllegalArgumentException(name + ": " + a.shapeString() + " and " + b.shapeString() + " do not broadcast");
        if (out == null) out = Tensor.zeros(shape);
        checkOut(name, out, shape, a, b);
        Tensor af = a.dtype() == DType.F32 ? a : a.to(DType.F32), bf = b.dtype() == DType.F32 ? b : b.to(DType.F32);
        binaryKernel(op, af, Strided.broadcastStrides(af, shape), bf, Strided.broadcastStrides(bf, shape), out);
        return out;
    }

    /** Softmax over the last dimension. */
    public Tensor softmax(Tensor x) {
        if (x.rank() == 0) throw new IllegalArgumentException("softmax: rank-0 input");
        Tensor out = Tensor.zeros(x.shape());
        softmaxRows(f32(x).reshape(-1, x.dim(-1)), out.reshape(-1, x.dim(-1)));
        return out;
    }

    /**
     * Scaled dot-product attention, softmax(q·kᵀ·scale + mask)·v, per batch and head.
     * q [B,H,Lq,D], k [B,H,Lk,D], v [B,H,Lk,Dv]; mask additive, broadcastable to [B,H,Lq,Lk], or null.
     */
    public Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, float scale) {
        return attention(q, k, v, mask, scale, null);
    }

    /** As above; {@code out} [B,H,Lq,Dv] may be a strided view (e.g. of [B,Lq,H,Dv]) with last stride 1. */
    public Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, float scale, Tensor out) {
        boolean ok = q.rank() == 4 && k.rank() == 4 && v.rank() == 4
                && q.dim(0) == k.dim(0) && q.dim(1) == k.dim(1) && q.dim(3) == k.dim(3)
                && v.dim(0) == k.dim(0) && v.dim(1) == k.dim(1) && v.dim(2) == k.dim(2);
        if (!ok) {
            throw new IllegalArgumentException("attention: q " + q.shapeString() + ", k " + k.shapeString() + ", v " + v.shapeString()
                    + " do not match ([B,H,Lq,D], [B,H,Lk,D], [B,H,Lk,Dv])");
        }
        int[] scores = {q.dim(0), q.dim(1), q.dim(2), k.dim(2)};
        long[] maskStrides = null;
        if (mask != null) {
            int[] b = Strided.broadcastShape(mask.shape(), scores);
            if (mask.rank() > 4 || b == null || !Arrays.equals(b, scores)) {
                throw new IllegalArgumentException("attention: mask " + mask.shapeString() + " does not broadcast to scores " + Tensor.str(scores));
            }
            mask = mask.dtype() == DType.F32 ? mask : mask.to(DType.F32);
            maskStrides = Strided.broadcastStrides(mask, scores);
        }
        int[] shape = {q.dim(0), q.dim(1), q.dim(2), v.dim(3)};
        if (out == null) out = Tensor.zeros(shape);
        if (!Arrays.equals(out.shape(), shape) || out.dtype() != DType.F32 || (out.numel() > 0 && out.stride(-1) != 1)) {
            throw new IllegalArgumentException("attention: output " + out.shapeString() + " " + out.dtype()
                    + " for q " + q.shapeString() + ", v " + v.shapeString() + " (needs F32 " + Tensor.str(shape) + ", last stride 1)");
        }
        attentionKernel(rowsF32(q), rowsF32(k), rowsF32(v), mask, maskStrides, scale, out);
        return out;
    }

    /** 2-D convolution, x [N,Cin,H,W], weight [Cout,Cin,kh,kw] (PyTorch layout), bias [Cout] or null. */
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        if (x.rank() != 4 || weight.rank() != 4 || x.dim(1) != weight.dim(1) || stride <= 0 || padding < 0) {
            throw new IllegalArgumentException("conv2d: input " + x.shapeString() + " and weight " + weight.shapeString()
                    + " (stride " + stride + ", padding " + padding + ") do not match ([N,Cin,H,W], [Cout,Cin,kh,kw])");
        }
        int ho = (x.dim(2) + 2 * padding - weight.dim(2)) / stride + 1;
        int wo = (x.dim(3) + 2 * padding - weight.dim(3)) / stride + 1;
        if (x.dim(2) + 2 * padding < weight.dim(2) || x.dim(3) + 2 * padding < weight.dim(3)) {
            throw new IllegalArgumentException("conv2d: kernel " + weight.shapeString() + " larger than padded input " + x.shapeString());
        }
        checkParam("conv2d", x, bias, weight.dim(0));
        Tensor out = Tensor.zeros(x.dim(0), weight.dim(0), ho, wo);
        conv2dKernel(f32(x), weight, floats(bias), stride, padding, out);
        return out;
    }

    /** Nearest-neighbour upsampling of x [N,C,H,W] by an integer factor. */
    public Tensor upsampleNearest(Tensor x, int factor) {
        if (x.rank() != 4 || factor < 1) throw new IllegalArgumentException("upsampleNearest: factor " + factor + " for input " + x.shapeString());
        Tensor out = Tensor.zeros(x.dim(0), x.dim(1), x.dim(2) * factor, x.dim(3) * factor);
        upsampleKernel(f32(x), factor, out);
        return out;
    }

    // ---- fused blocks ---------------------------------------------------------------------------

    private static final Tensor ONE = Tensor.of(new float[] {1f}, 1);

    /** x·(1 + scale) + shift, scale and shift broadcast over the tokens ([B, 1, D] against [B, N, D]). */
    public Tensor modulate(Tensor x, Tensor shift, Tensor scale) { return binary(Binary.ADD, mul(x, add(scale, ONE)), shift, null); }

    /** Multi-head self-attention of x [B, N, D] with the fused projection qkv [3D, D] (q, k, v in that order, heads inside each) and proj [D, D]. */
    public Tensor selfAttention(Tensor x, Tensor qkvWeight, Tensor qkvBias, Tensor projWeight, Tensor projBias, int heads) {
        int b = x.dim(0), n = x.dim(1), d = x.dim(2), dh = d / heads;
        Tensor qkv = linear(x, qkvWeight, qkvBias).reshape(b, n, 3, heads, dh).permute(2, 0, 3, 1, 4);
        Tensor att = Tensor.zeros(b, n, heads, dh);
        attention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), null, (float) (1 / Math.sqrt(dh)), att.permute(0, 2, 1, 3));
        return linear(att.reshape(b, n, d), projWeight, projBias);
    }

    /**
     * PixArt-α's cross-attention: queries from the tokens x [B, N, D], keys and values from the caption
     * y [B, L, D] (kv projection: k first, then v); mask additive [B, 1, 1, L] or null.
     */
    public Tensor crossAttention(Tensor x, Tensor y, Tensor mask, AdaLnBlock.Cross w, int heads) {
        return crossAttentionKv(x, captionKv(y, w), mask, w, heads);
    }

    /**
     * The caption's keys and values for one block, [B, L, 2D] (k, then v): the same at every step of a run,
     * so a model computes them once ({@code PixArtModel.Caption}) and passes them to the *Kv ops.
     */
    public Tensor captionKv(Tensor y, AdaLnBlock.Cross w) { return linear(y, w.kvWeight(), w.kvBias()); }

    /** {@link #crossAttention} with the caption's keys and values already projected ({@link #captionKv}). */
    public Tensor crossAttentionKv(Tensor x, Tensor kv, Tensor mask, AdaLnBlock.Cross w, int heads) {
        int b = x.dim(0), n = x.dim(1), d = x.dim(2), l = kv.dim(1), dh = d / heads;
        Tensor q = linear(x, w.qWeight(), w.qBias()).reshape(b, n, heads, dh).permute(0, 2, 1, 3);
        Tensor kv5 = kv.reshape(b, l, 2, heads, dh).permute(2, 0, 3, 1, 4);
        Tensor att = Tensor.zeros(b, n, heads, dh);
        attention(q, kv5.select(0, 0), kv5.select(0, 1), mask, (float) (1 / Math.sqrt(dh)), att.permute(0, 2, 1, 3));
        return linear(att.reshape(b, n, d), w.projWeight(), w.projBias());
    }

    /** {@link #adaLnBlock(Tensor, Tensor, AdaLnBlock, int, float, float, Tensor, Tensor)} of a block without cross-attention. */
    public Tensor adaLnBlock(Tensor h, Tensor mod, AdaLnBlock w, int heads, float attentionEps, float mlpEps) {
        return adaLnBlockKv(h, mod, w, heads, attentionEps, mlpEps, null, null);
    }

    /**
     * One adaLN block: h [B, N, D], mod [B, 6D] — the shift, scale and gate for the attention, then for the
     * MLP (tanh GELU); with {@code w.cross()} a cross-attention to caption [B, L, D] (mask [B, 1, 1, L] or
     * null) is added between them, ungated (PixArt-α).
     */
    public Tensor adaLnBlock(Tensor h, Tensor mod, AdaLnBlock w, int heads, float attentionEps, float mlpEps, Tensor caption, Tensor mask) {
        checkBlock(h, mod, w, heads, caption, mask, 1);
        return adaLnBlockKv(h, mod, w, heads, attentionEps, mlpEps, caption == null ? null : captionKv(caption, w.cross()), mask);
    }

    /**
     * {@link #adaLnBlock} with the caption's keys and values already projected, kv [B, L, 2D] ({@link #captionKv}).
     * Composed here from the ops above; a device backend runs it as one program so that only h, mod and kv travel.
     */
    public Tensor adaLnBlockKv(Tensor h, Tensor mod, AdaLnBlock w, int heads, float attentionEps, float mlpEps, Tensor kv, Tensor mask) {
        checkBlock(h, mod, w, heads, kv, mask, 2);
        Tensor[] m = mod.unsqueeze(1).chunk(2, 6);
        Tensor att = selfAttention(modulate(layerNorm(h, null, null, attentionEps), m[0], m[1]), w.qkvWeight(), w.qkvBias(), w.projWeight(), w.projBias(), heads);
        Tensor x = add(h, mul(m[2], att));
        if (w.cross() != null) x = add(x, crossAttentionKv(x, kv, mask, w.cross(), heads));
        Tensor y = linear(gelu(linear(modulate(layerNorm(x, null, null, mlpEps), m[3], m[4]), w.fc1Weight(), w.fc1Bias()), true), w.fc2Weight(), w.fc2Bias());
        return add(x, mul(m[5], y));
    }

    /**
     * Consecutive adaLN blocks, h → the last block's output: each {@link AdaLnBlock.Call} brings its weights,
     * modulation [B, 6D] and caption kv [B, L, 2D] (or null); {@code mask} is the caption's, shared by all.
     * Here one {@link #adaLnBlockKv} after another; a device backend keeps h on the device from the first
     * block to the last, so one h goes up and one comes down for the whole run of blocks.
     */
    public Tensor adaLnBlocks(Tensor h, java.util.List<AdaLnBlock.Call> calls, int heads, float attentionEps, float mlpEps, Tensor mask) {
        for (AdaLnBlock.Call c : calls) h = adaLnBlockKv(h, c.mod(), c.weights(), heads, attentionEps, mlpEps, c.kv(), mask);
        return h;
    }

    /** The shape checks of {@link #adaLnBlock}, for every backend: the caption [B, L, D] (width 1) or its keys and values [B, L, 2D] (width 2). */
    protected static void checkBlock(Tensor h, Tensor mod, AdaLnBlock w, int heads, Tensor caption, Tensor mask, int width) {
        int d = w.hidden();
        String what = width == 1 ? "caption" : "caption kv";
        if (h.rank() != 3 || h.dim(2) != d || mod.rank() != 2 || mod.dim(0) != h.dim(0) || mod.dim(1) != 6 * d || heads <= 0 || d % heads != 0) {
            throw new IllegalArgumentException("adaLnBlock: h " + h.shapeString() + ", mod " + mod.shapeString() + ", " + heads + " heads for hidden size " + d
                    + " (needs [B, N, D], [B, 6D], heads dividing D)");
        }
        if ((w.cross() == null) != (caption == null)) throw new IllegalArgumentException("adaLnBlock: a " + what + " " + (caption == null ? "is needed for" : "given to") + " a block "
                + (w.cross() == null ? "without" : "with") + " cross-attention");
        if (caption != null && (caption.rank() != 3 || caption.dim(0) != h.dim(0) || caption.dim(2) != width * d)) {
            throw new IllegalArgumentException("adaLnBlock: " + what + " " + caption.shapeString() + " for h " + h.shapeString() + " (needs [B, L, " + (width == 1 ? "D" : "2D") + "])");
        }
        if (mask != null && (caption == null || mask.numel() != (long) caption.dim(0) * caption.dim(1) || mask.rank() != 4 || mask.dim(0) != caption.dim(0) || mask.dim(3) != caption.dim(1))) {
            throw new IllegalArgumentException("adaLnBlock: mask " + mask.shapeString() + " for " + what + " " + (caption == null ? "none" : caption.shapeString()) + " (needs [B, 1, 1, L])");
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    /** Contiguous F32: the tensor itself when it already is, else a converted copy. */
    protected static Tensor f32(Tensor t) { return t.dtype() == DType.F32 && t.isContiguous() ? t : t.to(DType.F32); }

    /** F32 with last stride 1 (other strides free). */
    protected static Tensor rowsF32(Tensor t) {
        return t.dtype() == DType.F32 && (t.numel() == 0 || t.stride(-1) == 1) ? t : t.to(DType.F32);
    }

    private static float[] floats(Tensor t) { return t == null ? null : t.toFloatArray(); }

    private static void checkParam(String op, Tensor x, Tensor p, int n) {
        if (p != null && (p.rank() != 1 || p.dim(0) != n)) {
            throw new IllegalArgumentException(op + ": parameter " + p.shapeString() + " for input " + x.shapeString() + " (needs [" + n + "])");
        }
    }

    protected static void checkOut(String op, Tensor out, int[] shape, Tensor a, Tensor b) {
        if (!Arrays.equals(out.shape(), shape) || out.dtype() != DType.F32 || !out.isContiguous()) {
            throw new IllegalArgumentException(op + ": output " + out.shapeString() + " " + out.dtype() + " for inputs "
                    + a.shapeString() + " and " + b.shapeString() + " (needs contiguous F32 " + Tensor.str(shape) + ")");
        }
    }
}
