package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every kernel of a backend (each subclass names one) against the scalar reference (sums in double) on seeded uniform [-1, 1) inputs,
 * odd sizes included, with 2 threads so the parallel split is exercised. Tolerances: products summed
 * over K terms in float carry about K·2⁻²⁴ relative error per term, so GEMM-like ops allow
 * 1e-6·K absolute; row-wise ops 1e-5 relative; transcendental ops (tanh, exp, erf) 2e-6 absolute
 * plus 1e-5 relative (the cpu erf is a 1.5e-7 approximation).
 */
abstract class BackendVsReferenceTest {
    static final Backend REF = new ReferenceBackend();
    /** The backend under test (named CPU for history: it is whichever the subclass gives). */
    final Backend CPU = candidate();

    abstract Backend candidate();

    static double gemmTol(int k) { return 1e-5 + 1e-6 * k; }

    @ParameterizedTest(name = "matmul {0}x{1}x{2}")
    @CsvSource({"1,1,1", "7,17,5", "17,255,33", "6,257,32", "13,300,70", "130,513,41", "257,7,257", "1,1152,1", "3,1153,19", "9,40,1090",
        "100,300,70", "256,1200,70"}) // row tasks and MC blocks of several heights, K past a block
    void matmul(int m, int k, int n) {
        Tensor a = Check.random(1, m, k), b = Check.random(2, k, n);
        Check.close(REF.matmul(a, b), CPU.matmul(a, b), gemmTol(k), 1e-5, "matmul " + m + "x" + k + "x" + n);
    }

    @ParameterizedTest(name = "linear {0}x{1}x{2} weights {3}")
    @CsvSource({"1,7,1,F32", "7,17,255,F16", "17,255,33,BF16", "33,257,17,F32", "200,64,600,BF16", "5,1000,3,F16"})
    void linearWithHalfWeights(int m, int in, int out, DType wt) {
        Tensor x = Check.random(3, 2, m, in), w = Check.random(4, out, in).to(wt), bias = Check.random(5, out);
        Check.close(REF.linear(x, w, bias), CPU.linear(x, w, bias), gemmTol(in), 1e-5, "linear " + wt);
        Check.close(REF.linear(x, w, null), CPU.linear(x, w, null), gemmTol(in), 1e-5, "linear without bias");
    }

    /** Constant weights (read-only native memory, as checkpoints are mapped): the cpu backend packs them once and keeps them. */
    @ParameterizedTest(name = "linear {0}x{1}x{2} constant {3} weights")
    @CsvSource({"1,7,1,F32", "7,17,255,F32", "33,600,37,F32", "256,1100,70,F32", "20,2500,70,F32", "40,96,1570,F32",
        "1,7,1,BF16", "7,17,255,BF16", "33,600,37,BF16", "20,2500,70,BF16", "40,96,1570,BF16", "256,1300,70,BF16", "100,40,600,BF16"})
    void linearWithConstantWeights(int m, int in, int out, DType wt) {
        Tensor x = Check.random(3, m, in), w = Check.sealed(Check.random(4, out, in).to(wt)), bias = Check.random(5, out);
        Tensor want = REF.linear(x, w, bias), first = CPU.linear(x, w, bias), again = CPU.linear(x, w, bias);
        Check.close(want, first, gemmTol(in), 1e-5, "linear, first call");
        Check.close(first, again, 0, 0, "linear, again (the kept copy)");
    }

    /** Weight-only INT8 (per output channel, or groups): the GEMM dequantizes while packing, the reference per element. */
    @ParameterizedTest(name = "linear {0}x{1}x{2} INT8 group {3}")
    @CsvSource({"1,7,1,0", "7,17,255,0", "17,256,33,32", "33,257,17,0", "200,64,600,16", "5,1000,3,8", "3,40,70,40"})
    void linearWithInt8Weights(int m, int in, int out, int group) {
        Tensor x = Check.random(3, 2, m, in), w = Quant.quantize(Check.random(4, out, in), group), bias = Check.random(5, out);
        Check.close(REF.linear(x, w, bias), CPU.linear(x, w, bias), gemmTol(in), 1e-5, "linear INT8");
        // and the dequantized weight as F32 gives the same product: nothing but the scales is applied
        Check.close(REF.linear(x, w.copy(), null), CPU.linear(x, w, null), gemmTol(in), 1e-5, "linear INT8 against its F32 copy");
    }

