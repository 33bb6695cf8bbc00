package org.deltadit.engine.cpu;

import static org.deltadit.engine.cpu.VectorConfig.LANES;
import static org.deltadit.engine.cpu.VectorConfig.S;
import static org.deltadit.engine.cpu.VectorConfig.VEC;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.ConcurrentLinkedQueue;
import jdk.incubator.vector.FloatVector;
import org.deltadit.engine.AdaLnBlock;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;

/**
 * The adaLN block on the cpu backend, fused where the composed form ({@code Backend.adaLnBlockKv}, the
 * reference) makes a pass and a tensor per op: LayerNorm and modulation in one pass, GELU applied by fc1's
 * GEMM as it writes each tile ({@code CpuBackend.linearGelu}), gate × output + residual in one pass, and every intermediate in a workspace reused from
 * call to call, so a block allocates only the h it returns, and a run of blocks only the last one's ({@link #runAll}).
 * Composed, one DiT-XL/2 block at batch 4 made ~120 MB of garbage, a forward 3.4 GB, and G1 grew the heap to ~0.8 GB for it.
 * Same operations in the same order as the composed form, so results agree to rounding.
 */
final class FusedBlock {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private final CpuBackend be;
    /** Idle workspaces: a call takes one (or makes one) and gives it back, so concurrent callers never share. */
    private final ConcurrentLinkedQueue<Workspace> idle = new ConcurrentLinkedQueue<>();

    FusedBlock(CpuBackend be) { this.be = be; }

    /** Intermediates of one call, grown to the largest call seen; heap arrays so the GEMM reads them in place. */
    private static final class Workspace {
        private final float[][] slots = new float[8][];

        Tensor get(int slot, int... shape) {
            long n = 1;
            for (int s : shape) n *= s;
            if (slots[slot] == null || slots[slot].length < n) slots[slot] = new float[(int) n];
            return Tensor.wrap(MemorySegment.ofArray(slots[slot]), DType.F32, shape);
        }
    }

    /** Slots: the block's intermediates, and two h buffers that a run of blocks passes between them. */
    private static final int NORMED = 0, QKV = 1, ATT = 2, OUT = 3, HIDDEN = 4, Q = 5, EVEN = 6, ODD = 7;

    /** Whether every intermediate fits a Java array; larger blocks take the composed path. */
    static boolean fits(Tensor h, AdaLnBlock w) {
        long rows = (long) h.dim(0) * h.dim(1);
        return rows * Math.max(3L * w.hidden(), w.mlpHidden()) <= Integer.MAX_VALUE - 16;
    }

    /** h contiguous F32 [B, N, D]; mod [B, 6D]; kv [B, L, 2D] and mask as {@code Backend.adaLnBlockKv}. Shapes already checked. */
    Tensor run(Tensor h, Tensor mod, AdaLnBlock w, int heads, float attentionEps, float mlpEps, Tensor kv, Tensor mask) {
        return runAll(h, java.util.List.of(new AdaLnBlock.Call(w, mod, kv)), heads, attentionEps, mlpEps, mask);
    }

    /**
     * A run of blocks (shapes already checked, h as {@link #run}): every block but the last writes its h into one of
     * two workspace buffers in turn, and only the last block's h is a new tensor. A block at a time, a DiT-XL/2 step
     * allocated 28 h's (9.4 MB each for PixArt-α at 512 px with guidance), which outlived a small young generation
     * and were copied into the old one; the caller's h is never written.
     */
    Tensor runAll(Tensor h, java.util.List<AdaLnBlock.Call> calls, int heads, float attentionEps, float mlpEps, Tensor mask) {
        Workspace ws = idle.poll();
        if (ws == null) ws = new Workspace();
        try {
            for (int i = 0; i < calls.size(); i++) {
                AdaLnBlock.Call c = calls.get(i);
                Tensor x = i == calls.size() - 1 ? Tensor.zeros(h.dim(0), h.dim(1), h.dim(2)) : ws.get(i % 2 == 0 ? EVEN : ODD, h.dim(0), h.dim(1), h.dim(2));
                h = block(ws, h, c.mod(), c.weights(), heads, attentionEps, mlpEps, c.kv(), mask, x);
            }
            return h;
        } finally {
            idle.offer(ws);
        }
    }

