package org.deltadit.engine.cpu;

import static org.deltadit.engine.cpu.VectorConfig.LANES;
import static org.deltadit.engine.cpu.VectorConfig.S;
import static org.deltadit.engine.cpu.VectorConfig.VEC;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.deltadit.engine.Tensor;

/**
 * Flash-style attention: for each (batch, head, chunk of queries) a thread packs Kᵀ and V once,
 * then walks the keys in blocks of {@link #KB}, keeping for each of {@link #R} query rows a running
 * maximum, a running sum and an unnormalised output (online softmax). Per thread the score tile is
 * R × KB floats; the Lq × Lk score matrix never exists.
 */
final class Attention {
    /** Query rows processed together (register blocking of the score and P·V products). */
    static final int R = 4;
    /** Keys per block: four vectors, so an R × 4-vector score block is 16 accumulators. */
    static final int KB = VEC ? 4 * LANES : 64;
    /**
     * Query rows that share a pass over the keys, and keys per pass: each chunk of Kᵀ and V (512 keys of 72: 311 KB)
     * is read into L2 once for 64 query rows. With 4 rows at a time over all keys, 4096 keys (2.5 MB of Kᵀ and V)
     * streamed from L3 once per 4 rows.
     */
    static final int QT = 16 * R, KEYS = 8 * KB;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Attention() {}

    /** Largest score tile any thread holds, in floats (for tests and docs). */
    static int scoreTileFloats() { return R * KB; }

    private static final class Scratch {
        float[] kt = new float[0], vp = new float[0];
        float[] qr = new float[0], o = new float[0];
        final float[] s = new float[R * KB];
        final float[] bm = new float[R];
        /** Per row: the running maximum, and the running sum as {@link #LW} partial sums (one per lane), added up at the end. */
        final float[] m = new float[QT], l = new float[QT * LW];
    }

    /** Lanes of a row's running sum: keeping them apart saves a reduction per key block (its 16 lanes in order). */
    private static final int LW = VEC ? LANES : 1;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static void run(WorkerPool pool, Tensor q, Tensor k, Tensor v, Tensor mask, long[] ms, float scale, Tensor out) {
        int bn = q.dim(0), hn = q.dim(1), lq = q.dim(2);
        if (bn * hn * lq == 0) return;
        int heads = bn * hn;
        int chunks = Math.max(1, Math.min(Gemm.ceilDiv(lq, R), Gemm.ceilDiv(4 * pool.threads(), heads)));
        int rowsPerChunk = Gemm.roundUp(Gemm.ceilDiv(lq, chunks), R);
        int realChunks = Gemm.ceilDiv(lq, rowsPerChunk);
        pool.run(heads * realChunks, task -> {
            int bh = task / realChunks, chunk = task % realChunks;
            int q0 = chunk * rowsPerChunk;
            head(q, k, v, mask, ms, scale, out, bh / hn, bh % hn, q0, Math.min(lq, q0 + rowsPerChunk));
        });
    }