    @Test
    void matmulBatchedAndStrided() {
        Tensor a = Check.random(6, 3, 9, 20).permute(0, 2, 1); // [3, 20, 9], non-contiguous
        Tensor b = Check.random(7, 3, 9, 11);
        Check.close(REF.matmul(a, b), CPU.matmul(a, b), gemmTol(9), 1e-5, "batched matmul");
        Tensor bt = Check.random(8, 11, 9).transpose(0, 1); // [9, 11] column-major view
        Check.close(REF.matmul(a, bt), CPU.matmul(a, bt), gemmTol(9), 1e-5, "matmul with transposed view");
    }

    @ParameterizedTest(name = "norms n={0}")
    @ValueSource(ints = {1, 7, 17, 255, 257, 1152})
    void norms(int n) {
        Tensor x = CPU.add(CPU.scale(Check.random(10, 5, n), 3f), Tensor.of(new float[] {2f}, 1));
        Tensor g = Check.random(11, n), b = Check.random(12, n);
        Check.close(REF.layerNorm(x, g, b, 1e-6f), CPU.layerNorm(x, g, b, 1e-6f), 2e-5, 1e-5, "layerNorm affine");
        Check.close(REF.layerNorm(x, null, null, 1e-6f), CPU.layerNorm(x, null, null, 1e-6f), 2e-5, 1e-5, "layerNorm plain");
        Check.close(REF.layerNorm(x, g, null, 1e-6f), CPU.layerNorm(x, g, null, 1e-6f), 2e-5, 1e-5, "layerNorm weight only");
        Check.close(REF.layerNorm(x, null, b, 1e-6f), CPU.layerNorm(x, null, b, 1e-6f), 2e-5, 1e-5, "layerNorm bias only");
        Check.close(REF.rmsNorm(x, g, 1e-6f), CPU.rmsNorm(x, g, 1e-6f), 2e-5, 1e-5, "rmsNorm");
        Check.close(REF.softmax(x), CPU.softmax(x), 1e-6, 1e-5, "softmax");
    }

    @ParameterizedTest(name = "groupNorm C={0} groups={1} spatial={2}")
    @CsvSource({"4,2,1", "6,3,7", "32,32,17", "64,32,255", "12,4,257"})
    void groupNorm(int c, int groups, int spatial) {
        Tensor x = Check.random(13, 2, c, spatial, 1), g = Check.random(14, c), b = Check.random(15, c);
        Check.close(REF.groupNorm(x, groups, g, b, 1e-6f), CPU.groupNorm(x, groups, g, b, 1e-6f), 2e-5, 1e-5, "groupNorm");
        Check.close(REF.groupNorm(x, groups, null, null, 1e-5f), CPU.groupNorm(x, groups, null, null, 1e-5f), 2e-5, 1e-5, "groupNorm plain");
    }

    @ParameterizedTest(name = "elementwise n={0}")
    @ValueSource(ints = {1, 7, 17, 255, 257, 70000})
    void elementwise(int n) {
        Tensor x = Check.random(16, n).reshape(n);
        Tensor wide = CPU.scale(x, 6f); // exercise tails of tanh/exp/erf
        Check.close(REF.gelu(wide, true), CPU.gelu(wide, true), 2e-6, 1e-5, "gelu tanh");
        Check.close(REF.gelu(wide, false), CPU.gelu(wide, false), 2e-6, 1e-5, "gelu erf");
        Check.close(REF.silu(wide), CPU.silu(wide), 2e-6, 1e-5, "silu");
        Check.close(REF.scale(x, -3.5f), CPU.scale(x, -3.5f), 0, 0, "scale");
    }

