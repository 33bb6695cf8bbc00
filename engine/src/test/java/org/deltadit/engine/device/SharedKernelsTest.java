package org.deltadit.engine.device;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.deltadit.engine.DType;
import org.deltadit.engine.cuda.CudaBackend;
import org.deltadit.engine.cuda.CudaDevices;
import org.deltadit.engine.opencl.OpenClBackend;
import org.deltadit.engine.opencl.OpenClDevices;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The kernels of ops.cl that only a library-GEMM backend (CUDA) calls — BF16 rounding, the bias after a
 * GEMM, attention's scale-mask-softmax — launched directly on every device backend present: PoCL in CI,
 * so they are proven on every clean machine before a GPU ever runs them, and a GPU where there is one.
 */
class SharedKernelsTest {
    private static List<DeviceBackend> devices;

    static synchronized Stream<DeviceBackend> devices() {
        if (devices == null) {
            devices = new ArrayList<>();
            if (!OpenClDevices.list().isEmpty()) devices.add(new OpenClBackend(0));
            if (CudaDevices.unavailableReason().isEmpty()) devices.add(new CudaBackend(0, CudaBackend.Gemm.FP32));
        }
        if (devices.isEmpty()) {
            if ("true".equals(System.getenv("CI"))) throw new AssertionError("no device backend: CI must install pocl-opencl-icd (.ci/run does)");
            System.err.println("SharedKernelsTest: no OpenCL or CUDA device here: skipped");
            Assumptions.abort("no device");
        }
        return devices.stream();
    }

    private static float[] random(long seed, int n, float scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble(-1, 1) * scale);
        return v;
    }

    /** to_bf16 of {@code x} on {@code d}: the BF16 bits it wrote. */
    private static short[] toBf16(DeviceBackend d, float[] x) {
        short[] result = new short[x.length];
        d.op((a, made) -> {
            DeviceBackend.Buf out = d.out(made, (x.length + 1) / 2);
            d.launch("to_bf16", new long[] {x.length}, null, d.in(a, made, x), out, x.length);
            java.lang.foreign.MemorySegment host = a.allocate(2L * x.length);
            d.read(out, host, 2L * x.length);
            for (int i = 0; i < x.length; i++) result[i] = host.getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i);
        });
        return result;
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared by the tests
    @MethodSource("devices")
    void toBf16RoundsAsTheHostDoes(DeviceBackend d) {
        float[] x = random(1, 1001, 100f);
        x[0] = Float.NaN;
        x[1] = Float.POSITIVE_INFINITY;
        x[2] = -0f;
        x[3] = Float.intBitsToFloat(0x3f808000); // a tie: rounds to even
        x[4] = Float.intBitsToFloat(0x3f818000); // a tie: rounds up to even
        x[5] = Float.MAX_VALUE; // rounds to infinity
        short[] got = toBf16(d, x);
        for (int i = 0; i < x.length; i++) assertEquals(DType.floatToBf16(x[i]), got[i], d.name() + " element " + i + " (" + x[i] + ")");
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared by the tests
    @MethodSource("devices")
    void biasRowsAddsTheBiasToEveryRow(DeviceBackend d) {
        int m = 7, n = 33;
        float[] c = random(2, m * n, 1f), bias = random(3, n, 1f);
        float[][] got = new float[1][];
        d.op((a, made) -> {
            DeviceBackend.Buf cb = d.in(a, made, c);
            d.launch("bias_rows", new long[] {(long) m * n}, null, cb, d.in(a, made, bias), m, n);
            got[0] = d.download(a, cb, (long) m * n);
        });
        for (int i = 0; i < m * n; i++) assertEquals(c[i] + bias[i % n], got[0][i], 0f, d.name() + " element " + i);
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared by the tests
    @MethodSource("devices")
    void scaleMaskSoftmaxIsTheReferenceSoftmax(DeviceBackend d) {
        int rows = 6, lk = 37;
        float scale = 0.125f;
        float[] s = random(4, rows * lk, 8f), mask = random(5, rows * lk, 2f);
        mask[3] = Float.NEGATIVE_INFINITY;
        // no mask; a full mask (row r takes mask row r); a key mask shared by 3 rows each (row r takes r / 3)
        for (int[] c : new int[][] {{0, 1}, {1, 1}, {1, 3}}) {
            float[][] holder = new float[1][];
            int wm = c[0], div = c[1];
            d.op((a, made) -> {
                DeviceBackend.Buf sb = d.in(a, made, s);
                d.launch("scale_mask_softmax", new long[] {rows}, null, sb, d.in(a, made, mask), rows, lk, scale, wm, div);
                holder[0] = d.download(a, sb, (long) rows * lk);
            });
            for (int r = 0; r < rows; r++) {
                double mx = Double.NEGATIVE_INFINITY, sum = 0;
                double[] e = new double[lk];
                int mr = r / div * lk;
                for (int j = 0; j < lk; j++) mx = Math.max(mx, s[r * lk + j] * (double) scale + (wm == 1 ? mask[mr + j] : 0));
                for (int j = 0; j < lk; j++) sum += e[j] = Math.exp(s[r * lk + j] * (double) scale + (wm == 1 ? mask[mr + j] : 0) - mx);
                for (int j = 0; j < lk; j++) {
                    assertEquals(e[j] / sum, holder[0][r * lk + j], 1e-6 + 1e-5 * e[j] / sum, d.name() + " row " + r + " key " + j + " mask " + wm + " div " + div);
                }
            }
        }
    }
}