    private static void head(Tensor q, Tensor k, Tensor v, Tensor mask, long[] ms, float scale, Tensor out,
                             int b, int h, int q0, int q1) {
        int lk = k.dim(2), d = q.dim(3), dv = v.dim(3);
        int lkPad = Gemm.roundUp(Math.max(lk, 1), KB), dvPad = VEC ? Gemm.roundUp(dv, LANES) : dv;
        Scratch sc = SCRATCH.get();
        if (sc.kt.length < d * lkPad) sc.kt = new float[d * lkPad];
        if (sc.vp.length < lkPad * dvPad) sc.vp = new float[lkPad * dvPad];
        if (sc.qr.length < QT * d) sc.qr = new float[QT * d];
        if (sc.o.length < QT * dvPad) sc.o = new float[QT * dvPad];
        float[] kt = sc.kt, vp = sc.vp, qr = sc.qr, o = sc.o, s = sc.s, mx = sc.m, l = sc.l;

        // Kᵀ in panels of KB keys ([lkPad / KB][d][KB]) so a score block is a broadcast-FMA product reading one panel at
        // a constant stride (C2 then checks its bounds once, not per load); V [lkPad][dvPad]; zero padding.
        MemorySegment ks = k.segment(), vs = v.segment(), qs = q.segment(), os = out.segment();
        long kb = k.offset() + b * k.stride(0) + h * k.stride(1), vb = v.offset() + b * v.stride(0) + h * v.stride(1);
        float[] row = new float[Math.max(d, dv)];
        for (int j = 0; j < lkPad; j++) {
            if (j < lk) {
                MemorySegment.copy(ks, F, (kb + j * k.stride(2)) * 4, row, 0, d);
                MemorySegment.copy(vs, F, (vb + j * v.stride(2)) * 4, vp, j * dvPad, dv);
                Arrays.fill(vp, j * dvPad + dv, (j + 1) * dvPad, 0f);
            } else {
                if (j == lk) Arrays.fill(row, 0f); // the padding keys: zero from here on
                Arrays.fill(vp, j * dvPad, (j + 1) * dvPad, 0f);
            }
            for (int t = 0, at = j / KB * d * KB + j % KB; t < d; t++) kt[at + t * KB] = row[t];
        }

        long qb = q.offset() + b * q.stride(0) + h * q.stride(1), ob = out.offset() + b * out.stride(0) + h * out.stride(1);
        for (int t0 = q0; t0 < q1; t0 += QT) {
            int tileRows = Math.min(QT, q1 - t0), groups = Gemm.ceilDiv(tileRows, R);
            for (int r = 0; r < groups * R; r++) {
                if (r < tileRows) {
                    MemorySegment.copy(qs, F, (qb + (t0 + r) * q.stride(2)) * 4, qr, r * d, d);
                    for (int t = 0; t < d; t++) qr[r * d + t] *= scale;
                } else {
                    Arrays.fill(qr, r * d, (r + 1) * d, 0f);
                }
            }
            Arrays.fill(mx, 0, groups * R, Float.NEGATIVE_INFINITY);
            Arrays.fill(l, 0, groups * R * LW, 0f);
            Arrays.fill(o, 0, groups * R * dvPad, 0f);
            // Each row still meets the key blocks in order, so the tiles change no result.
            for (int c0 = 0; c0 < lk; c0 += KEYS) {
                int c1 = Math.min(lk, c0 + KEYS);
                for (int g0 = 0; g0 < groups * R; g0 += R) {
                    int rows = Math.min(R, tileRows - g0);
                    for (int j0 = c0; j0 < c1; j0 += KB) {
                        int kn = Math.min(KB, lk - j0);
                        scores(qr, g0 * d, d, kt, j0, s, sc.bm);
                        // the score kernel's row maxima hold unless a mask or padding keys change the scores after it
                        boolean known = VEC && mask == null && kn == KB;
                        for (int r = 0; r < R; r++) {
                            int base = r * KB;
                            if (mask != null && r < rows) {
                                long mb = mask.offset() + b * ms[0] + h * ms[1] + (t0 + g0 + r) * ms[2] + j0 * ms[3];
                                for (int j = 0; j < kn; j++) s[base + j] += mask.segment().getAtIndex(F, mb + j * ms[3]);
                            }
                            for (int j = kn; j < KB; j++) s[base + j] = Float.NEGATIVE_INFINITY;
                            softmaxUpdate(s, base, known ? sc.bm[r] : rowMax(s, base), g0 + r, mx, l, o, dvPad);
                        }
                        accumulatePV(s, vp, j0, kn, dvPad, o, g0 * dvPad);
                    }
                }
            }
            for (int r = 0; r < tileRows; r++) {
                float sum = 0;
                for (int t = 0; t < LW; t++) sum += l[r * LW + t]; // in lane order: the same sum compiled or not
                float inv = 1f / sum;
                long at = ob + (t0 + r) * out.stride(2);
                for (int t = 0; t < dv; t++) os.setAtIndex(F, at + t, o[r * dvPad + t] * inv);
            }
        }
    }