    @ParameterizedTest(name = "broadcast {0} with {1}")
    @CsvSource({"2x3x17,17", "2x3x17,2x1x17", "2x3x17,2x3x1", "2x1x257,1x4x1", "1,7x5", "2x3x17,2x3x17"})
    void binaryBroadcast(String as, String bs) {
        Tensor a = Check.random(17, dims(as)), b = Check.random(18, dims(bs));
        for (Backend.Binary op : Backend.Binary.values()) {
            Check.close(REF.binary(op, a, b, null), CPU.binary(op, a, b, null), 0, 0, op + " " + as + " " + bs);
        }
        Tensor strided = Check.random(19, dims(as)).transpose(0, -1);
        Tensor other = Check.random(20, strided.shape());
        Check.close(REF.add(strided, other), CPU.add(strided, other), 0, 0, "add with strided input");
    }

    @ParameterizedTest(name = "attention B={0} H={1} Lq={2} Lk={3} D={4} Dv={5}")
    @CsvSource({"1,1,1,1,8,8", "2,3,7,17,17,5", "1,2,65,70,72,72", "2,1,17,257,64,33", "1,4,130,3,16,40", "2,2,9,600,72,80", "1,2,70,600,40,40", "2,1,33,600,64,64"})
    void attention(int b, int h, int lq, int lk, int d, int dv) {
        Tensor q = Check.random(21, b, h, lq, d), k = Check.random(22, b, h, lk, d), v = Check.random(23, b, h, lk, dv);
        float scale = (float) (1 / Math.sqrt(d));
        Check.close(REF.attention(q, k, v, null, scale), CPU.attention(q, k, v, null, scale), 2e-6, 1e-5, "attention");
        // scores in the hundreds: a row maximum that is not its own would overflow exp or zero a row's weights (NaN);
        // near-one-hot weights amplify the score products' rounding, hence the wider tolerance
        Check.close(REF.attention(q, k, v, null, 40f), CPU.attention(q, k, v, null, 40f), 1e-3, 1e-3, "attention, scores in the hundreds");
        // Additive key-padding mask [B,1,1,Lk] as PixArt's cross-attention uses, and a full [Lq,Lk] bias.
        Tensor pad = Tensor.zeros(b, 1, 1, lk);
        for (int i = 0; i < b; i++) for (int j = lk / 2 + 1; j < lk; j++) pad.set(-1e9f, i, 0, 0, j);
        Check.close(REF.attention(q, k, v, pad, scale), CPU.attention(q, k, v, pad, scale), 2e-6, 1e-5, "attention key mask");
        Tensor bias = CPU.scale(Check.random(24, lq, lk), 4f);
        Check.close(REF.attention(q, k, v, bias, scale), CPU.attention(q, k, v, bias, scale), 2e-6, 1e-5, "attention bias");
    }

    @Test
    void attentionStridedInputsAndOutput() {
        // q, k, v as views of one [B, L, 3, H, D] tensor and the output written into [B, L, H, D]: no copies.
        int b = 2, l = 33, h = 3, d = 24;
        Tensor qkv = Check.random(25, b, l, 3, h, d).permute(2, 0, 3, 1, 4); // [3, B, H, L, D]
        Tensor q = qkv.select(0, 0), k = qkv.select(0, 1), v = qkv.select(0, 2);
        Tensor expected = REF.attention(q, k, v, null, 0.2f);
        Tensor out = Tensor.zeros(b, l, h, d);
        CPU.attention(q, k, v, null, 0.2f, out.permute(0, 2, 1, 3));
        Check.close(expected, out.permute(0, 2, 1, 3), 2e-6, 1e-5, "attention into a strided view");
    }

    /** An adaLN-Zero block (the fused op device backends run as one program) on odd sizes, BF16 weights in one case. */
    @ParameterizedTest(name = "adaLnBlock B={0} N={1} D={2} heads={3} F={4} {5}")
    @CsvSource({"1,1,8,1,8,F32", "2,7,12,3,20,F32", "2,17,24,2,96,BF16", "1,33,64,4,130,F32", "2,9,24,3,40,I8", "1,3,528,4,40,F32"})
    void adaLnBlock(int b, int n, int d, int heads, int f, DType wt) {
        AdaLnBlock w = new AdaLnBlock(weight(Check.random(40, 3 * d, d), wt), Check.random(41, 3 * d), weight(Check.random(42, d, d), wt), Check.random(43, d),
                weight(Check.random(44, f, d), wt), Check.random(45, f), weight(Check.random(46, d, f), wt), null);
        Tensor h = CPU.scale(Check.random(47, b, n, d), 2f), mod = Check.random(48, b, 6 * d);
        Tensor want = REF.adaLnBlock(h, mod, w, heads, 1e-6f, 1e-5f);
        Tensor got = CPU.adaLnBlock(h, mod, w, heads, 1e-6f, 1e-5f);
        double max = 0;
        for (float v : want.toFloatArray()) max = Math.max(max, Math.abs(v));
        Check.close(want, got, 1e-4 * max, 0, "adaLnBlock");
    }

