package org.deltadit.engine.reference;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.deltadit.engine.Backend;
import org.deltadit.engine.Mat;
import org.deltadit.engine.Strided;
import org.deltadit.engine.Tensor;

/**
 * Plain scalar Java, one thread, sums in double: slow and obviously correct. It is the oracle that
 * every optimised kernel is tested against, so it favours the textbook formula over speed.
 */
public final class ReferenceBackend extends Backend {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override public String name() { return "reference"; }

    @Override public String describe() { return "reference (scalar Java, 1 thread)"; }

    @Override
    protected void gemm(Mat a, Mat b, float[] bias, Mat c) {
        for (int i = 0; i < a.rows(); i++) {
            for (int j = 0; j < b.cols(); j++) {
                double s = bias == null ? 0 : bias[j];
                for (int k = 0; k < a.cols(); k++) s += (double) a.get(i, k) * b.get(k, j);
                c.set(i, j, (float) s);
            }
        }
    }

    @Override
    protected void layerNormRows(Tensor x, float[] gamma, float[] beta, float eps, Tensor out) {
        int rows = x.dim(0), n = x.dim(1);
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < n; i++) mean += x.get(r, i);
            mean /= n;
            for (int i = 0; i < n; i++) var += sq(x.get(r, i) - mean);
            var /= n;
            double inv = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < n; i++) {
                double y = (x.get(r, i) - mean) * inv;
                if (gamma != null) y *= gamma[i];
                if (beta != null) y += beta[i];
                out.set((float) y, r, i);
            }
        }
    }

    @Override
    protected void rmsNormRows(Tensor x, float[] gamma, float eps, Tensor out) {
        int rows = x.dim(0), n = x.dim(1);
        for (int r = 0; r < rows; r++) {
            double ms = 0;
            for (int i = 0; i < n; i++) ms += sq(x.get(r, i));
            double inv = 1 / Math.sqrt(ms / n + eps);
            for (int i = 0; i < n; i++) out.set((float) (x.get(r, i) * inv * (gamma == null ? 1 : gamma[i])), r, i);
        }
    }

    @Override
    protected void groupNorm3(Tensor x, int groups, float[] gamma, float[] beta, float eps, Tensor out) {
        int n = x.dim(0), c = x.dim(1), s = x.dim(2), per = c / groups;
        for (int b = 0; b < n; b++) {
            for (int g = 0; g < groups; g++) {
                double mean = 0, var = 0;
                for (int ch = g * per; ch < (g + 1) * per; ch++) for (int i = 0; i < s; i++) mean += x.get(b, ch, i);
                mean /= (double) per * s;
                for (int ch = g * per; ch < (g + 1) * per; ch++) for (int i = 0; i < s; i++) var += sq(x.get(b, ch, i) - mean);
                var /= (double) per * s;
                double inv = 1 / Math.sqrt(var + eps);
                for (int ch = g * per; ch < (g + 1) * per; ch++) {
                    for (int i = 0; i < s; i++) {
                        double y = (x.get(b, ch, i) - mean) * inv;
                        if (gamma != null) y *= gamma[ch];
                        if (beta != null) y += beta[ch];
                        out.set((float) y, b, ch, i);
                    }
                }
            }
        }
    }

    @Override
    protected void geluKernel(Tensor x, boolean tanh, Tensor out) {
        MemorySegment xs = x.segment(), os = out.segment();
        for (long i = 0; i < x.numel(); i++) {
            double v = xs.getAtIndex(F, x.offset() + i);
            double y = tanh ? 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))
                            : 0.5 * v * (1 + Erf.erf(v / Math.sqrt(2)));
            os.setAtIndex(F, out.offset() + i, (float) y);
        }
    }

    @Override
    protected void siluKernel(Tensor x, Tensor out) {
        MemorySegment xs = x.segment(), os = out.segment();
        for (long i = 0; i < x.numel(); i++) {
            double v = xs.getAtIndex(F, x.offset() + i);
            os.setAtIndex(F, out.offset() + i, (float) (v / (1 + Math.exp(-v))));
        }
    }

    @Override
    protected void scaleKernel(Tensor x, float s, Tensor out) {
        for (long i = 0; i < x.numel(); i++) {
            out.segment().setAtIndex(F, out.offset() + i, x.segment().getAtIndex(F, x.offset() + i) * s);
        }
    }

    @Override
    protected void binaryKernel(Binary op, Tensor a, long[] as, Tensor b, long[] bs, Tensor out) {
        int[] shape = out.shape();
        int r = shape.length, n = r == 0 ? 1 : shape[r - 1];
        long ai = r == 0 ? 0 : as[r - 1], bi = r == 0 ? 0 : bs[r - 1], oi = r == 0 ? 1 : out.stride(-1);
        Strided.forEachRow(shape, new long[][] {as, bs, out.strides()}, new long[] {a.offset(), b.offset(), out.offset()}, off -> {
            for (int i = 0; i < n; i++) {
                float x = a.segment().getAtIndex(F, off[0] + i * ai), y = b.segment().getAtIndex(F, off[1] + i * bi);
                float z = switch (op) {
                    case ADD -> x + y;
                    case SUB -> x - y;
                    case MUL -> x * y;
                };
                out.segment().setAtIndex(F, off[2] + i * oi, z);
            }
        });
    }

    @Override
    protected void softmaxRows(Tensor x, Tensor out) {
        int rows = x.dim(0), n = x.dim(1);
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < n; i++) max = Math.max(max, x.get(r, i));
            for (int i = 0; i < n; i++) sum += Math.exp(x.get(r, i) - max);
            for (int i = 0; i < n; i++) out.set((float) (Math.exp(x.get(r, i) - max) / sum), r, i);
        }
    }

    /** Textbook attention, one row of scores at a time (never the whole score matrix). */
    @Override
    protected void attentionKernel(Tensor q, Tensor k, Tensor v, Tensor mask, long[] ms, float scale, Tensor out) {
        int bn = q.dim(0), hn = q.dim(1), lq = q.dim(2), lk = k.dim(2), d = q.dim(3), dv = v.dim(3);
        double[] row = new double[lk];
        for (int b = 0; b < bn; b++) for (int h = 0; h < hn; h++) for (int i = 0; i < lq; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < lk; j++) {
                double s = 0;
                for (int t = 0; t < d; t++) s += (double) q.get(b, h, i, t) * k.get(b, h, j, t);
                s *= scale;
                if (mask != null) s += mask.segment().getAtIndex(F, mask.offset() + b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]);
                row[j] = s;
                max = Math.max(max, s);
            }
            double sum = 0;
            for (int j = 0; j < lk; j++) sum += row[j] = Math.exp(row[j] - max);
            for (int t = 0; t < dv; t++) {
                double o = 0;
                for (int j = 0; j < lk; j++) o += row[j] * v.get(b, h, j, t);
                out.set((float) (o / sum), b, h, i, t);
            }
        }
    }

    @Override
    protected void conv2dKernel(Tensor x, Tensor w, float[] bias, int stride, int pad, Tensor out) {
        int n = x.dim(0), cin = x.dim(1), hi = x.dim(2), wi = x.dim(3);
        int cout = w.dim(0), kh = w.dim(2), kw = w.dim(3), ho = out.dim(2), wo = out.dim(3);
        for (int b = 0; b < n; b++) for (int co = 0; co < cout; co++) for (int oy = 0; oy < ho; oy++) for (int ox = 0; ox < wo; ox++) {
            double s = bias == null ? 0 : bias[co];
            for (int ci = 0; ci < cin; ci++) for (int ky = 0; ky < kh; ky++) for (int kx = 0; kx < kw; kx++) {
                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy >= 0 && iy < hi && ix >= 0 && ix < wi) s += (double) x.get(b, ci, iy, ix) * w.get(co, ci, ky, kx);
            }
            out.set((float) s, b, co, oy, ox);
        }
    }

    @Override
    protected void upsampleKernel(Tensor x, int f, Tensor out) {
        for (int b = 0; b < out.dim(0); b++) for (int c = 0; c < out.dim(1); c++)
            for (int y = 0; y < out.dim(2); y++) for (int z = 0; z < out.dim(3); z++) out.set(x.get(b, c, y / f, z / f), b, c, y, z);
    }

    private static double sq(double v) { return v * v; }
}