    /** One block into x (not h), its intermediates in ws. */
    private Tensor block(Workspace ws, Tensor h, Tensor mod, AdaLnBlock w, int heads, float attentionEps, float mlpEps, Tensor kv, Tensor mask, Tensor x) {
        int b = h.dim(0), n = h.dim(1), d = h.dim(2), f = w.mlpHidden(), dh = d / heads;
        float[] m = mod.toFloatArray();
        float scale = (float) (1 / Math.sqrt(dh));
        Tensor normed = ws.get(NORMED, b, n, d);
        normModulate(h, m, 0, attentionEps, normed);
        Tensor qkv = be.linear(normed, w.qkvWeight(), w.qkvBias(), ws.get(QKV, b, n, 3 * d)).reshape(b, n, 3, heads, dh).permute(2, 0, 3, 1, 4);
        Tensor att = ws.get(ATT, b, n, heads, dh);
        be.attention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2), null, scale, att.permute(0, 2, 1, 3));
        Tensor out = be.linear(att.reshape(b, n, d), w.projWeight(), w.projBias(), ws.get(OUT, b, n, d));
        gatedResidual(h, m, 2, out, x);
        if (w.cross() != null) {
            AdaLnBlock.Cross c = w.cross();
            int l = kv.dim(1);
            Tensor q = be.linear(x, c.qWeight(), c.qBias(), ws.get(Q, b, n, d)).reshape(b, n, heads, dh).permute(0, 2, 1, 3);
            Tensor kv5 = kv.reshape(b, l, 2, heads, dh).permute(2, 0, 3, 1, 4);
            be.attention(q, kv5.select(0, 0), kv5.select(0, 1), mask, scale, att.permute(0, 2, 1, 3));
            be.linear(att.reshape(b, n, d), c.projWeight(), c.projBias(), out);
            residual(x, out, x);
        }
        normModulate(x, m, 3, mlpEps, normed);
        Tensor hidden = be.linearGelu(normed, w.fc1Weight(), w.fc1Bias(), ws.get(HIDDEN, b, n, f));
        be.linear(hidden, w.fc2Weight(), w.fc2Bias(), out);
        gatedResidual(x, m, 5, out, x);
        return x;
    }

    /** out = LayerNorm(x)·(1 + scale) + shift, with shift and scale chunks {@code chunk}, {@code chunk + 1} of each sample's mod row. */
    private void normModulate(Tensor x, float[] mod, int chunk, float eps, Tensor out) {
        int b = x.dim(0), n = x.dim(1), d = x.dim(2);
        float[][] gamma = new float[b][d], beta = new float[b][d];
        for (int s = 0; s < b; s++) {
            System.arraycopy(mod, (s * 6 + chunk) * d, beta[s], 0, d);
            for (int i = 0; i < d; i++) gamma[s][i] = mod[(s * 6 + chunk + 1) * d + i] + 1f;
        }
        MemorySegment xs = x.segment(), os = out.segment();
        long xo = x.offset(), oo = out.offset();
        be.rows(b * n, x.numel(), r -> {
            long xr = xo + (long) r * d;
            float mean = CpuBackend.sum(xs, xr, d, Float.NaN) / d;
            float var = CpuBackend.sum(xs, xr, d, mean) / d;
            CpuBackend.normalize(xs, xr, os, oo + (long) r * d, d, mean, (float) (1 / Math.sqrt(var + eps)), gamma[r / n], beta[r / n], 0);
        });
    }

    /** out = base + gate·y, gate = chunk {@code chunk} of each sample's mod row; out may be base. */
    private void gatedResidual(Tensor base, float[] mod, int chunk, Tensor y, Tensor out) {
        int n = base.dim(1), d = base.dim(2);
        MemorySegment bs = base.segment(), ys = y.segment(), os = out.segment();
        long bo = base.offset(), yo = y.offset(), oo = out.offset();
        be.rows(base.dim(0) * n, base.numel(), r -> gatedRow(bs, bo + (long) r * d, ys, yo + (long) r * d, os, oo + (long) r * d, d, mod, ((r / n) * 6 + chunk) * d));
    }

    /** out = base + y (PixArt-α's cross-attention is added ungated); out may be base. */
    private void residual(Tensor base, Tensor y, Tensor out) {
        int d = base.dim(2);
        MemorySegment bs = base.segment(), ys = y.segment(), os = out.segment();
        long bo = base.offset(), yo = y.offset(), oo = out.offset();
        be.rows(base.dim(0) * base.dim(1), base.numel(), r -> plainRow(bs, bo + (long) r * d, ys, yo + (long) r * d, os, oo + (long) r * d, d));
    }

    // Two loops rather than one with an "is there a gate?" test: C2 prunes the branch the profile never saw
    // and a call of the other kind then deoptimises the loop (see CpuBackend.binaryKernel).
    private static void gatedRow(MemorySegment bs, long bo, MemorySegment ys, long yo, MemorySegment os, long oo, int d, float[] gate, int g) {
        int i = 0;
        if (VEC) {
            for (int ub = S.loopBound(d); i < ub; i += LANES) {
                FloatVector v = FloatVector.fromArray(S, gate, g + i).mul(FloatVector.fromMemorySegment(S, ys, (yo + i) * 4, ORDER));
                v.add(FloatVector.fromMemorySegment(S, bs, (bo + i) * 4, ORDER)).intoMemorySegment(os, (oo + i) * 4, ORDER);
            }
        }
        for (; i < d; i++) os.setAtIndex(F, oo + i, bs.getAtIndex(F, bo + i) + gate[g + i] * ys.getAtIndex(F, yo + i));
    }

    /** The cpu backend's contiguous ADD row (its vector part), then the scalar tail. */
    private static void plainRow(MemorySegment bs, long bo, MemorySegment ys, long yo, MemorySegment os, long oo, int d) {
        int i = VEC ? CpuBackend.vectorRow(org.deltadit.engine.Backend.Binary.ADD, bs, bo, ys, yo, os, oo, d) : 0;
        for (; i < d; i++) os.setAtIndex(F, oo + i, bs.getAtIndex(F, bo + i) + ys.getAtIndex(F, yo + i));
    }
}