    /** {@code t} stored as {@code wt}; I8 is INT8 per output channel. */
    static Tensor weight(Tensor t, DType wt) { return wt == DType.I8 ? Quant.quantize(t, 0) : t.to(wt); }

    /** PixArt-α's form: a masked cross-attention to a caption between attention and MLP. */
    @ParameterizedTest(name = "adaLnBlock with cross-attention B={0} N={1} L={2} D={3} heads={4}")
    @CsvSource({"1,1,1,8,1", "2,9,7,16,2", "2,33,19,24,3"})
    void adaLnBlockWithCrossAttention(int b, int n, int l, int d, int heads) {
        AdaLnBlock.Cross cross = new AdaLnBlock.Cross(Check.random(50, d, d), Check.random(51, d), Check.random(52, 2 * d, d), Check.random(53, 2 * d),
                Check.random(54, d, d), Check.random(55, d));
        AdaLnBlock w = new AdaLnBlock(Check.random(40, 3 * d, d), Check.random(41, 3 * d), Check.random(42, d, d), Check.random(43, d),
                Check.random(44, 4 * d, d), Check.random(45, 4 * d), Check.random(46, d, 4 * d), Check.random(49, d), cross);
        Tensor h = Check.random(47, b, n, d), mod = Check.random(48, b, 6 * d), caption = Check.random(56, b, l, d);
        Tensor mask = Tensor.zeros(b, 1, 1, l);
        for (int i = 0; i < b; i++) for (int j = l / 2 + 1; j < l; j++) mask.set(-10000f, i, 0, 0, j);
        for (Tensor m : new Tensor[] {null, mask}) {
            Tensor want = REF.adaLnBlock(h, mod, w, heads, 1e-6f, 1e-6f, caption, m);
            double max = 0;
            for (float v : want.toFloatArray()) max = Math.max(max, Math.abs(v));
            Check.close(want, CPU.adaLnBlock(h, mod, w, heads, 1e-6f, 1e-6f, caption, m), 1e-4 * max, 0, "adaLnBlock with cross-attention" + (m == null ? "" : ", masked"));
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> CPU.adaLnBlock(h, mod, w, heads, 1e-6f, 1e-6f), "a caption is needed");
    }