    /** s[r][j] = Σ_t qr[qo + r·d + t] · K[j0 + j][t] for R rows and the KB keys of this block (its panel of Kᵀ from j0 · d); with vectors, bm[r] = max_j s[r][j]. */
    private static void scores(float[] qr, int qo, int d, float[] kt, int j0, float[] s, float[] bm) {
        if (!VEC) {
            for (int r = 0; r < R; r++) for (int j = 0; j < KB; j++) {
                float acc = 0;
                for (int t = 0; t < d; t++) acc += qr[qo + r * d + t] * kt[j0 * d + t * KB + j];
                s[r * KB + j] = acc;
            }
            return;
        }
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int t = 0; t < d; t++) {
            int kb = j0 * d + t * KB;
            FloatVector k0 = FloatVector.fromArray(S, kt, kb), k1 = FloatVector.fromArray(S, kt, kb + LANES);
            FloatVector k2 = FloatVector.fromArray(S, kt, kb + 2 * LANES), k3 = FloatVector.fromArray(S, kt, kb + 3 * LANES);
            FloatVector x = FloatVector.broadcast(S, qr[qo + t]);
            a00 = x.fma(k0, a00); a01 = x.fma(k1, a01); a02 = x.fma(k2, a02); a03 = x.fma(k3, a03);
            x = FloatVector.broadcast(S, qr[qo + d + t]);
            a10 = x.fma(k0, a10); a11 = x.fma(k1, a11); a12 = x.fma(k2, a12); a13 = x.fma(k3, a13);
            x = FloatVector.broadcast(S, qr[qo + 2 * d + t]);
            a20 = x.fma(k0, a20); a21 = x.fma(k1, a21); a22 = x.fma(k2, a22); a23 = x.fma(k3, a23);
            x = FloatVector.broadcast(S, qr[qo + 3 * d + t]);
            a30 = x.fma(k0, a30); a31 = x.fma(k1, a31); a32 = x.fma(k2, a32); a33 = x.fma(k3, a33);
        }
        int L = LANES;
        a00.intoArray(s, 0); a01.intoArray(s, L); a02.intoArray(s, 2 * L); a03.intoArray(s, 3 * L);
        a10.intoArray(s, KB); a11.intoArray(s, KB + L); a12.intoArray(s, KB + 2 * L); a13.intoArray(s, KB + 3 * L);
        a20.intoArray(s, 2 * KB); a21.intoArray(s, 2 * KB + L); a22.intoArray(s, 2 * KB + 2 * L); a23.intoArray(s, 2 * KB + 3 * L);
        a30.intoArray(s, 3 * KB); a31.intoArray(s, 3 * KB + L); a32.intoArray(s, 3 * KB + 2 * L); a33.intoArray(s, 3 * KB + 3 * L);
        // each row's maximum while the sums are still in registers: reading the tile back for it cost more than the
        // online softmax's exps (alternated in one process: attention at 256 and 1024 tokens 12-13 % faster)
        bm[0] = a00.max(a01).max(a02.max(a03)).reduceLanes(VectorOperators.MAX);
        bm[1] = a10.max(a11).max(a12.max(a13)).reduceLanes(VectorOperators.MAX);
        bm[2] = a20.max(a21).max(a22.max(a23)).reduceLanes(VectorOperators.MAX);
        bm[3] = a30.max(a31).max(a32.max(a33)).reduceLanes(VectorOperators.MAX);
    }

    /** The largest of the KB scores of a row from {@code base} (for a block whose scores changed after {@link #scores}). */
    private static float rowMax(float[] s, int base) {
        float max = Float.NEGATIVE_INFINITY;
        if (VEC) {
            FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int j = 0; j < KB; j += LANES) m = m.max(FloatVector.fromArray(S, s, base + j));
            return m.reduceLanes(VectorOperators.MAX);
        }
        for (int j = 0; j < KB; j++) max = Math.max(max, s[base + j]);
        return max;
    }

    /** Online softmax for row r given its block's largest score: new running max, rescale the running sum and output, turn scores into weights. */
    private static void softmaxUpdate(float[] s, int base, float blockMax, int r, float[] mx, float[] l, float[] o, int dvPad) {
        float old = mx[r], newMax = Math.max(old, blockMax);
        if (newMax == Float.NEGATIVE_INFINITY) {
            // Every key so far masked out: weights stay 0 (the final 0/0 is NaN, as in PyTorch).
            Arrays.fill(s, base, base + KB, 0f);
            return;
        }
        // Past the first blocks the maximum seldom grows: then there is nothing to rescale (exp(0) = 1).
        float corr = 1f;
        if (newMax > old) {
            corr = (float) Math.exp(old - newMax);
            mx[r] = newMax;
        }
        int j = 0;
        if (VEC) {
            FloatVector acc = FloatVector.zero(S);
            for (; j < KB; j += LANES) {
                FloatVector p = VectorMath.exp(FloatVector.fromArray(S, s, base + j).sub(newMax));
                p.intoArray(s, base + j);
                acc = acc.add(p);
            }
            FloatVector.fromArray(S, l, r * LW).mul(corr).add(acc).intoArray(l, r * LW);
        } else {
            float sum = 0;
            for (; j < KB; j++) sum += s[base + j] = (float) Math.exp(s[base + j] - newMax);
            l[r] = l[r] * corr + sum;
        }
        if (corr != 1f) for (int t = r * dvPad; t < (r + 1) * dvPad; t++) o[t] *= corr;
    }

    /** o[oo + r·dvPad …] += Σ_j p[r][j] · V[j0 + j] for R rows, two output vectors at a time. */
    private static void accumulatePV(float[] p, float[] vp, int j0, int kn, int dvPad, float[] o, int oo) {
        if (!VEC) {
            for (int r = 0; r < R; r++) for (int j = 0; j < kn; j++) {
                float w = p[r * KB + j];
                for (int t = 0; t < dvPad; t++) o[oo + r * dvPad + t] += w * vp[(j0 + j) * dvPad + t];
            }
            return;
        }
        if (dvPad == 5 * LANES) {
            accumulatePV5(p, vp, j0, kn, o, oo);
            return;
        }
        if (dvPad == 3 * LANES) {
            accumulatePV3(p, vp, j0, kn, o, oo);
            return;
        }
        if (dvPad == 4 * LANES) {
            accumulatePV4(p, vp, j0, kn, o, oo);
            return;
        }
        int t = 0;
        for (; t + 2 * LANES <= dvPad; t += 2 * LANES) {
            FloatVector o00 = FloatVector.fromArray(S, o, oo + t), o01 = FloatVector.fromArray(S, o, oo + t + LANES);
            FloatVector o10 = FloatVector.fromArray(S, o, oo + dvPad + t), o11 = FloatVector.fromArray(S, o, oo + dvPad + t + LANES);
            FloatVector o20 = FloatVector.fromArray(S, o, oo + 2 * dvPad + t), o21 = FloatVector.fromArray(S, o, oo + 2 * dvPad + t + LANES);
            FloatVector o30 = FloatVector.fromArray(S, o, oo + 3 * dvPad + t), o31 = FloatVector.fromArray(S, o, oo + 3 * dvPad + t + LANES);
            for (int j = 0; j < kn; j++) {
                int vb = (j0 + j) * dvPad + t;
                FloatVector v0 = FloatVector.fromArray(S, vp, vb), v1 = FloatVector.fromArray(S, vp, vb + LANES);
                FloatVector w = FloatVector.broadcast(S, p[j]);
                o00 = w.fma(v0, o00); o01 = w.fma(v1, o01);
                w = FloatVector.broadcast(S, p[KB + j]);
                o10 = w.fma(v0, o10); o11 = w.fma(v1, o11);
                w = FloatVector.broadcast(S, p[2 * KB + j]);
                o20 = w.fma(v0, o20); o21 = w.fma(v1, o21);
                w = FloatVector.broadcast(S, p[3 * KB + j]);
                o30 = w.fma(v0, o30); o31 = w.fma(v1, o31);
            }
            o00.intoArray(o, oo + t); o01.intoArray(o, oo + t + LANES);
            o10.intoArray(o, oo + dvPad + t); o11.intoArray(o, oo + dvPad + t + LANES);
            o20.intoArray(o, oo + 2 * dvPad + t); o21.intoArray(o, oo + 2 * dvPad + t + LANES);
            o30.intoArray(o, oo + 3 * dvPad + t); o31.intoArray(o, oo + 3 * dvPad + t + LANES);
        }
        for (; t < dvPad; t += LANES) {
            FloatVector o0 = FloatVector.fromArray(S, o, oo + t), o1 = FloatVector.fromArray(S, o, oo + dvPad + t);
            FloatVector o2 = FloatVector.fromArray(S, o, oo + 2 * dvPad + t), o3 = FloatVector.fromArray(S, o, oo + 3 * dvPad + t);
            for (int j = 0; j < kn; j++) {
                FloatVector v0 = FloatVector.fromArray(S, vp, (j0 + j) * dvPad + t);
                o0 = FloatVector.broadcast(S, p[j]).fma(v0, o0);
                o1 = FloatVector.broadcast(S, p[KB + j]).fma(v0, o1);
                o2 = FloatVector.broadcast(S, p[2 * KB + j]).fma(v0, o2);
                o3 = FloatVector.broadcast(S, p[3 * KB + j]).fma(v0, o3);
            }
            o0.intoArray(o, oo + t); o1.intoArray(o, oo + dvPad + t); o2.intoArray(o, oo + 2 * dvPad + t); o3.intoArray(o, oo + 3 * dvPad + t);
        }
    }
    /**
     * {@link #accumulatePV} for five output vectors (DiT-XL/2's and PixArt-α's heads of 72 at 16 lanes): a row's whole
     * output in one pass over the keys, 20 accumulators, each weight broadcast once. In two passes of two vectors and a
     * third of one, the third read a weight and a V vector for every 4 FMAs; alternated in one process, this pass took
     * attention at 256 and 1024 tokens from 147.5–147.6 to 161.3–161.6 and from 182.5–184.4 to 198.1–200.8 GFLOP/s, the
     * same bits (each output sums its keys in the same order; bench/README.md).
     */
    private static void accumulatePV5(float[] p, float[] vp, int j0, int kn, float[] o, int oo) {
        final int dv = 5 * LANES;
        FloatVector o00 = FloatVector.fromArray(S, o, oo + 0 * dv + 0 * LANES), o01 = FloatVector.fromArray(S, o, oo + 0 * dv + 1 * LANES), o02 = FloatVector.fromArray(S, o, oo + 0 * dv + 2 * LANES), o03 = FloatVector.fromArray(S, o, oo + 0 * dv + 3 * LANES), o04 = FloatVector.fromArray(S, o, oo + 0 * dv + 4 * LANES);
        FloatVector o10 = FloatVector.fromArray(S, o, oo + 1 * dv + 0 * LANES), o11 = FloatVector.fromArray(S, o, oo + 1 * dv + 1 * LANES), o12 = FloatVector.fromArray(S, o, oo + 1 * dv + 2 * LANES), o13 = FloatVector.fromArray(S, o, oo + 1 * dv + 3 * LANES), o14 = FloatVector.fromArray(S, o, oo + 1 * dv + 4 * LANES);
        FloatVector o20 = FloatVector.fromArray(S, o, oo + 2 * dv + 0 * LANES), o21 = FloatVector.fromArray(S, o, oo + 2 * dv + 1 * LANES), o22 = FloatVector.fromArray(S, o, oo + 2 * dv + 2 * LANES), o23 = FloatVector.fromArray(S, o, oo + 2 * dv + 3 * LANES), o24 = FloatVector.fromArray(S, o, oo + 2 * dv + 4 * LANES);
        FloatVector o30 = FloatVector.fromArray(S, o, oo + 3 * dv + 0 * LANES), o31 = FloatVector.fromArray(S, o, oo + 3 * dv + 1 * LANES), o32 = FloatVector.fromArray(S, o, oo + 3 * dv + 2 * LANES), o33 = FloatVector.fromArray(S, o, oo + 3 * dv + 3 * LANES), o34 = FloatVector.fromArray(S, o, oo + 3 * dv + 4 * LANES);
        for (int j = 0; j < kn; j++) {
            int vb = (j0 + j) * dv;
            FloatVector v0 = FloatVector.fromArray(S, vp, vb + 0 * LANES), v1 = FloatVector.fromArray(S, vp, vb + 1 * LANES), v2 = FloatVector.fromArray(S, vp, vb + 2 * LANES), v3 = FloatVector.fromArray(S, vp, vb + 3 * LANES), v4 = FloatVector.fromArray(S, vp, vb + 4 * LANES);
            FloatVector w = FloatVector.broadcast(S, p[0 * KB + j]);
            o00 = w.fma(v0, o00); o01 = w.fma(v1, o01); o02 = w.fma(v2, o02); o03 = w.fma(v3, o03); o04 = w.fma(v4, o04);
            w = FloatVector.broadcast(S, p[1 * KB + j]);
            o10 = w.fma(v0, o10); o11 = w.fma(v1, o11); o12 = w.fma(v2, o12); o13 = w.fma(v3, o13); o14 = w.fma(v4, o14);
            w = FloatVector.broadcast(S, p[2 * KB + j]);
            o20 = w.fma(v0, o20); o21 = w.fma(v1, o21); o22 = w.fma(v2, o22); o23 = w.fma(v3, o23); o24 = w.fma(v4, o24);
            w = FloatVector.broadcast(S, p[3 * KB + j]);
            o30 = w.fma(v0, o30); o31 = w.fma(v1, o31); o32 = w.fma(v2, o32); o33 = w.fma(v3, o33); o34 = w.fma(v4, o34);
        }
        o00.intoArray(o, oo + 0 * dv + 0 * LANES); o01.intoArray(o, oo + 0 * dv + 1 * LANES); o02.intoArray(o, oo + 0 * dv + 2 * LANES); o03.intoArray(o, oo + 0 * dv + 3 * LANES); o04.intoArray(o, oo + 0 * dv + 4 * LANES);
        o10.intoArray(o, oo + 1 * dv + 0 * LANES); o11.intoArray(o, oo + 1 * dv + 1 * LANES); o12.intoArray(o, oo + 1 * dv + 2 * LANES); o13.intoArray(o, oo + 1 * dv + 3 * LANES); o14.intoArray(o, oo + 1 * dv + 4 * LANES);
        o20.intoArray(o, oo + 2 * dv + 0 * LANES); o21.intoArray(o, oo + 2 * dv + 1 * LANES); o22.intoArray(o, oo + 2 * dv + 2 * LANES); o23.intoArray(o, oo + 2 * dv + 3 * LANES); o24.intoArray(o, oo + 2 * dv + 4 * LANES);
        o30.intoArray(o, oo + 3 * dv + 0 * LANES); o31.intoArray(o, oo + 3 * dv + 1 * LANES); o32.intoArray(o, oo + 3 * dv + 2 * LANES); o33.intoArray(o, oo + 3 * dv + 3 * LANES); o34.intoArray(o, oo + 3 * dv + 4 * LANES);
    }

    /**
     * {@link #accumulatePV5} for three output vectors (SD 1.5's heads of 40, padded to 48, at 16 lanes): 12
     * accumulators in one pass, where the general loop made a second pass of one vector. Alternated in one process
     * (8 heads of 40, batch 2): 118.7–119.2 → 129.0–131.6 GFLOP/s at 1024 tokens, 134.7–136.0 → 144.4–149.3 at 4096;
     * the same bits.
     */
    private static void accumulatePV3(float[] p, float[] vp, int j0, int kn, float[] o, int oo) {
        final int dv = 3 * LANES;
        FloatVector o00 = FloatVector.fromArray(S, o, oo + 0 * dv + 0 * LANES), o01 = FloatVector.fromArray(S, o, oo + 0 * dv + 1 * LANES), o02 = FloatVector.fromArray(S, o, oo + 0 * dv + 2 * LANES);
        FloatVector o10 = FloatVector.fromArray(S, o, oo + 1 * dv + 0 * LANES), o11 = FloatVector.fromArray(S, o, oo + 1 * dv + 1 * LANES), o12 = FloatVector.fromArray(S, o, oo + 1 * dv + 2 * LANES);
        FloatVector o20 = FloatVector.fromArray(S, o, oo + 2 * dv + 0 * LANES), o21 = FloatVector.fromArray(S, o, oo + 2 * dv + 1 * LANES), o22 = FloatVector.fromArray(S, o, oo + 2 * dv + 2 * LANES);
        FloatVector o30 = FloatVector.fromArray(S, o, oo + 3 * dv + 0 * LANES), o31 = FloatVector.fromArray(S, o, oo + 3 * dv + 1 * LANES), o32 = FloatVector.fromArray(S, o, oo + 3 * dv + 2 * LANES);
        for (int j = 0; j < kn; j++) {
            int vb = (j0 + j) * dv;
            FloatVector v0 = FloatVector.fromArray(S, vp, vb + 0 * LANES), v1 = FloatVector.fromArray(S, vp, vb + 1 * LANES), v2 = FloatVector.fromArray(S, vp, vb + 2 * LANES);
            FloatVector w = FloatVector.broadcast(S, p[0 * KB + j]);
            o00 = w.fma(v0, o00); o01 = w.fma(v1, o01); o02 = w.fma(v2, o02);
            w = FloatVector.broadcast(S, p[1 * KB + j]);
            o10 = w.fma(v0, o10); o11 = w.fma(v1, o11); o12 = w.fma(v2, o12);
            w = FloatVector.broadcast(S, p[2 * KB + j]);
            o20 = w.fma(v0, o20); o21 = w.fma(v1, o21); o22 = w.fma(v2, o22);
            w = FloatVector.broadcast(S, p[3 * KB + j]);
            o30 = w.fma(v0, o30); o31 = w.fma(v1, o31); o32 = w.fma(v2, o32);
        }
        o00.intoArray(o, oo + 0 * dv + 0 * LANES); o01.intoArray(o, oo + 0 * dv + 1 * LANES); o02.intoArray(o, oo + 0 * dv + 2 * LANES);
        o10.intoArray(o, oo + 1 * dv + 0 * LANES); o11.intoArray(o, oo + 1 * dv + 1 * LANES); o12.intoArray(o, oo + 1 * dv + 2 * LANES);
        o20.intoArray(o, oo + 2 * dv + 0 * LANES); o21.intoArray(o, oo + 2 * dv + 1 * LANES); o22.intoArray(o, oo + 2 * dv + 2 * LANES);
        o30.intoArray(o, oo + 3 * dv + 0 * LANES); o31.intoArray(o, oo + 3 * dv + 1 * LANES); o32.intoArray(o, oo + 3 * dv + 2 * LANES);
    }

    /**
     * {@link #accumulatePV5} for four output vectors (SD3's heads of 64 at 16 lanes): 16 accumulators in one pass
     * instead of two of two vectors, each weight broadcast once. Alternated in one process (24 heads of 64, batch 2):
     * 188.6–189.9 → 194.6–195.4 GFLOP/s at 1024 tokens, 197.1–201.3 → 215.2–217.6 at 4096; the same bits.
     */
    private static void accumulatePV4(float[] p, float[] vp, int j0, int kn, float[] o, int oo) {
        final int dv = 4 * LANES;
        FloatVector o00 = FloatVector.fromArray(S, o, oo + 0 * dv + 0 * LANES), o01 = FloatVector.fromArray(S, o, oo + 0 * dv + 1 * LANES), o02 = FloatVector.fromArray(S, o, oo + 0 * dv + 2 * LANES), o03 = FloatVector.fromArray(S, o, oo + 0 * dv + 3 * LANES);
        FloatVector o10 = FloatVector.fromArray(S, o, oo + 1 * dv + 0 * LANES), o11 = FloatVector.fromArray(S, o, oo + 1 * dv + 1 * LANES), o12 = FloatVector.fromArray(S, o, oo + 1 * dv + 2 * LANES), o13 = FloatVector.fromArray(S, o, oo + 1 * dv + 3 * LANES);
        FloatVector o20 = FloatVector.fromArray(S, o, oo + 2 * dv + 0 * LANES), o21 = FloatVector.fromArray(S, o, oo + 2 * dv + 1 * LANES), o22 = FloatVector.fromArray(S, o, oo + 2 * dv + 2 * LANES), o23 = FloatVector.fromArray(S, o, oo + 2 * dv + 3 * LANES);
        FloatVector o30 = FloatVector.fromArray(S, o, oo + 3 * dv + 0 * LANES), o31 = FloatVector.fromArray(S, o, oo + 3 * dv + 1 * LANES), o32 = FloatVector.fromArray(S, o, oo + 3 * dv + 2 * LANES), o33 = FloatVector.fromArray(S, o, oo + 3 * dv + 3 * LANES);
        for (int j = 0; j < kn; j++) {
            int vb = (j0 + j) * dv;
            FloatVector v0 = FloatVector.fromArray(S, vp, vb + 0 * LANES), v1 = FloatVector.fromArray(S, vp, vb + 1 * LANES), v2 = FloatVector.fromArray(S, vp, vb + 2 * LANES), v3 = FloatVector.fromArray(S, vp, vb + 3 * LANES);
            FloatVector w = FloatVector.broadcast(S, p[0 * KB + j]);
            o00 = w.fma(v0, o00); o01 = w.fma(v1, o01); o02 = w.fma(v2, o02); o03 = w.fma(v3, o03);
            w = FloatVector.broadcast(S, p[1 * KB + j]);
            o10 = w.fma(v0, o10); o11 = w.fma(v1, o11); o12 = w.fma(v2, o12); o13 = w.fma(v3, o13);
            w = FloatVector.broadcast(S, p[2 * KB + j]);
            o20 = w.fma(v0, o20); o21 = w.fma(v1, o21); o22 = w.fma(v2, o22); o23 = w.fma(v3, o23);
            w = FloatVector.broadcast(S, p[3 * KB + j]);
            o30 = w.fma(v0, o30); o31 = w.fma(v1, o31); o32 = w.fma(v2, o32); o33 = w.fma(v3, o33);
        }
        o00.intoArray(o, oo + 0 * dv + 0 * LANES); o01.intoArray(o, oo + 0 * dv + 1 * LANES); o02.intoArray(o, oo + 0 * dv + 2 * LANES); o03.intoArray(o, oo + 0 * dv + 3 * LANES);
        o10.intoArray(o, oo + 1 * dv + 0 * LANES); o11.intoArray(o, oo + 1 * dv + 1 * LANES); o12.intoArray(o, oo + 1 * dv + 2 * LANES); o13.intoArray(o, oo + 1 * dv + 3 * LANES);
        o20.intoArray(o, oo + 2 * dv + 0 * LANES); o21.intoArray(o, oo + 2 * dv + 1 * LANES); o22.intoArray(o, oo + 2 * dv + 2 * LANES); o23.intoArray(o, oo + 2 * dv + 3 * LANES);
        o30.intoArray(o, oo + 3 * dv + 0 * LANES); o31.intoArray(o, oo + 3 * dv + 1 * LANES); o32.intoArray(o, oo + 3 * dv + 2 * LANES); o33.intoArray(o, oo + 3 * dv + 3 * LANES);
    }

}