    /** A run of blocks (what a device keeps h on the device through) equals the blocks one after another on the reference. */
    @ParameterizedTest(name = "adaLnBlocks, a run of {0} blocks, cross-attention {1}")
    @CsvSource({"0,false", "1,false", "3,false", "3,true"})
    void adaLnBlocks(int count, boolean cross) {
        int b = 2, n = 9, d = 16, heads = 2, l = 5;
        java.util.List<AdaLnBlock.Call> calls = new java.util.ArrayList<>();
        Tensor mask = null;
        if (cross) {
            mask = Tensor.zeros(b, 1, 1, l);
            mask.set(-10000f, 1, 0, 0, l - 1);
        }
        for (int i = 0; i < count; i++) {
            int s = 100 * i;
            AdaLnBlock.Cross cr = cross ? new AdaLnBlock.Cross(Check.random(s + 50, d, d), Check.random(s + 51, d), Check.random(s + 52, 2 * d, d), null,
                    Check.random(s + 54, d, d), Check.random(s + 55, d)) : null;
            AdaLnBlock w = new AdaLnBlock(Check.random(s + 40, 3 * d, d), Check.random(s + 41, 3 * d), Check.random(s + 42, d, d), Check.random(s + 43, d),
                    Check.random(s + 44, 3 * d, d), Check.random(s + 45, 3 * d), Check.random(s + 46, d, 3 * d), Check.random(s + 49, d), cr);
            calls.add(new AdaLnBlock.Call(w, Check.random(s + 48, b, 6 * d), cross ? REF.captionKv(Check.random(s + 56, b, l, d), cr) : null));
        }
        Tensor h = Check.random(47, b, n, d);
        Tensor want = h;
        for (AdaLnBlock.Call c : calls) want = REF.adaLnBlockKv(want, c.mod(), c.weights(), heads, 1e-6f, 1e-6f, c.kv(), mask);
        double max = 0;
        for (float v : want.toFloatArray()) max = Math.max(max, Math.abs(v));
        Tensor got = CPU.adaLnBlocks(h, calls, heads, 1e-6f, 1e-6f, mask);
        Check.close(want, got, 1e-4 * max, 0, "a run of " + count + " blocks");
        // the cpu backend passes h between blocks through reused buffers: neither the caller's h nor a returned h may be one
        Check.close(Check.random(47, b, n, d), h, 0, 0, "the input h, after the run");
        float[] first = got.toFloatArray();
        CPU.adaLnBlocks(Check.random(57, b, n, d), calls, heads, 1e-6f, 1e-6f, mask);
        Check.close(Tensor.of(first, b, n, d), got, 0, 0, "the first run's h, after a second run");
        if (count > 0) {
            java.util.List<AdaLnBlock.Call> bad = new java.util.ArrayList<>(calls);
            bad.set(count - 1, new AdaLnBlock.Call(calls.get(0).weights(), Check.random(9, b, 5 * d), calls.get(0).kv()));
            Tensor m = mask;
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> CPU.adaLnBlocks(h, bad, heads, 1e-6f, 1e-6f, m), "a modulation of the wrong width");
        }
    }

    @Test
    void adaLnBlockRefusesShapesThatDoNotFit() {
        AdaLnBlock w = new AdaLnBlock(Check.random(40, 24, 8), null, Check.random(42, 8, 8), null, Check.random(44, 16, 8), null, Check.random(46, 8, 16), null);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> CPU.adaLnBlock(Check.random(1, 2, 3, 8), Check.random(2, 2, 47), w, 2, 1e-6f, 1e-6f));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> CPU.adaLnBlock(Check.random(1, 2, 3, 8), Check.random(2, 2, 48), w, 3, 1e-6f, 1e-6f));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new AdaLnBlock(Check.random(40, 24, 8), null, Check.random(42, 8, 8), null, Check.random(44, 16, 8), null, Check.random(46, 8, 15), null));
    }

    @ParameterizedTest(name = "conv2d Cin={0} Cout={1} {2}x{3} k={4} s={5} p={6}")
    @CsvSource({"3,5,7,9,3,1,1", "1,4,28,28,4,4,0", "4,7,17,17,3,2,1", "8,3,5,5,1,1,0", "2,2,1,1,3,1,1", "130,6,6,6,3,1,1"})
    void conv2d(int cin, int cout, int h, int w, int k, int s, int p) {
        Tensor x = Check.random(26, 2, cin, h, w), wt = Check.random(27, cout, cin, k, k), bias = Check.random(28, cout);
        int kk = cin * k * k;
        Check.close(REF.conv2d(x, wt, bias, s, p), CPU.conv2d(x, wt, bias, s, p), gemmTol(kk), 1e-5, "conv2d");
        Tensor half = wt.to(DType.BF16);
        Check.close(REF.conv2d(x, half, null, s, p), CPU.conv2d(x, half, null, s, p), gemmTol(kk), 1e-5, "conv2d bf16 weights");
    }

    @Test
    void upsample() {
        Tensor x = Check.random(29, 2, 3, 5, 7);
        Check.close(REF.upsampleNearest(x, 2), CPU.upsampleNearest(x, 2), 0, 0, "upsample 2");
        Check.close(REF.upsampleNearest(x, 3), CPU.upsampleNearest(x, 3), 0, 0, "upsample 3");
    }


    static int[] dims(String s) {
        String[] p = s.split("x");
        int[] d = new int[p.length];
        for (int i = 0; i < p.length; i++) d[i] = Integer.parseInt(p[i]);
        return d;
    }
}
